import pytest

from speechbench.metrics.span import span_scores


def test_hand_computed_overlap():
    # pred [2, 6), gold [4, 10): overlap 2, union 8 -> AOS 0.25; P = 2/4, R = 2/6 -> F1 = 0.4.
    result = span_scores([(2, 6)], [[(4, 10)]])
    assert result.ff1 == pytest.approx(0.4)
    assert result.aos == pytest.approx(0.25)


def test_exact_disjoint_nested_and_empty():
    preds = [(1.0, 2.5), (0.0, 1.0), (3.0, 4.0), (5.0, 5.0)]
    refs = [[(1.0, 2.5)], [(1.0, 2.0)], [(2.0, 6.0)], [(4.0, 6.0)]]
    result = span_scores(preds, refs)
    # exact 1 / 1; touching-but-disjoint 0 / 0; nested: F1 2*1/(1+4) = 0.4, AOS 1/4; empty pred 0 / 0
    assert result.ff1 == pytest.approx((1 + 0 + 0.4 + 0) / 4)
    assert result.aos == pytest.approx((1 + 0 + 0.25 + 0) / 4)
    assert result.n_questions == 4


def test_best_of_several_references():
    result = span_scores([(2, 6), (0, 4)], [[(20, 30), (4, 10)], [(0, 4), (2, 3)]])
    assert result.ff1 == pytest.approx((0.4 + 1.0) / 2)
    assert result.aos == pytest.approx((0.25 + 1.0) / 2)


def test_input_errors():
    with pytest.raises(ValueError, match="no questions"):
        span_scores([], [])
    with pytest.raises(ValueError, match="one per question"):
        span_scores([(0, 1)], [])
    with pytest.raises(ValueError, match="no reference span"):
        span_scores([(0, 1)], [[]])
    with pytest.raises(ValueError, match="end <= start"):
        span_scores([(0, 1)], [[(3, 2)]])


def test_malformed_spans_are_rejected():
    with pytest.raises(ValueError, match=r"\(start, end\) pairs"):
        span_scores([(0, 1, 2)], [[(0, 1)]])
    with pytest.raises(ValueError, match=r"\(start, end\) pairs"):
        span_scores([(0, 1)], [[(0, 1, 2)]])
