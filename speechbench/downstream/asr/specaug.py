"""SpecAugment on upstream features (training only), with SUPERB ASR's defaults.

Applied per utterance within its own length, so padding is never masked or warped into the
signal. Time warp moves one random point of the time axis by up to ``time_warp_window``
frames (linear interpolation on both sides); time and frequency masks zero random bands of
widths drawn from the ranges. Randomness comes from torch's global generator, which the
runner seeds and saves in checkpoints, so a resumed run draws the same masks.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from speechbench.errors import ConfigError

SPECAUG = {"apply": True, "apply_time_warp": True, "apply_time_mask": True, "apply_freq_mask": True,
           "time_warp_window": 5, "time_mask_width_range": [0, 40], "freq_mask_width_range": [0, 50],
           "num_time_mask": 2, "num_freq_mask": 4}


def time_warp(x: torch.Tensor, window: int) -> torch.Tensor:
    """``[T, D]`` with the frame at a random centre moved by up to ``window`` frames."""
    length = x.shape[0]
    if window < 1 or length <= 2 * window + 1:
        return x
    centre = int(torch.randint(window, length - window, ()))
    shifted = centre + int(torch.randint(-window, window + 1, ()))
    shifted = min(max(shifted, 1), length - 1)
    left = F.interpolate(x[:centre].T[None], size=shifted, mode="linear", align_corners=False)[0].T
    right = F.interpolate(x[centre:].T[None], size=length - shifted, mode="linear", align_corners=False)[0].T
    return torch.cat([left, right])


def _mask(x: torch.Tensor, dim: int, width_range: list[int], count: int) -> torch.Tensor:
    size = x.shape[dim]
    for _ in range(count):
        width = int(torch.randint(width_range[0], width_range[1] + 1, ()))
        width = min(width, size)
        if width == 0:
            continue
        start = int(torch.randint(0, size - width + 1, ()))
        index = torch.arange(start, start + width, device=x.device)
        x = x.index_fill(dim, index, 0.0)
    return x


class SpecAugment(nn.Module):
    """Warp and mask each utterance of a padded batch ``[B, T, D]`` inside its length."""

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = config
        for key in ("time_mask_width_range", "freq_mask_width_range"):
            low_high = config[key]
            if len(low_high) != 2 or not 0 <= low_high[0] <= low_high[1]:
                raise ConfigError(f"specaug.{key} must be [min, max] with 0 <= min <= max, got {low_high}")

    def forward(self, padded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        c = self.config
        if not self.training or not c["apply"]:
            return padded
        out = padded.clone()
        for i, n in enumerate(lengths.tolist()):
            x = padded[i, :n]
            if c["apply_time_warp"]:
                x = time_warp(x, c["time_warp_window"])
            if c["apply_time_mask"]:
                x = _mask(x, 0, c["time_mask_width_range"], c["num_time_mask"])
            if c["apply_freq_mask"]:
                x = _mask(x, 1, c["freq_mask_width_range"], c["num_freq_mask"])
            out[i, :n] = x
        return out
