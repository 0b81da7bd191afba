"""Subsequence DTW for query-by-example spoken term detection, vectorised in torch.

Follows the SUPERB QbE reference (s3prl ``quesst14_dtw``, default config):
- frame cost ``exp(cosine distance) - 1`` (``cosine_exp``), where cosine distance = 1 - cos;
- each query frame's row of costs min-max normalised over the document frames (``minmax_norm``);
- dtw-python's ``asymmetric`` step pattern with open begin and open end: every query frame
  is used exactly once and the document advances 0, 1 or 2 frames per query frame,
  ``g[i, j] = d[i, j] + min(g[i-1, j], g[i-1, j-1], g[i-1, j-2])``, ``g[0, j] = d[0, j]``;
- match cost = min_j g[Tq-1, j] / Tq (dtw-python's ``normalizedDistance``), score = -cost;
- scores z-normalised per query over all documents (``znorm_scores``); s3prl then says YES
  above 2.0 and features are standardised over all queries and documents first
  (``standardize_features``). s3prl gives queries shorter than 5 frames a score of 0.

The recursion runs one vectorised step per query frame over a padded batch of documents:
no Python loop over document frames.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

_EPS = 1e-9


@dataclass(frozen=True)
class DtwMatch:
    """Best match per document: normalised cost (lower = closer) and inclusive (start, end) frames."""

    cost: torch.Tensor
    start: torch.Tensor
    end: torch.Tensor

    @property
    def score(self) -> torch.Tensor:
        """Higher is a better match (the negated cost, as in the reference)."""
        return -self.cost


def pad_docs(docs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack [T_i, D] documents into a zero-padded [B, T_max, D] batch and their lengths."""
    if not docs:
        raise ValueError("no documents to pad")
    lengths = torch.tensor([d.shape[0] for d in docs], dtype=torch.long)
    return torch.nn.utils.rnn.pad_sequence(docs, batch_first=True), lengths


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x.float() / x.float().norm(dim=-1, keepdim=True).clamp_min(_EPS)


def _unit_cost(q_unit: torch.Tensor, docs_unit: torch.Tensor) -> torch.Tensor:
    n_docs, n_frames, dim = docs_unit.shape
    cost = (q_unit @ docs_unit.reshape(-1, dim).T).clamp_(-1.0, 1.0)
    cost.neg_().add_(1.0).exp_().sub_(1.0)  # in place: fresh large buffers cost more than the exp
    return cost.reshape(-1, n_docs, n_frames)


def cosine_exp_cost(query: torch.Tensor, docs: torch.Tensor) -> torch.Tensor:
    """[Tq, B, Td] frame costs exp(1 - cos(q_i, x_j)) - 1, in [0, e^2 - 1].

    Query-frame-major, so each DP step reads one contiguous [B, Td] slice.
    """
    return _unit_cost(_unit(query), _unit(docs))


def _check(query: torch.Tensor, docs: torch.Tensor, doc_lengths: torch.Tensor) -> None:
    if query.dim() != 2 or docs.dim() != 3:
        raise ValueError(f"query must be [Tq, D] and docs [B, Td, D], got {tuple(query.shape)} and {tuple(docs.shape)}")
    if query.shape[0] == 0 or docs.shape[1] == 0:
        raise ValueError("query and documents need at least one frame")
    if query.shape[1] != docs.shape[2]:
        raise ValueError(f"query dim {query.shape[1]} != document dim {docs.shape[2]}: use the same layer for both")
    if doc_lengths.shape != (docs.shape[0],) or doc_lengths.min() < 1 or doc_lengths.max() > docs.shape[1]:
        raise ValueError(f"doc_lengths must be [B] with values in [1, {docs.shape[1]}], got {doc_lengths.tolist()}")


def subsequence_dtw(
    query: torch.Tensor,
    docs: torch.Tensor,
    doc_lengths: torch.Tensor | None = None,
    minmax_norm: bool = True,
) -> DtwMatch:
    """Best subsequence match of ``query`` [Tq, D] in each document of ``docs`` [B, Td, D].

    ``doc_lengths`` [B] marks the real frames of a padded batch (default: all frames real).
    """
    if doc_lengths is None:
        doc_lengths = torch.full((docs.shape[0],), docs.shape[1], dtype=torch.long)
    _check(query, docs, doc_lengths)
    return _align(cosine_exp_cost(query, docs), doc_lengths, minmax_norm)


def _align(dist: torch.Tensor, doc_lengths: torch.Tensor, minmax_norm: bool) -> DtwMatch:
    """The DP over a [Tq, B, Td] cost tensor (modified in place), one vectorised step per query frame."""
    n_query, n_docs, n_frames = dist.shape
    pad = torch.arange(n_frames)[None, None, :] >= doc_lengths.to(torch.long)[None, :, None]
    if minmax_norm:
        hi = dist.masked_fill_(pad, float("-inf")).amax(dim=2, keepdim=True)
        lo = dist.masked_fill_(pad, float("inf")).amin(dim=2, keepdim=True)
        dist.sub_(lo).div_((hi - lo).clamp_min(_EPS))  # padded frames stay +inf: never matched
    else:
        dist.masked_fill_(pad, float("inf"))

    # acc/start live at [:, 2:] of these buffers so [:, 1:-1] and [:, :-2] are the j-1 and j-2
    # predecessors; the two leading columns stay +inf and are never chosen.
    acc_buf = torch.full((n_docs, n_frames + 2), float("inf"))
    start_buf = torch.zeros((n_docs, n_frames + 2), dtype=torch.long)
    acc_buf[:, 2:] = dist[0]
    start_buf[:, 2:] = torch.arange(n_frames)
    for i in range(1, n_query):
        best, start = acc_buf[:, 2:].clone(), start_buf[:, 2:].clone()
        for shift in (1, 2):  # strict <: on ties the predecessor j beats j-1, which beats j-2
            cand = acc_buf[:, 2 - shift : n_frames + 2 - shift]
            better = cand < best
            best = torch.where(better, cand, best)
            start = torch.where(better, start_buf[:, 2 - shift : n_frames + 2 - shift], start)
        acc_buf[:, 2:] = best.add_(dist[i])
        start_buf[:, 2:] = start
    acc, start = acc_buf[:, 2:], start_buf[:, 2:]
    cost, end = acc.min(dim=1)
    return DtwMatch(cost=cost / n_query, start=start.gather(1, end[:, None]).squeeze(1), end=end)


def dtw_scores(
    queries: list[torch.Tensor], docs: list[torch.Tensor], batch_size: int = 64, minmax_norm: bool = True
) -> torch.Tensor:
    """[Q, N] match scores (higher = better) of every query against every document.

    Documents are batched in length order so padding stays small; the result keeps input order.
    """
    if not queries or not docs:
        raise ValueError(f"need at least one query and one document, got {len(queries)} and {len(docs)}")
    order = sorted(range(len(docs)), key=lambda k: docs[k].shape[0])
    scores = torch.empty(len(queries), len(docs))
    for lo in range(0, len(order), batch_size):
        idx = order[lo : lo + batch_size]
        padded, lengths = pad_docs([docs[k] for k in idx])
        for query in queries:
            _check(query, padded, lengths)
        padded_unit = _unit(padded)  # once per batch: as costly as the query's matrix product
        for q, query in enumerate(queries):
            scores[q, idx] = _align(_unit_cost(_unit(query), padded_unit), lengths, minmax_norm).score
    return scores


def znorm_scores(scores: torch.Tensor) -> torch.Tensor:
    """Z-normalise each query's row of [Q, N] scores over documents, so one threshold fits all queries."""
    if scores.dim() != 2 or scores.shape[1] < 2:
        raise ValueError(f"scores must be [Q, N] with N >= 2 documents, got {tuple(scores.shape)}")
    mean = scores.mean(dim=1, keepdim=True)
    std = scores.std(dim=1, unbiased=False, keepdim=True).clamp_min(_EPS)
    return (scores - mean) / std


def standardize_features(
    queries: list[torch.Tensor], docs: list[torch.Tensor]
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per-dimension mean/std standardisation over all query and document frames (s3prl default)."""
    frames = torch.cat([*queries, *docs])
    mean, std = frames.mean(0), frames.std(0).clamp_min(_EPS)
    return [(q - mean) / std for q in queries], [(d - mean) / std for d in docs]
