"""Quasi-recurrent network (Bradbury et al., 2017) in plain torch, layout of salesforce ``torchqrnn``.

PASE+ was trained with torchqrnn, whose forget-mult step is a CUDA kernel. This is the same
computation (its CPU fallback) so PASE+ files load and run anywhere:

    source_t = [x_t, x_{t-1}]            (window 2; x_{-1} = 0) or x_t (window 1)
    z, f, o  = split(linear(source_t))   z = tanh, f = sigmoid, o = sigmoid
    c_t      = f_t * z_t + (1 - f_t) * c_{t-1}    (c_{-1} absent: c_0 = f_0 * z_0)
    h_t      = o_t * c_t

Parameters: ``layers.{i}.linear.{weight,bias}`` with weight ``[3 * hidden, window * input]``.
Time-major input ``[T, B, C]`` like torchqrnn. Causal: padding after an utterance never
changes its frames.
"""
from __future__ import annotations

import torch
from torch import nn


class QRNNLayer(nn.Module):
    """One QRNN layer with an output gate and no zoneout (inference)."""

    def __init__(self, input_size: int, hidden_size: int, window: int = 1) -> None:
        super().__init__()
        if window not in (1, 2):
            raise ValueError(f"QRNN window must be 1 or 2, got {window}")
        self.window, self.hidden_size = window, hidden_size
        self.linear = nn.Linear(input_size * window, 3 * hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, input]`` -> ``[T, B, hidden]``."""
        if self.window == 2:
            previous = torch.cat([torch.zeros_like(x[:1]), x[:-1]], dim=0)
            x = torch.cat([x, previous], dim=2)
        z, f, o = self.linear(x).chunk(3, dim=2)
        z, f = torch.tanh(z), torch.sigmoid(f)
        fz = f * z
        keep = 1 - f
        c = [fz[0]]
        for t in range(1, fz.shape[0]):
            c.append(fz[t] + keep[t] * c[-1])
        return torch.sigmoid(o) * torch.stack(c)


class QRNN(nn.Module):
    """Stacked :class:`QRNNLayer` (torchqrnn's ``QRNN``; no dropout at inference)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, window: int = 1) -> None:
        super().__init__()
        self.layers = nn.ModuleList(QRNNLayer(input_size if i == 0 else hidden_size, hidden_size, window)
                                    for i in range(num_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x
