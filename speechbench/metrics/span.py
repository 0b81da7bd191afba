"""Spoken question answering span metrics: frame-level F1 (FF1) and audio overlap score (AOS).

Definitions as in SpeechBERT (Chuang et al., 2020) and DUAL (Lin et al., 2022), whose
evaluation code this matches. A span is ``(start, end)`` with ``end`` exclusive, in frames
or seconds (either, consistently); a predicted span with end <= start is empty and scores 0.
With overlap O = max(0, min(end_p, end_g) - max(start_p, start_g)):

    precision = O / len(pred),  recall = O / len(gold),  FF1 = 2PR / (P + R) = 2 O / (len(pred) + len(gold))
    AOS = O / len(pred ∪ gold)  (intersection over union of the two time intervals)

Each question scores the best of its reference answers (SQuAD's rule for several gold
answers); the reported value is the mean over questions. Higher is better; 1 is exact.
Frame indices whose end is *inclusive* (as a start/end classifier predicts) need ``end + 1``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from speechbench.metrics._checks import check_nonempty

Span = tuple[float, float]


@dataclass(frozen=True)
class SpanScores:
    """Mean FF1 and AOS over questions, as fractions in [0, 1]."""

    ff1: float
    aos: float
    n_questions: int


def _overlap_scores(pred: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise (FF1, AOS) of [N, 2] predicted against [N, 2] gold spans."""
    p_len = np.clip(pred[:, 1] - pred[:, 0], 0.0, None)
    g_len = gold[:, 1] - gold[:, 0]
    inter = np.clip(np.minimum(pred[:, 1], gold[:, 1]) - np.maximum(pred[:, 0], gold[:, 0]), 0.0, None)
    inter = np.where(p_len > 0, inter, 0.0)
    union = p_len + g_len - inter
    return 2.0 * inter / (p_len + g_len), inter / union


def span_scores(predictions: Sequence[Span], references: Sequence[Sequence[Span]]) -> SpanScores:
    """FF1 and AOS of one predicted span per question against that question's reference spans."""
    check_nonempty(len(predictions), "questions")
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} reference lists: one per question")
    empty = [i for i, refs in enumerate(references) if len(refs) == 0]
    if empty:
        raise ValueError(f"questions {empty[:3]} have no reference span")
    counts = np.array([len(refs) for refs in references])
    gold = np.array([span for refs in references for span in refs], dtype=np.float64)
    if gold.shape != (int(counts.sum()), 2):
        raise ValueError(f"reference spans must be (start, end) pairs, got an array of shape {gold.shape}")
    bad = np.flatnonzero(gold[:, 1] <= gold[:, 0])
    if bad.size:
        raise ValueError(f"{bad.size} reference spans have end <= start, e.g. {gold[bad[0]].tolist()}")
    pred = np.asarray(predictions, dtype=np.float64)
    if pred.shape != (len(predictions), 2):
        raise ValueError(f"predictions must be (start, end) pairs, got an array of shape {pred.shape}")
    pred = np.repeat(pred, counts, axis=0)
    ff1, aos = _overlap_scores(pred, gold)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return SpanScores(
        ff1=float(np.maximum.reduceat(ff1, first).mean()),
        aos=float(np.maximum.reduceat(aos, first).mean()),
        n_questions=len(predictions),
    )
