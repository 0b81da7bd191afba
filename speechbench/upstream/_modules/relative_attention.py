"""Self-attention with WavLM's (optionally gated) relative position bias.

WavLM (Chen et al., 2022) and UniSpeech-SAT add a learned bias per head and relative
offset to the attention logits: offsets are bucketed (T5-style, half the buckets for each
direction, exact below ``buckets // 4``, logarithmic up to ``max_distance``), only the first
layer holds the table, and the bias it computes is handed to every later layer. The gated
form scales the bias per query with ``a * (b * const - 1) + 2``, where ``a, b`` are
sigmoids of a small projection of that head's slice of the layer input.

The module plugs into torchaudio's ``EncoderLayer`` (same call signature as its
``SelfAttention``, whose separate q/k/v projections it keeps, so checkpoints map key by key).
The bias depends on offsets only, so padding a batch cannot change a valid frame's bias.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torchaudio.models.wav2vec2.components import SelfAttention


def relative_position_buckets(length: int, num_buckets: int, max_distance: int,
                              device: torch.device | None = None) -> torch.Tensor:
    """Bucket index of every (query, key) offset ``key - query``: ``LongTensor[length, length]``."""
    positions = torch.arange(length, device=device)
    offset = positions[None, :] - positions[:, None]
    half = num_buckets // 2
    exact = half // 2
    distance = offset.abs()
    # log(0) warns nowhere here: small distances are taken from the other branch.
    far = exact + (torch.log(distance.clamp(min=1).float() / exact) / math.log(max_distance / exact)
                   * (half - exact)).long()
    bucket = torch.where(distance < exact, distance, far.clamp(max=half - 1))
    return bucket + (offset > 0).long() * half


class RelativePositionSelfAttention(SelfAttention):
    """torchaudio's ``SelfAttention`` plus WavLM's relative position bias (see the module doc)."""

    def __init__(self, embed_dim: int, num_heads: int, has_bias_table: bool, num_buckets: int,
                 max_distance: int, gated: bool) -> None:
        super().__init__(embed_dim, num_heads)
        self.num_buckets, self.max_distance = num_buckets, max_distance
        self.rel_attn_embed = nn.Embedding(num_buckets, num_heads) if has_bias_table else None
        self.gated = gated
        if gated:
            self.gru_rel_pos_linear = nn.Linear(self.head_dim, 8)
            self.gru_rel_pos_const = nn.Parameter(torch.ones(1, num_heads, 1, 1))

    def position_bias(self, length: int) -> torch.Tensor:
        """``[heads, length, length]`` bias from the table (first layer only)."""
        buckets = relative_position_buckets(length, self.num_buckets, self.max_distance,
                                            self.rel_attn_embed.weight.device)
        return self.rel_attn_embed(buckets).permute(2, 0, 1)

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor | None = None,
                position_bias: torch.Tensor | None = None,
                key_padding_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [B, T, D]``; ``attention_mask`` bool ``[B, 1, T, T]`` (True: attend) or None.

        Returns the attention output and the ungated bias, for the next layer.
        """
        batch, length, _ = x.shape
        if position_bias is None:
            if self.rel_attn_embed is None:
                raise RuntimeError("relative position bias: the first layer must hold the bias table")
            position_bias = self.position_bias(length)
        bias = position_bias[None]  # [1, H, T, T]
        if self.gated:
            heads = x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)
            gate_a, gate_b = torch.sigmoid(
                self.gru_rel_pos_linear(heads).view(batch, self.num_heads, length, 2, 4).sum(-1)).chunk(2, dim=-1)
            bias = (gate_a * (gate_b * self.gru_rel_pos_const - 1.0) + 2.0) * bias  # [B, H, T, T]
        if attention_mask is not None:
            bias = bias.masked_fill(~attention_mask, float("-inf"))
        shape = (batch, length, self.num_heads, self.head_dim)
        q = self.q_proj(x).view(shape).transpose(1, 2)
        k = self.k_proj(x).view(shape).transpose(1, 2)
        v = self.v_proj(x).view(shape).transpose(1, 2)
        out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, -1)), position_bias
