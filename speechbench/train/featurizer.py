"""Turns an upstream's hidden states into the one feature sequence a head reads.

Either a learnable softmax-weighted sum over all layers (the SUPERB protocol) or one
chosen layer. It is trained with the head and saved in the checkpoint, so the learned
layer weights can be read back (which layers a task uses).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from speechbench.errors import ConfigError


class Featurizer(nn.Module):
    """``layer=None``: weighted sum of all layers; ``layer=i``: index into the given layers."""

    def __init__(self, dims: list[int], layer: int | None = None, layer_norm: bool = False) -> None:
        super().__init__()
        self.num_layers = len(dims)
        self.layer = layer
        self.layer_norm = layer_norm
        if layer is not None:
            if not -len(dims) <= layer < len(dims):
                raise ConfigError(f"layer {layer} does not exist: the upstream has {len(dims)} hidden states (0..{len(dims) - 1})")
            self.output_dim = dims[layer]
        else:
            if len(set(dims)) != 1:
                raise ConfigError(f"the weighted sum needs hidden states of one size, got {dims}; choose one with -l/--layer")
            self.output_dim = dims[0]
        self.weights = nn.Parameter(torch.zeros(len(dims)))

    def layer_weights(self) -> torch.Tensor:
        """Softmax weights per layer (what the report plots)."""
        return F.softmax(self.weights.detach(), dim=0)

    def forward(self, hidden_states: list[torch.Tensor]) -> torch.Tensor:
        if len(hidden_states) != self.num_layers:
            raise ValueError(f"featurizer expects {self.num_layers} hidden states, got {len(hidden_states)}")
        if self.layer is not None:
            return hidden_states[self.layer]
        stacked = torch.stack(hidden_states, dim=0)
        if self.layer_norm:
            stacked = F.layer_norm(stacked, stacked.shape[-1:])
        weights = F.softmax(self.weights, dim=0).to(stacked.dtype)
        return (weights.view(-1, *[1] * (stacked.dim() - 1)) * stacked).sum(0)
