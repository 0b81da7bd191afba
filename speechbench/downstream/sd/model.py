"""The SUPERB diarization head and its permutation-invariant loss."""
from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from speechbench.downstream._modules.rnn import PaddedLSTM


class DiarizationHead(nn.Module):
    """LSTM layers (s3prl: one unidirectional layer of 512) then ``Linear(-> speakers)``; a linear
    head when ``rnn_layers`` is 0. Padding never changes an utterance's outputs."""

    def __init__(self, input_dim: int, num_speakers: int, rnn_layers: int = 1, hidden_size: int = 512,
                 bidirectional: bool = False) -> None:
        super().__init__()
        self.rnn = PaddedLSTM(input_dim, hidden_size, rnn_layers, bidirectional) if rnn_layers > 0 else None
        self.output = nn.Linear(self.rnn.output_size if self.rnn is not None else input_dim, num_speakers)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``[B, T, D]`` -> ``[B, T, speakers]`` logits."""
        if self.rnn is not None:
            x = self.rnn(x, lengths)
        return self.output(x)


def pit_bce(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Permutation-invariant BCE (EEND; s3prl ``pit_loss``): per utterance, the speaker order of
    ``labels`` with the lowest summed frame loss (mean over speakers); summed over the batch and
    divided by the number of valid frames. Shapes ``[B, T, S]``, ``[B, T, S]``, ``[B, T]``."""
    weights = mask.to(logits.dtype)
    per_order = []
    for order in itertools.permutations(range(labels.shape[-1])):
        bce = F.binary_cross_entropy_with_logits(logits, labels[..., list(order)], reduction="none").mean(-1)
        per_order.append((bce * weights).sum(1))
    best = torch.stack(per_order, dim=1).min(dim=1).values
    return best.sum() / weights.sum().clamp(min=1)
