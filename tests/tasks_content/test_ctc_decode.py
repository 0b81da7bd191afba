"""CTC decoding: greedy best path and the prefix beam search (exact against brute force)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from speechbench.downstream._modules.ctc import greedy_decode, prefix_beam_search


def collapse(path: tuple[int, ...], blank: int = 0) -> tuple[int, ...]:
    out = []
    for i, t in enumerate(path):
        if t != blank and (i == 0 or t != path[i - 1]):
            out.append(t)
    return tuple(out)


def brute_force(log_probs: np.ndarray) -> dict[tuple[int, ...], float]:
    """log P(labels) summed over every alignment (V^T paths)."""
    totals: dict[tuple[int, ...], float] = {}
    T, V = log_probs.shape
    for path in itertools.product(range(V), repeat=T):
        score = float(sum(log_probs[t, v] for t, v in enumerate(path)))
        key = collapse(path)
        totals[key] = float(np.logaddexp(totals.get(key, -np.inf), score))
    return totals


def random_log_probs(T: int, V: int, seed: int, sharpness: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (sharpness * torch.randn(T, V, generator=g, dtype=torch.float64)).log_softmax(-1)


def test_greedy_merges_repeats_and_drops_blanks():
    ids = [1, 1, 0, 1, 2, 2, 0, 0, 3]
    lp = torch.full((len(ids), 4), -10.0)
    lp[torch.arange(len(ids)), torch.tensor(ids)] = 0.0
    assert greedy_decode(lp) == [1, 1, 2, 3]
    assert greedy_decode(torch.zeros(0, 4)) == []


@pytest.mark.parametrize("seed", range(6))
def test_beam_search_is_exact_with_a_wide_beam(seed):
    lp = random_log_probs(T=5, V=3, seed=seed)
    truth = brute_force(lp.numpy())
    results = prefix_beam_search(lp, beam=1000)
    assert len(results) == len(truth)
    for labels, score in results:
        assert score == pytest.approx(truth[labels], abs=1e-9)
    best = max(truth, key=truth.get)
    assert results[0][0] == best


def test_beam_search_finds_what_greedy_misses():
    # frame-wise best is blank everywhere, but "1" summed over its alignments is more likely
    lp = torch.tensor([[0.4, 0.35, 0.25], [0.4, 0.35, 0.25]], dtype=torch.float64).log()
    assert greedy_decode(lp) == []
    truth = brute_force(lp.numpy())
    assert truth[(1,)] > truth[()]
    assert prefix_beam_search(lp, beam=4)[0][0] == (1,)


@pytest.mark.parametrize("seed", range(4))
def test_beam_search_equals_greedy_on_peaked_outputs(seed):
    lp = random_log_probs(T=40, V=8, seed=seed, sharpness=30.0)
    assert list(prefix_beam_search(lp, beam=5)[0][0]) == greedy_decode(lp)


def test_narrow_beam_keeps_at_most_beam_hypotheses():
    lp = random_log_probs(T=12, V=6, seed=3)
    results = prefix_beam_search(lp, beam=3, token_beam=2)
    assert 1 <= len(results) <= 3
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True)


def test_word_scorer_changes_the_ranking():
    lp = torch.tensor([[0.1, 0.5, 0.4]] * 1, dtype=torch.float64).log()
    plain = prefix_beam_search(lp, beam=3)
    assert plain[0][0] == (1,)
    biased = prefix_beam_search(lp, beam=3, word_scorer=lambda prefix, token: 5.0 if token == 2 else 0.0)
    assert biased[0][0] == (2,)


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match=r"\[T, V\]"):
        prefix_beam_search(torch.zeros(3))
    with pytest.raises(ValueError, match="beam"):
        prefix_beam_search(torch.zeros(3, 2), beam=0)
