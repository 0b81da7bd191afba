import numpy as np
import pytest
from scipy.interpolate import interp1d
from scipy.optimize import brentq

from speechbench.metrics.verification import roc, verification_metrics

TAR = [0.9, 0.8, 0.4]
NON = [0.7, 0.3, 0.2, 0.1]


def _trials(tar, non):
    return np.concatenate([tar, non]), np.concatenate([np.ones(len(tar)), np.zeros(len(non))])


def test_hand_computed_case():
    # Between thresholds 0.4 (P_miss 0, P_fa 1/4) and 0.7 (P_miss 1/3, P_fa 1/4) the curves
    # cross at alpha = 0.75: EER = 0.25 at threshold 0.4 + 0.75 * 0.3 = 0.625.
    # minDCF(p=0.01): rejecting one target (threshold 0.8) costs 0.01/3, normalised by 0.01 -> 1/3.
    result = verification_metrics(*_trials(TAR, NON))
    assert result.eer == pytest.approx(0.25)
    assert result.eer_threshold == pytest.approx(0.625)
    assert result.min_dcf == pytest.approx(1 / 3)
    assert result.min_dcf_threshold == pytest.approx(0.8)


def test_perfect_and_inverted_systems():
    assert verification_metrics(*_trials([2.0, 3.0], [0.0, 1.0])).eer == pytest.approx(0.0)
    assert verification_metrics(*_trials([0.0, 1.0], [2.0, 3.0])).eer == pytest.approx(1.0)


def test_against_brute_force_and_s3prl_style_eer():
    rng = np.random.default_rng(0)
    tar = np.round(rng.normal(1.0, 1.0, 400), 2)  # rounding makes ties
    non = np.round(rng.normal(-1.0, 1.0, 1500), 2)
    scores, labels = _trials(tar, non)
    result = verification_metrics(scores, labels)
    curve = roc(scores, labels)

    brute_dcf = []
    for k, t in enumerate(curve.thresholds):
        p_miss = sum(1 for s in tar if s < t) / len(tar)
        p_fa = sum(1 for s in non if s >= t) / len(non)
        assert curve.p_miss[k] == pytest.approx(p_miss)
        assert curve.p_fa[k] == pytest.approx(p_fa)
        brute_dcf.append((0.01 * p_miss + 0.99 * p_fa) / 0.01)
    assert result.min_dcf == pytest.approx(min(brute_dcf))

    fpr, tpr = curve.p_fa[::-1], 1.0 - curve.p_miss[::-1]
    reference = brentq(lambda x: 1.0 - x - interp1d(fpr, tpr)(x), 0.0, 1.0)
    assert result.eer == pytest.approx(reference, abs=1e-9)
    assert 0.10 < result.eer < 0.20  # two unit Gaussians 2 apart: EER ~ 0.159


def test_input_errors():
    with pytest.raises(ValueError, match="no trials"):
        verification_metrics([], [])
    with pytest.raises(ValueError, match="all 3 trials are target"):
        verification_metrics([0.1, 0.2, 0.3], [1, 1, 1])
    with pytest.raises(ValueError, match="2 scores but 3 labels"):
        verification_metrics([0.1, 0.2], [1, 0, 1])
    with pytest.raises(ValueError, match="NaN"):
        verification_metrics([0.1, float("nan")], [1, 0])
    with pytest.raises(ValueError, match="target"):
        verification_metrics([0.1, 0.2], [2, 0])
