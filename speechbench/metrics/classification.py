"""Classification metrics: utterance accuracy (SID, ER, IC), per-class accuracy, confusion
matrix, masked frame accuracy (phone classification) and joint multi-slot accuracy (intent).

All take integer class ids; higher is better for every accuracy.
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np
import torch

from speechbench.metrics._checks import check_nonempty

Labels = Union[Sequence[int], np.ndarray, torch.Tensor]


def _as_int_array(x: Labels, name: str) -> np.ndarray:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class ids, got dtype {arr.dtype} (take argmax of logits first)")
    return arr.astype(np.int64, copy=False)


def _pair(predictions: Labels, labels: Labels) -> tuple[np.ndarray, np.ndarray]:
    pred, true = _as_int_array(predictions, "predictions"), _as_int_array(labels, "labels")
    if pred.shape != true.shape:
        raise ValueError(f"predictions shape {pred.shape} != labels shape {true.shape}")
    check_nonempty(true.size, "labels")
    return pred, true


def accuracy(predictions: Labels, labels: Labels) -> float:
    """Micro accuracy: fraction of items whose prediction equals the label."""
    pred, true = _pair(predictions, labels)
    return float(np.mean(pred == true))


def confusion_matrix(predictions: Labels, labels: Labels, num_classes: int) -> np.ndarray:
    """``C[t, p]`` = number of items of true class t predicted as p (rows sum to class counts)."""
    pred, true = _pair(predictions, labels)
    for name, arr in (("predictions", pred), ("labels", true)):
        if arr.min() < 0 or arr.max() >= num_classes:
            raise ValueError(f"{name} must lie in [0, {num_classes}), got range [{arr.min()}, {arr.max()}]")
    flat = true.ravel() * num_classes + pred.ravel()
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(predictions: Labels, labels: Labels, num_classes: int) -> dict[int, float]:
    """Accuracy (recall) of each class present in ``labels``; absent classes are left out, not 0."""
    conf = confusion_matrix(predictions, labels, num_classes)
    support = conf.sum(axis=1)
    return {c: float(conf[c, c] / support[c]) for c in range(num_classes) if support[c] > 0}


def frame_accuracy(predictions: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> tuple[int, int]:
    """(correct, counted) frames of a padded batch [B, T], counting only where ``mask`` is True.

    Returns counts, not a ratio, so batches of different lengths add up exactly:
    accuracy = sum(correct) / sum(counted).
    """
    if predictions.shape != labels.shape or labels.shape != mask.shape:
        raise ValueError(
            f"predictions {tuple(predictions.shape)}, labels {tuple(labels.shape)} and mask "
            f"{tuple(mask.shape)} must have the same [B, T] shape"
        )
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor (True = real frame), got {mask.dtype}")
    correct = ((predictions == labels) & mask).sum().item()
    return int(correct), int(mask.sum().item())


def joint_accuracy(predictions: Labels, labels: Labels) -> float:
    """Fraction of utterances with every slot right; rows are utterances, columns slots [N, S].

    This is the intent-classification metric of SUPERB (action, object and location all right).
    """
    pred, true = _pair(predictions, labels)
    if true.ndim != 2:
        raise ValueError(f"joint_accuracy expects [N, num_slots] arrays, got shape {true.shape}")
    return float(np.mean(np.all(pred == true, axis=1)))
