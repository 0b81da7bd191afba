"""Word n-gram LM (ARPA) for the CTC prefix beam search: shallow fusion at word boundaries.

SUPERB's optional ASR decoding adds a 4-gram word LM with ``lm_weight`` 2 and ``word_score``
-1 (flashlight's decoder). Here the beam search calls :meth:`LMFusion.word_scorer` whenever a
token completes a word (char units: ``|``; sentencepiece: a piece starting with ``▁``) and
adds ``lm_weight * ln P(word | history) + word_score``; :meth:`LMFusion.final_score` adds the
last word and ``</s>`` at the end. A word outside the LM's vocabulary scores ``unk_score``
instead (SUPERB/flashlight: ``unk_weight`` -inf); without it a lexicon-free search learns to
avoid word boundaries, since one long unknown "word" costs less than several real ones. Plain Python over an ARPA file: fine for the small LMs
of the mini corpus and pruned LibriSpeech LMs; a full 4-gram ARPA needs several GB of RAM.
"""
from __future__ import annotations

import math
import os
from typing import Sequence

from speechbench.errors import DataError

LN10 = math.log(10.0)
SPM_SPACE = "\u2581"


class ArpaError(DataError):
    """An ARPA file that cannot be read; the message names file and line."""


class ArpaLM:
    """Backoff n-gram LM read from an ARPA file; ``log10 P(word | history)``."""

    def __init__(self, path: str) -> None:
        if not os.path.isfile(path):
            raise ArpaError(f"language model {path} not found (an ARPA file, e.g. from KenLM's lmplz)")
        self.prob: dict[tuple[str, ...], float] = {}
        self.backoff: dict[tuple[str, ...], float] = {}
        order = 0
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("ngram ") or line in ("\\data\\", "\\end\\"):
                    continue
                if line.startswith("\\") and line.endswith("-grams:"):
                    order = int(line[1:line.index("-")])
                    continue
                parts = line.split()
                if order == 0 or len(parts) < order + 1:
                    raise ArpaError(f"{path}:{lineno}: expected `log10prob w1..w{order} [backoff]`, got '{line}'")
                try:
                    words = tuple(parts[1:order + 1])
                    self.prob[words] = float(parts[0])
                    if len(parts) > order + 1:
                        self.backoff[words] = float(parts[order + 1])
                except ValueError:
                    raise ArpaError(f"{path}:{lineno}: not a number in '{line}'") from None
        if not self.prob:
            raise ArpaError(f"{path}: no n-grams (is it an ARPA file?)")
        self.order = max(len(k) for k in self.prob)
        self.unk = self.prob.get(("<unk>",), -99.0)
        self.vocab = {k[0] for k in self.prob if len(k) == 1}

    def log10_prob(self, history: Sequence[str], word: str) -> float:
        """Backoff estimate of ``log10 P(word | history)`` (unknown words get ``<unk>``'s)."""
        context = tuple(history)[-(self.order - 1):] if self.order > 1 else ()
        penalty = 0.0
        while True:
            ngram = context + (word,)
            if ngram in self.prob:
                return penalty + self.prob[ngram]
            if not context:
                return penalty + self.unk
            penalty += self.backoff.get(context, 0.0)
            context = context[1:]


class LMFusion:
    """Word-boundary scoring of CTC prefixes (token ids) with an :class:`ArpaLM`.

    A partial word that stops being the beginning of any LM word is charged ``unk_score``
    at once (a lexicon prefix check), so hypotheses cannot hide unknown words by never
    closing them; a closed word then adds ``lm_weight * ln P(word | history) + word_score``.
    """

    def __init__(self, lm: ArpaLM, symbols: Sequence[str], unit: str, lm_weight: float = 2.0,
                 word_score: float = -1.0, unk_score: float = -20.0) -> None:
        if unit not in ("char", "sentencepiece"):
            raise ValueError(f"a word LM needs char or sentencepiece units, not '{unit}'")
        self.lm, self.symbols, self.unit = lm, list(symbols), unit
        self.lm_weight, self.word_score, self.unk_score = lm_weight, word_score, unk_score
        self.prefixes = {w[:i] for w in lm.vocab for i in range(1, len(w) + 1)}

    def _text(self, ids: Sequence[int]) -> str:
        text = "".join(self.symbols[i] for i in ids)
        return text.replace("|", " ") if self.unit == "char" else text.replace(SPM_SPACE, " ")

    def _starts_word(self, token: int) -> bool:
        symbol = self.symbols[token]
        return symbol == "|" if self.unit == "char" else symbol.startswith(SPM_SPACE)

    def _close(self, text: str) -> float:
        """Score of the last word of ``text`` (complete words separated by spaces)."""
        words = text.split()
        if not words:
            return 0.0
        word = words[-1]
        if word in self.lm.vocab:
            return self.lm_weight * LN10 * self.lm.log10_prob(["<s>"] + words[:-1], word) + self.word_score
        # charged when it left the prefix set, else now (a prefix of LM words, but no word itself)
        return self.word_score + (self.unk_score if word in self.prefixes else 0.0)

    def word_scorer(self, prefix: tuple[int, ...], token: int) -> float:
        """Extra score for appending ``token`` to ``prefix``."""
        text = self._text(prefix)
        if self._starts_word(token) and text and not text.endswith(" "):
            closing = self._close(text)
        else:
            closing = 0.0
        new = self._text(prefix + (token,))
        partial = "" if new.endswith(" ") else new.split()[-1] if new.split() else ""
        if not partial or partial in self.prefixes:
            return closing
        before = "" if self._starts_word(token) else (text.split()[-1] if text.split() and not text.endswith(" ") else "")
        left_now = before == "" or before in self.prefixes
        return closing + (self.unk_score if left_now else 0.0)

    def final_score(self, prefix: tuple[int, ...]) -> float:
        """The unfinished last word (if any) and ``</s>``."""
        text = self._text(prefix)
        words = text.split()
        end = self.lm_weight * LN10 * self.lm.log10_prob(["<s>"] + words, "</s>")
        return end + (self._close(text) if words and not text.endswith(" ") else 0.0)
