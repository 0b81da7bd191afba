"""The x-vector head (Snyder et al., 2018) and margin softmax losses for speaker verification.

Every frame-level layer is a "valid" dilated convolution, so an utterance of n frames has
n - context + 1 output frames that see only its own frames; the rest are masked out before
batch normalisation (statistics over real frames only) and pooling. Hence an utterance's
embedding is the same alone or in any padded batch.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from speechbench.downstream._modules.pooling import masked_mean_std, pad_features
from speechbench.errors import ConfigError

# (kernel size, dilation) of the five TDNN layers of the x-vector; the last one is wider.
TDNN_LAYERS = ((5, 1), (3, 2), (3, 3), (1, 1), (1, 1))


def _masked_batch_norm(bn: nn.BatchNorm1d, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """BatchNorm over real frames only; padding stays zero. ``x`` is ``[B, T, C]``."""
    out = torch.zeros_like(x)
    out[mask] = bn(x[mask]).to(x.dtype)
    return out


class XVector(nn.Module):
    """Linear(D -> input_size) -> 5 TDNN layers (``channels`` wide, the last ``stats_channels``)
    -> masked mean+std pooling -> Linear(``embedding_size``); SUPERB: 512, 512, 1500, 512."""

    def __init__(self, input_dim: int, input_size: int = 512, channels: int = 512, stats_channels: int = 1500,
                 embedding_size: int = 512) -> None:
        super().__init__()
        self.project = nn.Linear(input_dim, input_size)
        convs, norms = [], []
        sizes = [input_size] + [channels] * (len(TDNN_LAYERS) - 1) + [stats_channels]
        for (kernel, dilation), c_in, c_out in zip(TDNN_LAYERS, sizes, sizes[1:]):
            convs.append(nn.Conv1d(c_in, c_out, kernel, dilation=dilation))
            norms.append(nn.BatchNorm1d(c_out))
        self.convs, self.norms = nn.ModuleList(convs), nn.ModuleList(norms)
        self.context = 1 + sum((k - 1) * d for k, d in TDNN_LAYERS)
        self.embed = nn.Linear(2 * stats_channels, embedding_size)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Embeddings ``[B, embedding_size]`` of unpadded ``[T_i, D]`` features."""
        padded, mask = pad_features(features)
        x = self.project(padded) * mask.unsqueeze(-1)
        short = self.context - x.shape[1]
        if short > 0:  # utterances shorter than the receptive field see zeros, as if padded
            x = F.pad(x, (0, 0, 0, short))
            mask = F.pad(mask, (0, short))
        lengths = mask.sum(1)
        for conv, norm in zip(self.convs, self.norms):
            x = conv(x.transpose(1, 2)).transpose(1, 2)
            lengths = (lengths - (conv.kernel_size[0] - 1) * conv.dilation[0]).clamp(min=1)
            mask = torch.arange(x.shape[1], device=x.device)[None] < lengths[:, None]
            x = _masked_batch_norm(norm, F.relu(x), mask)
        return self.embed(masked_mean_std(x, mask))


class MarginSoftmax(nn.Module):
    """AM-softmax (additive cosine margin) or AAM-softmax (additive angular margin) loss.

    Logits are ``scale * cos(theta)`` between normalised embeddings and class weights, with
    the margin applied to the target class: ``cos(theta) - m`` (AM) or ``cos(theta + m)`` (AAM).
    """

    def __init__(self, embedding_size: int, num_classes: int, kind: str = "amsoftmax", scale: float = 30.0,
                 margin: float = 0.4) -> None:
        super().__init__()
        if kind not in ("amsoftmax", "aamsoftmax"):
            raise ConfigError(f"asv modelrc.loss '{kind}' is not one of amsoftmax, aamsoftmax")
        self.kind, self.scale, self.margin = kind, scale, margin
        self.weight = nn.Parameter(torch.empty(num_classes, embedding_size))
        nn.init.xavier_normal_(self.weight)

    def cosine(self, embeddings: torch.Tensor) -> torch.Tensor:
        return F.normalize(embeddings, dim=-1) @ F.normalize(self.weight, dim=-1).T

    def forward(self, embeddings: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, cosine logits without margin) for ``[B, E]`` embeddings and ``[B]`` class ids."""
        cos = self.cosine(embeddings)
        onehot = F.one_hot(targets, cos.shape[1]).bool()
        if self.kind == "amsoftmax":
            target_logit = cos - self.margin
        else:
            theta = torch.acos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
            # beyond pi - m, cos(theta + m) stops decreasing: use the CosFace-style fallback there
            target_logit = torch.where(theta + self.margin < math.pi, torch.cos(theta + self.margin),
                                       cos - self.margin * math.sin(self.margin))
        logits = self.scale * torch.where(onehot, target_logit, cos)
        return F.cross_entropy(logits, targets), cos
