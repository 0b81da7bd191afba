"""Speaker verification metrics: EER and normalised minDCF from trial scores.

Both come from one vectorised ROC: a trial is accepted when ``score >= threshold``, and the
thresholds are every distinct score plus +inf (reject all). EER is where P_miss and P_fa
cross, linearly interpolated between the two ROC points around the crossing (the same
interpolation as ``brentq`` on ``interp1d(fpr, tpr)`` in s3prl's ASV scoring). minDCF follows
the NIST SRE definition, normalised by the cost of the best trivial system.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from speechbench.metrics._checks import check_nonempty

ArrayLike = Union[Sequence[float], np.ndarray]


@dataclass(frozen=True)
class Roc:
    """Operating points, thresholds ascending: P_miss rises and P_fa falls along the arrays."""

    thresholds: np.ndarray
    p_miss: np.ndarray
    p_fa: np.ndarray


@dataclass(frozen=True)
class VerificationResult:
    """EER and minDCF as fractions (lower is better), each with the threshold that reaches it."""

    eer: float
    eer_threshold: float
    min_dcf: float
    min_dcf_threshold: float


def _check_trials(scores: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    check_nonempty(s.size, "trials")
    if s.size != y.size:
        raise ValueError(f"{s.size} scores but {y.size} labels: give one label per trial")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{int(np.sum(~np.isfinite(s)))} scores are NaN or infinite; fix the scoring first")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 1/True (target) or 0/False (nontarget)")
    y = y.astype(bool)
    n_tar = int(y.sum())
    if n_tar == 0 or n_tar == y.size:
        only = "target" if n_tar else "nontarget"
        raise ValueError(f"all {y.size} trials are {only}: EER/minDCF need both target and nontarget trials")
    return s, y


def roc(scores: ArrayLike, labels: ArrayLike) -> Roc:
    """P_miss and P_fa at every distinct score (accept ``score >= t``) and at +inf."""
    s, y = _check_trials(scores, labels)
    tar, non = np.sort(s[y]), np.sort(s[~y])
    thresholds = np.append(np.unique(s), np.inf)
    p_miss = np.searchsorted(tar, thresholds, side="left") / tar.size
    p_fa = 1.0 - np.searchsorted(non, thresholds, side="left") / non.size
    return Roc(thresholds, p_miss, p_fa)


def eer(curve: Roc) -> tuple[float, float]:
    """(EER, threshold) at the P_miss = P_fa crossing, linearly interpolated."""
    diff = curve.p_miss - curve.p_fa  # -1 at the lowest threshold, +1 at +inf: a crossing exists
    k = int(np.argmax(diff >= 0))
    d0, d1 = diff[k - 1], diff[k]
    alpha = d0 / (d0 - d1)
    rate = curve.p_miss[k - 1] + alpha * (curve.p_miss[k] - curve.p_miss[k - 1])
    t0, t1 = curve.thresholds[k - 1], curve.thresholds[k]
    threshold = t0 + alpha * (t1 - t0) if np.isfinite(t1) else t0
    return float(rate), float(threshold)


def min_dcf(curve: Roc, p_target: float = 0.01, c_miss: float = 1.0, c_fa: float = 1.0) -> tuple[float, float]:
    """(normalised minDCF, threshold): min over thresholds of the detection cost / best trivial cost."""
    if not 0.0 < p_target < 1.0:
        raise ValueError(f"p_target must be in (0, 1), got {p_target}")
    dcf = c_miss * p_target * curve.p_miss + c_fa * (1.0 - p_target) * curve.p_fa
    k = int(np.argmin(dcf))
    norm = min(c_miss * p_target, c_fa * (1.0 - p_target))
    return float(dcf[k] / norm), float(curve.thresholds[k])


def verification_metrics(
    scores: ArrayLike,
    labels: ArrayLike,
    p_target: float = 0.01,
    c_miss: float = 1.0,
    c_fa: float = 1.0,
) -> VerificationResult:
    """EER and minDCF (SUPERB/VoxCeleb: p_target 0.01, c_miss = c_fa = 1) for trial scores.

    ``labels[i]`` is 1/True for a target (same speaker) trial; higher scores mean "same".
    """
    curve = roc(scores, labels)
    e, e_thr = eer(curve)
    d, d_thr = min_dcf(curve, p_target, c_miss, c_fa)
    return VerificationResult(eer=e, eer_threshold=e_thr, min_dcf=d, min_dcf_threshold=d_thr)
