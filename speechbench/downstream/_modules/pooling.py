"""Utterance pooling over padded batches; padding never changes an utterance's vector."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from speechbench.errors import ConfigError


def pad_features(features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """``[B, T, D]`` zero-padded batch and its ``[B, T]`` validity mask."""
    lengths = torch.tensor([len(f) for f in features], device=features[0].device)
    padded = pad_sequence(features, batch_first=True)
    mask = torch.arange(padded.shape[1], device=padded.device)[None] < lengths[:, None]
    return padded, mask


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over valid frames: ``[B, T, D]``, ``[B, T]`` -> ``[B, D]``."""
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp(min=1)


def masked_mean_std(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean and standard deviation over valid frames, concatenated: ``[B, 2D]``."""
    m = mask.unsqueeze(-1).to(x.dtype)
    count = m.sum(1).clamp(min=1)
    mean = (x * m).sum(1) / count
    var = (((x - mean.unsqueeze(1)) ** 2) * m).sum(1) / count
    return torch.cat([mean, var.clamp(min=1e-8).sqrt()], dim=-1)


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Maximum over valid frames: ``[B, T, D]``, ``[B, T]`` -> ``[B, D]`` (did a pattern occur anywhere)."""
    return x.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)


class AttentiveStatsPool(nn.Module):
    """Attentive statistics pooling (Okabe et al., 2018): attention-weighted mean and std."""

    def __init__(self, dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.attention = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.attention(x).squeeze(-1).masked_fill(~mask, float("-inf"))
        w = torch.softmax(scores, dim=1).unsqueeze(-1)
        mean = (w * x).sum(1)
        var = (w * (x - mean.unsqueeze(1)) ** 2).sum(1)
        return torch.cat([mean, var.clamp(min=1e-8).sqrt()], dim=-1)


class UtterancePooling(nn.Module):
    """``mean`` (SUPERB), ``max``, ``mean_std`` or ``attentive`` (statistics) pooling; ``output_dim`` says its size."""

    def __init__(self, dim: int, kind: str = "mean") -> None:
        super().__init__()
        if kind not in ("mean", "max", "mean_std", "attentive"):
            raise ConfigError(f"pooling '{kind}' is not one of mean, max, mean_std, attentive")
        self.kind = kind
        self.attentive = AttentiveStatsPool(dim) if kind == "attentive" else None
        self.output_dim = dim if kind in ("mean", "max") else 2 * dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.kind == "mean":
            return masked_mean(x, mask)
        if self.kind == "max":
            return masked_max(x, mask)
        if self.kind == "mean_std":
            return masked_mean_std(x, mask)
        return self.attentive(x, mask)
