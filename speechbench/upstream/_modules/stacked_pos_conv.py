"""data2vec's positional convolution: a stack of grouped convs instead of one wide one.

fairseq builds it when ``pos_conv_depth > 1`` (data2vec audio: 5 convs of kernel
``max(3, conv_pos // depth)`` = 19): each block is conv (same padding, last frame dropped for
even kernels) -> LayerNorm over channels without affine weights -> GELU. It replaces
torchaudio's ``ConvolutionalPositionalEmbedding`` inside the transformer (same call:
``[B, T, C] -> [B, T, C]``, the caller adds it to its input).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class StackedPositionalConv(nn.Module):
    """``depth`` blocks of conv -> LayerNorm (no affine) -> GELU over ``[B, T, C]``."""

    def __init__(self, embed_dim: int, kernel_size: int, groups: int, depth: int) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.kernel_size = kernel_size
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, embed_dim, kernel_size, padding=kernel_size // 2,
                                             groups=groups) for _ in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(1, 2)
        for conv in self.convs:
            x = conv(x)
            if self.kernel_size % 2 == 0:
                x = x[..., :-1]
            x = F.gelu(F.layer_norm(x.transpose(1, 2), (self.embed_dim,)).transpose(1, 2))
        return x.transpose(1, 2)
