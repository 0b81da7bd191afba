import math

import pytest
import torch

from speechbench.metrics.dtw import (
    cosine_exp_cost,
    dtw_scores,
    pad_docs,
    standardize_features,
    subsequence_dtw,
    znorm_scores,
)


def reference_dtw(query, doc, minmax_norm=True):
    """Plain O(Tq * Td) loops: asymmetric steps (i-1, j), (i-1, j-1), (i-1, j-2), open begin/end."""
    q, x = query.tolist(), doc.tolist()

    def cos_dist(a, b):
        dot = sum(u * v for u, v in zip(a, b))
        na, nb = math.sqrt(sum(u * u for u in a)), math.sqrt(sum(v * v for v in b))
        return 1.0 - dot / (na * nb)

    d = [[math.exp(cos_dist(a, b)) - 1.0 for b in x] for a in q]
    if minmax_norm:
        d = [[(v - min(row)) / max(max(row) - min(row), 1e-9) for v in row] for row in d]
    n, m = len(q), len(x)
    g = [[math.inf] * m for _ in range(n)]
    start = [[0] * m for _ in range(n)]
    for j in range(m):
        g[0][j], start[0][j] = d[0][j], j
    for i in range(1, n):
        for j in range(m):
            best, arg = math.inf, None
            for step in (0, 1, 2):
                if j - step >= 0 and g[i - 1][j - step] < best:
                    best, arg = g[i - 1][j - step], j - step
            g[i][j] = d[i][j] + best
            start[i][j] = start[i - 1][arg]
    end = min(range(m), key=lambda j: g[n - 1][j])
    return g[n - 1][end] / n, start[n - 1][end], end


@pytest.mark.parametrize("minmax_norm", [True, False])
def test_matches_python_reference_on_padded_batch(minmax_norm):
    gen = torch.Generator().manual_seed(0)
    query = torch.randn(7, 5, generator=gen)
    docs = [torch.randn(n, 5, generator=gen) for n in (30, 12, 4, 21)]
    padded, lengths = pad_docs(docs)
    match = subsequence_dtw(query, padded, lengths, minmax_norm=minmax_norm)
    for b, doc in enumerate(docs):
        cost, start, end = reference_dtw(query, doc, minmax_norm)
        assert match.cost[b].item() == pytest.approx(cost, rel=1e-5, abs=1e-6)
        assert (match.start[b].item(), match.end[b].item()) == (start, end)
        assert end < lengths[b]
        alone = subsequence_dtw(query, doc[None], minmax_norm=minmax_norm)
        assert alone.cost.item() == pytest.approx(match.cost[b].item(), rel=1e-6)


def test_finds_a_planted_query():
    gen = torch.Generator().manual_seed(1)
    query = torch.randn(10, 8, generator=gen)
    doc = torch.cat([torch.randn(40, 8, generator=gen), query, torch.randn(25, 8, generator=gen)])
    match = subsequence_dtw(query, doc[None])
    assert (match.start.item(), match.end.item()) == (40, 49)
    assert match.cost.item() == pytest.approx(0.0, abs=1e-6)
    assert match.score.item() == pytest.approx(0.0, abs=1e-6)


def test_cost_range_and_identity():
    x = torch.randn(3, 4)
    cost = cosine_exp_cost(x, torch.stack([x, -x]))
    assert cost.shape == (3, 2, 3)  # [Tq, B, Td]
    assert torch.allclose(cost[:, 0].diagonal(), torch.zeros(3), atol=1e-6)
    assert torch.allclose(cost[:, 1].diagonal(), torch.full((3,), math.e**2 - 1), atol=1e-5)


def test_dtw_scores_keeps_document_order_and_znorm():
    gen = torch.Generator().manual_seed(2)
    queries = [torch.randn(6, 4, generator=gen), torch.randn(9, 4, generator=gen)]
    docs = [torch.randn(n, 4, generator=gen) for n in (20, 8, 35, 14, 27)]
    scores = dtw_scores(queries, docs, batch_size=2)
    for q, query in enumerate(queries):
        for k, doc in enumerate(docs):
            assert scores[q, k].item() == pytest.approx(-reference_dtw(query, doc)[0], rel=1e-5, abs=1e-6)
    z = znorm_scores(scores)
    assert torch.allclose(z.mean(1), torch.zeros(2), atol=1e-5)
    assert torch.allclose(z.std(1, unbiased=False), torch.ones(2), atol=1e-5)


def test_standardize_features():
    qs, ds = standardize_features([torch.randn(5, 3) * 4 + 2], [torch.randn(9, 3) * 4 + 2])
    frames = torch.cat([*qs, *ds])
    assert torch.allclose(frames.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(frames.std(0), torch.ones(3), atol=1e-5)


def test_input_errors():
    with pytest.raises(ValueError, match="same layer"):
        subsequence_dtw(torch.randn(4, 3), torch.randn(2, 10, 5))
    with pytest.raises(ValueError, match="doc_lengths"):
        subsequence_dtw(torch.randn(4, 3), torch.randn(2, 10, 3), torch.tensor([10, 11]))
    with pytest.raises(ValueError, match="at least one frame"):
        subsequence_dtw(torch.randn(0, 3), torch.randn(2, 10, 3))
    with pytest.raises(ValueError, match="N >= 2"):
        znorm_scores(torch.randn(3, 1))
    with pytest.raises(ValueError, match="at least one query"):
        dtw_scores([], [torch.randn(3, 2)])
