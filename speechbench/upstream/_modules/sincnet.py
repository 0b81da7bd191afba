"""SincNet band-pass convolution (Ravanelli & Bengio, 2018) as PASE's ``SincConv_fast``.

Learned parameters are only each filter's low cut-off and band width (``low_hz_``,
``band_hz_``, shape ``[out_channels, 1]``, in Hz); the filters are rebuilt from them on every
call: a windowed difference of two sinc low-passes, normalised by twice the band width.
Window, time axis and the 'SAME' reflect padding follow PASE exactly, because a released
PASE+ file only stores the two parameters.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _to_mel(hz: np.ndarray | float) -> np.ndarray | float:
    return 2595 * np.log10(1 + hz / 700)


def _to_hz(mel: np.ndarray | float) -> np.ndarray | float:
    return 700 * (10 ** (mel / 2595) - 1)


class SincConv(nn.Module):
    """1 input channel -> ``out_channels`` band-pass filters of odd ``kernel_size``."""

    def __init__(self, out_channels: int, kernel_size: int, stride: int = 1, sample_rate: int = 16000,
                 pad_mode: str = "reflect", min_low_hz: float = 50, min_band_hz: float = 50) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.kernel_size = kernel_size + 1 if kernel_size % 2 == 0 else kernel_size
        self.stride, self.sample_rate, self.pad_mode = stride, sample_rate, pad_mode
        self.min_low_hz, self.min_band_hz = min_low_hz, min_band_hz
        mel = np.linspace(_to_mel(30), _to_mel(sample_rate / 2 - (min_low_hz + min_band_hz)), out_channels + 1)
        hz = _to_hz(mel)
        self.low_hz_ = nn.Parameter(torch.tensor(hz[:-1], dtype=torch.float32).view(-1, 1))
        self.band_hz_ = nn.Parameter(torch.tensor(np.diff(hz), dtype=torch.float32).view(-1, 1))
        half = self.kernel_size // 2
        n_lin = torch.linspace(0, self.kernel_size / 2 - 1, steps=half)
        self.register_buffer("window_", 0.54 - 0.46 * torch.cos(2 * math.pi * n_lin / self.kernel_size),
                             persistent=False)
        n = (self.kernel_size - 1) / 2.0
        self.register_buffer("n_", 2 * math.pi * torch.arange(-n, 0).view(1, -1) / sample_rate, persistent=False)

    def filters(self) -> torch.Tensor:
        """``[out_channels, 1, kernel_size]`` band-pass filters from the current parameters."""
        low = self.min_low_hz + self.low_hz_.abs()
        high = torch.clamp(low + self.min_band_hz + self.band_hz_.abs(), self.min_low_hz, self.sample_rate / 2)
        band = (high - low)[:, 0]
        left = (torch.sin(high @ self.n_) - torch.sin(low @ self.n_)) / (self.n_ / 2) * self.window_
        center = 2 * band.view(-1, 1)
        band_pass = torch.cat([left, center, left.flip(dims=[1])], dim=1) / (2 * band[:, None])
        return band_pass.view(self.out_channels, 1, self.kernel_size)

    def pad_sizes(self) -> tuple[int, int]:
        """PASE's 'SAME' padding: one sample less on the left when strided."""
        half = self.kernel_size // 2
        return (half - 1, half) if self.stride > 1 else (half, half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 1, L]`` -> ``[B, out_channels, T]``."""
        x = F.pad(x, self.pad_sizes(), mode=self.pad_mode)
        return F.conv1d(x, self.filters(), stride=self.stride)
