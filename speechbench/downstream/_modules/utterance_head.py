"""The SUPERB utterance-classification head (emotion, intent): project, pool with a mask, classify."""
from __future__ import annotations

import torch
from torch import nn

from speechbench.downstream._modules.pooling import UtterancePooling, pad_features


class UtteranceClassifier(nn.Module):
    """``Linear(D -> projector_dim)`` per frame, masked pooling, dropout, ``Linear(-> num_outputs)``.

    ``projector_dim`` 0 pools the features directly. Padding frames are masked out of the
    pooling, so an utterance's logits do not depend on what it is batched with.
    """

    def __init__(self, input_dim: int, num_outputs: int, projector_dim: int = 256, pooling: str = "mean",
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.projector = nn.Linear(input_dim, projector_dim) if projector_dim else nn.Identity()
        self.pooling = UtterancePooling(projector_dim or input_dim, pooling)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(self.pooling.output_dim, num_outputs)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """``[T_i, D]`` tensors, one per utterance -> ``[B, num_outputs]`` logits."""
        padded, mask = pad_features(features)
        pooled = self.pooling(self.projector(padded), mask)
        return self.output(self.dropout(pooled))
