"""CTC decoding shared by the phoneme-recognition and ASR heads.

Greedy decoding (best path, repeats merged, blanks removed) and a CTC prefix beam search.
torchaudio's ``ctc_decoder`` needs the optional ``flashlight-text`` package, which we do
not install, so the prefix search is ours: per frame, every kept prefix is extended by
every token at once (numpy over the vocabulary), the extensions are pruned to the best
``beam`` per prefix, and equal prefixes are merged. With a beam at least as large as the
number of distinct prefixes it computes exact prefix probabilities (the tests check this
against brute-force enumeration of all alignments on tiny vocabularies).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

NEG_INF = -np.inf

# ``word_scorer(prefix, token)`` -> extra log score when ``token`` is appended to ``prefix``
# (a word LM hook: nonzero only when ``token`` completes a word).
WordScorer = Callable[[tuple[int, ...], int], float]


def greedy_decode(log_probs: torch.Tensor, blank: int = 0) -> list[int]:
    """Best path of one utterance ``[T, V]``: argmax per frame, repeats merged, blanks dropped."""
    best = log_probs.argmax(-1)
    if best.numel() == 0:
        return []
    keep = torch.ones_like(best, dtype=torch.bool)
    keep[1:] = best[1:] != best[:-1]
    return [int(t) for t in best[keep & (best != blank)]]


def _logaddexp(a: float, b: float) -> float:
    """Scalar log(exp(a) + exp(b)); plain floats are ~10x faster than numpy scalars here."""
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    return max(a, b) + math.log1p(math.exp(-abs(a - b)))


def prefix_beam_search(log_probs: torch.Tensor | np.ndarray, beam: int = 5, blank: int = 0,
                       token_beam: int | None = None, word_scorer: WordScorer | None = None,
                       final_scorer: Callable[[tuple[int, ...]], float] | None = None
                       ) -> list[tuple[tuple[int, ...], float]]:
    """CTC prefix beam search over one utterance ``[T, V]`` of log-probabilities.

    Returns up to ``beam`` ``(tokens, log score)`` pairs, best first; the score is the log
    probability of the label sequence summed over its alignments, plus ``word_scorer``
    terms and ``final_scorer(tokens)`` (e.g. a word LM's last word and end of sentence).
    ``token_beam`` (default ``beam``) caps the tokens tried per prefix and frame.
    """
    lp = log_probs.detach().cpu().double().numpy() if isinstance(log_probs, torch.Tensor) \
        else np.asarray(log_probs, dtype=np.float64)
    if lp.ndim != 2:
        raise ValueError(f"prefix_beam_search expects [T, V] log-probabilities, got shape {lp.shape}")
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    num_tokens = lp.shape[1]
    per_prefix = min(num_tokens - 1, token_beam or beam)
    # prefix -> (log P(prefix, ends in blank), log P(prefix, ends in a token), LM bonus so far)
    beams: dict[tuple[int, ...], tuple[float, float, float]] = {(): (0.0, NEG_INF, 0.0)}
    non_blank = np.array([v for v in range(num_tokens) if v != blank])
    for frame in lp:
        prefixes = list(beams)
        pb = np.array([beams[p][0] for p in prefixes])
        pnb = np.array([beams[p][1] for p in prefixes])
        total = np.logaddexp(pb, pnb)
        last = np.array([p[-1] if p else -1 for p in prefixes])
        # extension scores [P, V-1]: a token equal to the prefix's last one needs a blank between
        ext = total[:, None] + frame[None, non_blank]
        repeat = non_blank[None, :] == last[:, None]
        ext = np.where(repeat, pb[:, None] + frame[None, non_blank], ext)
        top = np.argpartition(-ext, per_prefix - 1, axis=1)[:, :per_prefix] if per_prefix < len(non_blank) \
            else np.broadcast_to(np.arange(len(non_blank)), ext.shape)
        new: dict[tuple[int, ...], list[float]] = {}

        def add(prefix: tuple[int, ...], b: float, nb: float, bonus: float) -> None:
            cur = new.get(prefix)
            if cur is None:
                new[prefix] = [b, nb, bonus]
            else:
                cur[0], cur[1] = _logaddexp(cur[0], b), _logaddexp(cur[1], nb)

        frame_list, ext_list, top_list = frame.tolist(), ext.tolist(), top.tolist()
        for i, prefix in enumerate(prefixes):
            bonus = beams[prefix][2]
            # stay: a blank, or the last token repeated (collapses into the same prefix)
            stay_nb = float(pnb[i]) + frame_list[prefix[-1]] if prefix else NEG_INF
            add(prefix, float(total[i]) + frame_list[blank], stay_nb, bonus)
            for j in top_list[i]:
                score = ext_list[i][j]
                if score == NEG_INF:
                    continue
                token = int(non_blank[j])
                extended = prefix + (token,)
                extra = word_scorer(prefix, token) if word_scorer is not None else 0.0
                add(extended, NEG_INF, score, bonus + extra)
        ranked = sorted(new.items(), key=lambda kv: -(_logaddexp(kv[1][0], kv[1][1]) + kv[1][2]))
        beams = {p: (v[0], v[1], v[2]) for p, v in ranked[:beam]}
    results = [(p, _logaddexp(b, nb) + bonus + (final_scorer(p) if final_scorer is not None else 0.0))
               for p, (b, nb, bonus) in beams.items()]
    return sorted(results, key=lambda r: -r[1])
