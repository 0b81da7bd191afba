"""data2vec's positional convolution: a stack of grouped convs instead of one wide one.

fairseq builds it when ``pos_conv_depth > 1`` (data2vec audio: 5 convs of kernel
``max(3, conv_pos // depth)`` = 19): each block is conv (same padding, last frame dropped for
even kernels) -> LayerNorm over channels without affine weights -> GELU. It replaces
torchaudio's ``ConvolutionalPositionalEmbedding`` inside the transformer (``[B, T, C] ->
[B, T, C]``, the caller adds it to its input).

Padded frames are zeroed again after every block (``valid``): fairseq zeroes them only before
the first conv, so in its padded batches the later convs see the earlier blocks' output on
padding and a short utterance's last frames change with the batch. Ours equal fairseq's
single-utterance output (where the convs' zero padding is all there is beyond the end).
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

    def forward(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        """``x [B, T, C]``; ``valid`` bool ``[B, T]`` (None: nothing padded)."""
        keep = None if valid is None else valid[:, None, :].to(x.dtype)
        x = x.transpose(1, 2)
        for conv in self.convs:
            x = conv(x)
            if self.kernel_size % 2 == 0:
                x = x[..., :-1]
            x = F.gelu(F.layer_norm(x.transpose(1, 2), (self.embed_dim,)).transpose(1, 2))
            if keep is not None:
                x = x * keep
        return x.transpose(1, 2)
