"""Query-by-example spoken term detection metrics as scored in MediaEval QUESST 2014.

Every (query, document) pair is one trial: the task is to say *whether* the query occurs
in the document, not where. For a query q with N_true(q) > 0 true documents among T:

    P_miss(q, θ) = 1 - N_hit(q, θ) / N_true(q)
    P_fa(q, θ)   = N_fa(q, θ) / (T - N_true(q))          (T - N_true(q) nontarget trials)
    TWV(θ)       = 1 - mean_q [ P_miss(q, θ) + β P_fa(q, θ) ]
    β            = (C_fa / C_miss) (1 - P_target) / P_target

QUESST 2014 uses P_target = 0.0008, C_miss = 100, C_fa = 1, so β = 0.9992 / 0.08 = 12.49
(the NIST form β = C/V (1/P_target - 1) with C/V = 1/100). Queries with no true document
are left out of the mean, as the official tool removes "unseen models". Trials missing
from the detections count as rejected. ATWV uses each detection's YES/NO decision; MTWV is
the best TWV over one global score threshold (accept ``score >= θ``; accepting nothing
gives TWV 0, so MTWV >= 0). Higher is better for both; 1 is perfect.

Cnxe (the QUESST 2014 primary metric) reads the scores as log-likelihood ratios and pools
every trial of the scored queries: Cnxe = Cxe / H(P_target), with
Cxe = P_t mean_tar log2(1 + e^-(s + logit P_t)) + (1 - P_t) mean_non log2(1 + e^(s + logit P_t)).
minCnxe is Cnxe after the best monotonic recalibration of the scores (PAV, as minCllr).
Lower is better; 1 is a system that outputs no information. Uncalibrated scores (e.g.
z-normalised DTW scores) give large actual Cnxe; compare systems by minCnxe then.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Collection, NamedTuple, Sequence

import numpy as np
from scipy.optimize import isotonic_regression

from speechbench.metrics._checks import check_nonempty

QUESST14_P_TARGET = 0.0008
QUESST14_C_MISS = 100.0
QUESST14_C_FA = 1.0


class Detection(NamedTuple):
    """One scored trial; ``decision`` is the system's YES (True) / NO (False) for ATWV."""

    query_id: str
    doc_id: str
    score: float
    decision: bool


@dataclass(frozen=True)
class StdResult:
    """ATWV and MTWV (higher is better), Cnxe and minCnxe (lower is better; None without all trials)."""

    atwv: float
    mtwv: float
    mtwv_threshold: float
    cnxe: float | None
    min_cnxe: float | None
    n_queries: int
    beta: float


def detections_from_matrix(
    query_ids: Sequence[str], doc_ids: Sequence[str], scores: np.ndarray, threshold: float = 2.0
) -> list[Detection]:
    """Every trial of a [Q, N] score matrix as a Detection, YES where ``score > threshold``.

    With z-normalised DTW scores, 2.0 is s3prl's QbE decision rule (about the top 2.5%).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(query_ids), len(doc_ids)):
        raise ValueError(f"scores shape {scores.shape} != ({len(query_ids)} queries, {len(doc_ids)} documents)")
    return [
        Detection(q, d, float(scores[i, j]), bool(scores[i, j] > threshold))
        for i, q in enumerate(query_ids)
        for j, d in enumerate(doc_ids)
    ]


def twv_beta(p_target: float = QUESST14_P_TARGET, c_miss: float = QUESST14_C_MISS, c_fa: float = QUESST14_C_FA) -> float:
    """β weighting false alarms against misses; 12.49 with the QUESST 2014 defaults."""
    if not 0.0 < p_target < 1.0:
        raise ValueError(f"p_target must be in (0, 1), got {p_target}")
    return c_fa * (1.0 - p_target) / (c_miss * p_target)


def _check_inputs(
    detections: Sequence[Detection], ground_truth: Collection[tuple[str, str]], n_docs: int
) -> Counter:
    check_nonempty(len(ground_truth), "ground-truth (query_id, doc_id) pairs")
    if len(set(ground_truth)) != len(ground_truth):
        raise ValueError("ground truth lists a (query_id, doc_id) pair twice; each trial is one document")
    n_true = Counter(q for q, _ in ground_truth)
    worst = max(n_true.values())
    if worst >= n_docs:
        raise ValueError(
            f"n_docs={n_docs} but a query has {worst} true documents: n_docs must count every "
            "searched document (targets and nontargets)"
        )
    per_query = Counter(d.query_id for d in detections)
    crowded = [q for q, c in per_query.items() if c > n_docs]
    if crowded:
        raise ValueError(f"queries {crowded[:3]} have more detections than n_docs={n_docs} documents")
    seen = Counter((d.query_id, d.doc_id) for d in detections)
    dup = [k for k, c in seen.items() if c > 1]
    if dup:
        raise ValueError(f"{len(dup)} (query_id, doc_id) trials are detected more than once, e.g. {dup[:3]}")
    if not np.all(np.isfinite([d.score for d in detections])):
        raise ValueError("some detection scores are NaN or infinite")
    return n_true


def _trial_weights(
    detections: Sequence[Detection], truth: set[tuple[str, str]], n_true: Counter, n_docs: int, beta: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Scores, decisions, target flags and each trial's TWV change when accepted, for scored queries."""
    kept = [d for d in detections if d.query_id in n_true]
    scores = np.array([d.score for d in kept], dtype=np.float64)
    decisions = np.array([d.decision for d in kept], dtype=bool)
    is_target = np.array([(d.query_id, d.doc_id) in truth for d in kept], dtype=bool)
    n_tq = np.array([n_true[d.query_id] for d in kept], dtype=np.float64)
    n_queries = len(n_true)
    gain = np.where(is_target, 1.0 / n_tq, -beta / (n_docs - n_tq)) / n_queries
    return scores, decisions, is_target, gain


def _max_twv(scores: np.ndarray, gain: np.ndarray) -> tuple[float, float]:
    """Best TWV over thresholds: accepted trials sorted by score, a cumulative sum at each tie group's end."""
    if scores.size == 0:
        return 0.0, float("inf")
    order = np.argsort(-scores, kind="stable")
    s, cum = scores[order], np.cumsum(gain[order])
    group_end = np.append(s[1:] != s[:-1], True)
    cum, s = cum[group_end], s[group_end]
    k = int(np.argmax(cum))
    if cum[k] <= 0.0:
        return 0.0, float("inf")
    return float(cum[k]), float(s[k])


def _cxe(tar_llr: np.ndarray, tar_w: np.ndarray, non_llr: np.ndarray, non_w: np.ndarray, p_target: float) -> float:
    """Normalised cross entropy of weighted target / nontarget LLRs at prior ``p_target``."""
    logit = np.log(p_target / (1.0 - p_target))
    tar = np.sum(tar_w * np.logaddexp(0.0, -(tar_llr + logit))) / np.sum(tar_w)
    non = np.sum(non_w * np.logaddexp(0.0, non_llr + logit)) / np.sum(non_w)
    prior_entropy = -(p_target * np.log(p_target) + (1.0 - p_target) * np.log(1.0 - p_target))
    return float((p_target * tar + (1.0 - p_target) * non) / prior_entropy)


def _pav_llr(scores: np.ndarray, is_target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """LLRs of the optimal monotonic calibration: PAV posteriors minus the empirical prior log-odds."""
    uniq, inverse = np.unique(scores, return_inverse=True)
    tot = np.bincount(inverse, weights=weights)
    tar = np.bincount(inverse, weights=weights * is_target)
    posterior = isotonic_regression(tar / tot, weights=tot, increasing=True).x
    prior = tar.sum() / tot.sum()
    with np.errstate(divide="ignore"):
        llr = np.log(posterior) - np.log1p(-posterior) - np.log(prior / (1.0 - prior))
    return llr[inverse]


def _cnxe_pair(
    scores: np.ndarray, is_target: np.ndarray, n_true_total: int, n_trials: int, default_score: float | None, p_target: float
) -> tuple[float | None, float | None]:
    missing_tar = n_true_total - int(is_target.sum())
    missing_non = (n_trials - n_true_total) - int((~is_target).sum())
    if missing_tar + missing_non > 0:
        if default_score is None:
            return None, None
        scores = np.concatenate([scores, [default_score, default_score]])
        is_target = np.concatenate([is_target, [True, False]])
        weights = np.concatenate([np.ones(len(scores) - 2), [missing_tar, missing_non]])
    else:
        weights = np.ones(len(scores))
    keep = weights > 0
    scores, is_target, weights = scores[keep], is_target[keep], weights[keep]
    act = _cxe(scores[is_target], weights[is_target], scores[~is_target], weights[~is_target], p_target)
    llr = _pav_llr(scores, is_target, weights)
    minimum = _cxe(llr[is_target], weights[is_target], llr[~is_target], weights[~is_target], p_target)
    return act, minimum


def std_metrics(
    detections: Sequence[Detection],
    ground_truth: Collection[tuple[str, str]],
    n_docs: int,
    p_target: float = QUESST14_P_TARGET,
    c_miss: float = QUESST14_C_MISS,
    c_fa: float = QUESST14_C_FA,
    default_score: float | None = None,
) -> StdResult:
    """ATWV, MTWV (+ threshold), Cnxe and minCnxe of QbE detections against (query, doc) truth.

    ``n_docs`` is the number of searched documents T. Cnxe needs a score for every trial of
    the scored queries: list them all, or give ``default_score`` for the missing ones (the
    official QUESST scoring is usually run with -10); otherwise cnxe/min_cnxe are None.
    """
    if n_docs <= 0:
        raise ValueError(f"n_docs must be positive, got {n_docs}")
    detections = [Detection(*d) for d in detections]
    not_bool = [d for d in detections if not isinstance(d.decision, (bool, np.bool_))]
    if not_bool:
        raise TypeError(
            f"decision must be True/False, got {not_bool[0].decision!r} for {not_bool[0][:2]}; "
            "map the stdlist YES/NO to True/False"
        )
    n_true = _check_inputs(detections, ground_truth, n_docs)
    beta = twv_beta(p_target, c_miss, c_fa)
    truth = set(ground_truth)
    scores, decisions, is_target, gain = _trial_weights(detections, truth, n_true, n_docs, beta)
    atwv = float(np.sum(gain[decisions]))
    mtwv, threshold = _max_twv(scores, gain)
    n_true_total = sum(n_true.values())
    cnxe, min_cnxe = _cnxe_pair(scores, is_target, n_true_total, len(n_true) * n_docs, default_score, p_target)
    return StdResult(
        atwv=atwv,
        mtwv=mtwv,
        mtwv_threshold=threshold,
        cnxe=cnxe,
        min_cnxe=min_cnxe,
        n_queries=len(n_true),
        beta=beta,
    )
