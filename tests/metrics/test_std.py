import math

import numpy as np
import pytest

from speechbench.metrics.std import Detection, detections_from_matrix, std_metrics, twv_beta

D = Detection
TRUTH = [("q1", "d1"), ("q1", "d2"), ("q2", "d3")]
DETECTIONS = [
    D("q1", "d1", 5.0, True),  # hit
    D("q1", "d2", 1.0, False),  # miss at the system's decision
    D("q1", "d5", 3.0, True),  # false alarm
    D("q2", "d3", 2.0, True),  # hit
    D("q2", "d4", 4.0, False),
    D("q3", "d1", 9.0, True),  # q3 has no true document: left out of every metric
]


def test_quesst14_beta():
    assert twv_beta() == pytest.approx(12.49)


def test_hand_computed_twv():
    # T = 10 documents, beta = 12.49.
    # ATWV: q1 P_miss 1/2, P_fa 1/8; q2 P_miss 0, P_fa 0 -> 1 - (0.5 + 12.49/8 + 0)/2 = -0.030625.
    # MTWV at threshold 5.0 (only q1/d1 accepted): q1 P_miss 1/2, q2 P_miss 1 -> 1 - 1.5/2 = 0.25;
    # every lower threshold first adds a false alarm costing more than the hits it gains.
    result = std_metrics(DETECTIONS, TRUTH, n_docs=10)
    assert result.n_queries == 2
    assert result.atwv == pytest.approx(-0.030625)
    assert result.mtwv == pytest.approx(0.25)
    assert result.mtwv_threshold == 5.0
    assert result.cnxe is None and result.min_cnxe is None  # 5 of 20 trials listed, no default


def test_mtwv_matches_brute_force_threshold_sweep():
    rng = np.random.default_rng(1)
    n_docs, queries = 30, [f"q{k}" for k in range(6)]
    truth = [(q, f"d{j}") for q in queries for j in rng.choice(n_docs, size=rng.integers(1, 4), replace=False)]
    true_set = set(truth)
    dets = [
        D(q, f"d{j}", float(np.round(rng.normal() + 2.0 * ((q, f"d{j}") in true_set), 1)), False)
        for q in queries
        for j in range(n_docs)
    ]
    beta = twv_beta()

    def twv(theta):
        terms = []
        for q in queries:
            n_true = sum(1 for t in truth if t[0] == q)
            hits = sum(1 for d in dets if d.query_id == q and d.score >= theta and (q, d.doc_id) in true_set)
            fas = sum(1 for d in dets if d.query_id == q and d.score >= theta and (q, d.doc_id) not in true_set)
            terms.append(1 - hits / n_true + beta * fas / (n_docs - n_true))
        return 1 - sum(terms) / len(terms)

    brute = max([0.0] + [twv(d.score) for d in dets])
    result = std_metrics(dets, truth, n_docs=n_docs)
    assert result.mtwv == pytest.approx(brute)
    assert result.mtwv > 0
    assert twv(result.mtwv_threshold) == pytest.approx(result.mtwv)
    assert result.atwv == 0.0  # every decision NO
    assert result.cnxe is not None and 0.0 <= result.min_cnxe <= 1.0


def test_hand_computed_cnxe():
    # P_target 0.5: Cnxe = mean over classes of log2(1 + e^{-+s}); scores +-ln 3 -> log2(4/3).
    truth = [("q", "a")]
    dets = [D("q", "a", math.log(3), True), D("q", "b", -math.log(3), False)]
    result = std_metrics(dets, truth, n_docs=2, p_target=0.5)
    assert result.cnxe == pytest.approx(math.log2(4 / 3))
    assert result.min_cnxe == pytest.approx(0.0)  # perfectly separated -> PAV gives +-inf LLRs
    # all-zero LLRs carry no information: Cnxe = 1 at any prior
    flat = [D("q", "a", 0.0, True), D("q", "b", 0.0, False)]
    assert std_metrics(flat, truth, n_docs=2).cnxe == pytest.approx(1.0)


def test_hand_computed_min_cnxe_with_pav():
    # Sorted scores 0(non) 1(tar) 2(non) 3(tar): PAV posteriors 0, .5, .5, 1 -> LLRs -inf, 0, 0, +inf
    # (empirical prior 1/2). At P_target 0.5 each class has one trial costing 1 bit, one costing 0.
    truth = [("q", "a"), ("q", "c")]
    dets = [D("q", "a", 1.0, False), D("q", "b", 2.0, False), D("q", "c", 3.0, False), D("q", "d", 0.0, False)]
    result = std_metrics(dets, truth, n_docs=4, p_target=0.5)
    assert result.min_cnxe == pytest.approx(0.5)
    assert result.min_cnxe <= result.cnxe


def test_default_score_fills_missing_trials():
    truth = [("q", "a")]
    listed = [D("q", "a", 2.0, True)]
    full = listed + [D("q", d, -10.0, False) for d in ("b", "c", "d")]
    with_default = std_metrics(listed, truth, n_docs=4, default_score=-10.0)
    assert with_default.cnxe == pytest.approx(std_metrics(full, truth, n_docs=4).cnxe)
    assert with_default.min_cnxe == pytest.approx(0.0)


def test_input_errors():
    with pytest.raises(ValueError, match="no ground-truth"):
        std_metrics(DETECTIONS, [], n_docs=10)
    with pytest.raises(ValueError, match="more than once"):
        std_metrics(DETECTIONS + [D("q1", "d1", 1.0, True)], TRUTH, n_docs=10)
    with pytest.raises(ValueError, match="n_docs must count every"):
        std_metrics(DETECTIONS, TRUTH, n_docs=2)
    with pytest.raises(ValueError, match="twice"):
        std_metrics(DETECTIONS, TRUTH + [("q2", "d3")], n_docs=10)
    with pytest.raises(ValueError, match="NaN"):
        std_metrics([D("q1", "d1", float("nan"), True)], TRUTH, n_docs=10)


def test_decisions_must_be_booleans_and_plain_tuples_work():
    with pytest.raises(TypeError, match="YES/NO"):
        std_metrics([("q1", "d1", 5.0, "NO")], TRUTH, n_docs=10)
    plain = [tuple(d) for d in DETECTIONS]
    assert std_metrics(plain, TRUTH, n_docs=10).atwv == pytest.approx(-0.030625)


def test_detections_from_matrix_uses_strict_threshold():
    dets = detections_from_matrix(["q1", "q2"], ["a", "b"], np.array([[2.5, 2.0], [-1.0, 3.0]]))
    assert dets == [D("q1", "a", 2.5, True), D("q1", "b", 2.0, False), D("q2", "a", -1.0, False), D("q2", "b", 3.0, True)]
    with pytest.raises(ValueError, match="2 queries, 3 documents"):
        detections_from_matrix(["q1", "q2"], ["a", "b", "c"], np.zeros((2, 2)))
