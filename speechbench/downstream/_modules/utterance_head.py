"""The SUPERB utterance-classification head (emotion, intent, ks): project, pool with a mask, classify;
the cross-entropy step and the prediction file of the single-label tasks (emotion, ks)."""
from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from speechbench.downstream._modules.pooling import UtterancePooling, pad_features
from speechbench.utils_io import atomic_open


class FrameContext(nn.Module):
    """``Conv1d(D -> dim, kernel context)`` + ReLU over time: a detector of patterns spanning frames.

    SUPERB's per-frame ``Linear`` followed by mean pooling is linear in the utterance's mean
    frame, which for features without word-level context (fbank, small upstreams) keeps the
    speaker and channel but loses which words were said. Zero padding at the edges equals the
    batch padding, so an utterance's output does not depend on its batch.
    """

    def __init__(self, input_dim: int, dim: int, context: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(input_dim, dim, context, padding=context // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)[:, : x.shape[1]]


class UtteranceClassifier(nn.Module):
    """``Linear(D -> projector_dim)`` per frame, masked pooling, dropout, ``Linear(-> num_outputs)``.

    ``projector_dim`` 0 pools the features directly. ``context`` > 0 (odd) replaces the per-frame
    projection with ``FrameContext`` over that many frames. Padding frames are masked out of the
    pooling, so an utterance's logits do not depend on what it is batched with.
    """

    def __init__(self, input_dim: int, num_outputs: int, projector_dim: int = 256, pooling: str = "mean",
                 dropout: float = 0.0, context: int = 0) -> None:
        super().__init__()
        if context < 0 or (context and context % 2 == 0):
            raise ValueError(f"modelrc.context must be 0 (per-frame projection) or an odd number of frames, "
                             f"got {context}")
        if context and not projector_dim:
            raise ValueError("modelrc.context needs modelrc.projector_dim > 0 (the detectors' count)")
        if context:
            self.projector: nn.Module = FrameContext(input_dim, projector_dim, context)
        else:
            self.projector = nn.Linear(input_dim, projector_dim) if projector_dim else nn.Identity()
        self.pooling = UtterancePooling(projector_dim or input_dim, pooling)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(self.pooling.output_dim, num_outputs)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """``[T_i, D]`` tensors, one per utterance -> ``[B, num_outputs]`` logits."""
        padded, mask = pad_features(features)
        pooled = self.pooling(self.projector(padded), mask)
        return self.output(self.dropout(pooled))


def classification_step(logits: torch.Tensor, labels: list[int], utt_ids: list[str], records: dict) -> torch.Tensor:
    """Cross entropy of ``[B, classes]`` logits against class indices; records the loss and, per
    utterance, its id (``utt``), predicted class (``pred``) and true class (``true``)."""
    loss = F.cross_entropy(logits, torch.tensor(labels, device=logits.device))
    records.setdefault("loss", []).append(loss.item())
    records.setdefault("utt", []).extend(utt_ids)
    records.setdefault("pred", []).extend(logits.argmax(-1).tolist())
    records.setdefault("true", []).extend(labels)
    return loss


def write_predictions(expdir: str, records: dict, classes: list[str]) -> None:
    """``expdir/test_predictions.txt``: ``utt predicted true`` (class names), sorted by utterance."""
    rows = sorted(zip(records["utt"], records["pred"], records["true"]))
    with atomic_open(os.path.join(expdir, "test_predictions.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{u} {classes[p]} {classes[t]}\n" for u, p, t in rows)
