"""Frame-level labels meet upstream frames of another rate.

Alignments are stored at a fixed label rate (10 ms = 160 samples); an upstream frame of
``upstream_rate`` samples takes the label at its centre. Frames past the end of the
alignment (centred STFT front ends give one more frame) are dropped from the loss.
"""
from __future__ import annotations

import torch


def labels_at_upstream_rate(labels: torch.Tensor, num_frames: int, upstream_rate: int,
                            label_rate: int = 160) -> tuple[torch.Tensor, torch.Tensor]:
    """``(labels per upstream frame, valid mask)`` for ``num_frames`` frames of one utterance."""
    centres = torch.arange(num_frames, device=labels.device) * upstream_rate + upstream_rate // 2
    index = torch.div(centres, label_rate, rounding_mode="floor")
    valid = index < len(labels)
    return labels[index.clamp(max=len(labels) - 1)], valid
