"""Token error rates (WER / CER / PER) with substitution, deletion and insertion counts.

One minimum-edit alignment per utterance gives the S/D/I split that users compare with
sclite and ESPnet; S + D + I equals the Levenshtein distance (the tests check this against
``torchaudio.functional.edit_distance``). The rate is (S + D + I) / N over the whole set,
N the number of reference tokens (a corpus-level ratio, not a mean of per-utterance rates).
The distance itself comes from our numpy alignment, not from torchaudio: its
``edit_distance`` is a pure-Python double loop, about 4x slower than aligning here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal, Mapping, Sequence

import numpy as np

from speechbench.metrics._checks import check_nonempty, check_same_ids
from speechbench.utils_io import atomic_open

Op = Literal["C", "S", "D", "I"]
UNIT_METRIC = {"word": "WER", "char": "CER", "phone": "PER"}


@dataclass(frozen=True)
class Alignment:
    """One utterance aligned: ``ops[k] = (op, ref_token, hyp_token)``, "" where a side has none."""

    ops: tuple[tuple[Op, str, str], ...]

    def count(self, op: Op) -> int:
        return sum(1 for o, _, _ in self.ops if o == op)

    @property
    def n_ref(self) -> int:
        return sum(1 for o, _, _ in self.ops if o != "I")

    @property
    def errors(self) -> int:
        return sum(1 for o, _, _ in self.ops if o != "C")


@dataclass(frozen=True)
class ErrorRate:
    """Totals over a set of utterances, with each utterance's alignment kept for reports."""

    utts: dict[str, Alignment]
    n_ref: int
    correct: int
    substitutions: int
    deletions: int
    insertions: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """(S + D + I) / N as a fraction; lower is better; may exceed 1 with many insertions."""
        return self.errors / self.n_ref

    @property
    def sentence_error_rate(self) -> float:
        """Fraction of utterances with at least one error."""
        return sum(1 for a in self.utts.values() if a.errors) / len(self.utts)


def char_tokens(text: str, space: str = "<space>") -> list[str]:
    """Characters of ``text`` as tokens, word boundaries as ``space`` (ESPnet's CER convention)."""
    return [space if c == " " else c for c in " ".join(text.split())]


def align(ref: Sequence[str], hyp: Sequence[str]) -> Alignment:
    """Minimum-edit alignment of two token sequences (unit costs).

    Among equally cheap alignments the backtrace prefers match, then deletion, insertion,
    substitution, which lines up shared words the way sclite's reports do.

    The DP runs one numpy row per reference token: the within-row insertion recursion
    D[i, j] = min_k (T[k] + j - k) is a running minimum, so no Python loop over ``hyp``.
    """
    vocab: dict[str, int] = {}
    r = np.array([vocab.setdefault(t, len(vocab)) for t in ref], dtype=np.int64)
    h = np.array([vocab.setdefault(t, len(vocab)) for t in hyp], dtype=np.int64)
    n, m = len(r), len(h)
    cols = np.arange(m + 1)
    dist = np.empty((n + 1, m + 1), dtype=np.int64)
    dist[0] = cols
    for i in range(1, n + 1):
        row = np.empty(m + 1, dtype=np.int64)
        row[0] = i
        row[1:] = np.minimum(dist[i - 1, :-1] + (h != r[i - 1]), dist[i - 1, 1:] + 1)
        dist[i] = cols + np.minimum.accumulate(row - cols)
    ops: list[tuple[Op, str, str]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and r[i - 1] == h[j - 1] and dist[i, j] == dist[i - 1, j - 1]:
            ops.append(("C", ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and dist[i, j] == dist[i - 1, j] + 1:
            ops.append(("D", ref[i - 1], ""))
            i -= 1
        elif j > 0 and dist[i, j] == dist[i, j - 1] + 1:
            ops.append(("I", "", hyp[j - 1]))
            j -= 1
        else:
            ops.append(("S", ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
    return Alignment(tuple(reversed(ops)))


def _check_tokens(mapping: Mapping[str, Sequence[str]], side: str) -> None:
    for utt, tokens in mapping.items():
        if isinstance(tokens, str):
            raise TypeError(
                f"{side}[{utt!r}] is a string; pass a list of tokens "
                "(text.split() for words, char_tokens(text) for characters)"
            )


def error_rate(refs: Mapping[str, Sequence[str]], hyps: Mapping[str, Sequence[str]]) -> ErrorRate:
    """Align every utterance and total the counts; both mappings must hold the same utterance ids."""
    check_nonempty(len(refs), "utterances")
    check_same_ids(refs, hyps)
    _check_tokens(refs, "refs")
    _check_tokens(hyps, "hyps")
    utts = {utt: align(refs[utt], hyps[utt]) for utt in sorted(refs)}
    n_ref = sum(a.n_ref for a in utts.values())
    if n_ref == 0:
        raise ValueError("every reference is empty: the error rate (errors / reference tokens) is undefined")
    return ErrorRate(
        utts=utts,
        n_ref=n_ref,
        correct=sum(a.count("C") for a in utts.values()),
        substitutions=sum(a.count("S") for a in utts.values()),
        deletions=sum(a.count("D") for a in utts.values()),
        insertions=sum(a.count("I") for a in utts.values()),
    )


def _trn_lines(mapping: Mapping[str, Sequence[str]]) -> str:
    return "".join(f"{' '.join(mapping[u])} ({u})\n" for u in sorted(mapping))


def _alignment_block(utt: str, a: Alignment) -> str:
    ref_cells, hyp_cells, eval_cells = [], [], []
    for op, r, h in a.ops:
        width = max(len(r), len(h), 1)
        ref_cells.append((r or "*" * width).ljust(width))
        hyp_cells.append((h or "*" * width).ljust(width))
        eval_cells.append(("" if op == "C" else op).ljust(width))
    counts = " ".join(str(a.count(o)) for o in ("C", "S", "D", "I"))
    return (
        f"id: ({utt})\n"
        f"Scores: (#C #S #D #I) {counts}\n"
        f"REF:  {' '.join(ref_cells)}\n"
        f"HYP:  {' '.join(hyp_cells)}\n"
        f"{('Eval: ' + ' '.join(eval_cells)).rstrip()}\n\n"
    )


def _summary(result: ErrorRate, unit: str) -> str:
    n = result.n_ref
    pct = {
        "Corr": 100 * result.correct / n,
        "Sub": 100 * result.substitutions / n,
        "Del": 100 * result.deletions / n,
        "Ins": 100 * result.insertions / n,
        "Err": 100 * result.rate,
        "S.Err": 100 * result.sentence_error_rate,
    }
    header = f"| {'#utt':>6} | {'#' + unit + 's':>9} | " + " | ".join(f"{k:>6}" for k in pct) + " |"
    values = f"| {len(result.utts):>6} | {n:>9} | " + " | ".join(f"{v:6.2f}" for v in pct.values()) + " |"
    counts = (
        f"counts: Corr {result.correct}  Sub {result.substitutions}  Del {result.deletions}  "
        f"Ins {result.insertions}  Err {result.errors}"
    )
    return f"{UNIT_METRIC[unit]} ({unit} units), percentages of reference {unit}s; S.Err of utterances\n{header}\n{values}\n{counts}\n"


def write_sclite_report(
    out_dir: str | os.PathLike,
    refs: Mapping[str, Sequence[str]],
    hyps: Mapping[str, Sequence[str]],
    unit: str = "word",
) -> ErrorRate:
    """Write ``ref.trn``, ``hyp.trn`` (``tokens (utt_id)``), ``alignment.txt`` and ``result.txt``.

    The trn files can be rescored with sclite (``sclite -r ref.trn trn -h hyp.trn trn -i rm``)
    to check our numbers; ``alignment.txt`` shows REF/HYP/Eval lines per utterance so errors
    can be read without sclite installed.
    """
    if unit not in UNIT_METRIC:
        raise ValueError(f"unit must be one of {sorted(UNIT_METRIC)}, got {unit!r}")
    result = error_rate(refs, hyps)
    with atomic_open(os.path.join(out_dir, "ref.trn")) as f:
        f.write(_trn_lines(refs))
    with atomic_open(os.path.join(out_dir, "hyp.trn")) as f:
        f.write(_trn_lines(hyps))
    with atomic_open(os.path.join(out_dir, "alignment.txt")) as f:
        f.write("".join(_alignment_block(u, a) for u, a in result.utts.items()))
    with atomic_open(os.path.join(out_dir, "result.txt")) as f:
        f.write(_summary(result, unit))
    return result
