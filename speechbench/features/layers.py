"""Which hidden states to keep in a feature cache: all, a list, or the best of a finished run.

Caching every layer of a 24-layer model costs 24x the disk of one; a trained weighted-sum
featurizer already says which few layers a task uses, so ``best`` keeps only those.
"""
from __future__ import annotations

import glob
import os

import torch

from speechbench.checkpoints.experiment import load_experiment
from speechbench.errors import CheckpointError, ConfigError


class LayerSelectionError(ConfigError):
    """A ``--layers`` value that cannot be honoured; the message says how to fix it."""


def parse_layer_list(spec: str) -> list[int] | None:
    """``all`` -> None; ``0,4,-1`` -> [0, 4, -1] (negative counts from the last layer)."""
    if spec.strip() == "all":
        return None
    try:
        layers = [int(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        raise LayerSelectionError(f"--layers '{spec}': give all, best, or comma-separated layer "
                                  f"indices such as 0,4,8") from None
    if not layers:
        raise LayerSelectionError("--layers is empty: give all, best, or indices such as 0,4,8")
    return layers


def resolve_layers(requested: list[int] | None, num_layers: int, upstream: str) -> list[int]:
    """Check indices against the upstream's layer count; negative ones count from the end."""
    if requested is None:
        return list(range(num_layers))
    resolved = []
    for layer in requested:
        index = layer + num_layers if layer < 0 else layer
        if not 0 <= index < num_layers:
            raise LayerSelectionError(f"layer {layer} does not exist: upstream '{upstream}' has "
                                      f"{num_layers} hidden states (0..{num_layers - 1})")
        resolved.append(index)
    if len(set(resolved)) != len(resolved):
        raise LayerSelectionError(f"--layers names a layer twice: {requested} -> {resolved}")
    return resolved


def newest_checkpoint(expdir: str) -> str:
    """The most recently written ``*.ckpt`` in ``expdir`` (or below it)."""
    found = glob.glob(os.path.join(expdir, "*.ckpt")) or \
        glob.glob(os.path.join(expdir, "**", "*.ckpt"), recursive=True)
    if not found:
        raise LayerSelectionError(f"--from-exp {expdir}: no *.ckpt found; train the task first "
                                  f"(it saves the layer weights) or pass explicit --layers")
    return max(found, key=os.path.getmtime)


def best_layers(expdir: str, k: int) -> tuple[list[int], str]:
    """Top-``k`` layers by the learned weighted-sum weights of a run; also the checkpoint read.

    The weights index the layers the run saw: all of the upstream's, or, when it trained
    from feature caches holding a subset, those caches' ``layers`` (mapped back here).
    """
    path = newest_checkpoint(expdir)
    try:
        run = load_experiment(path)
        weights, indices = run.layer_logits(), run.layer_indices()
    except CheckpointError as err:
        raise LayerSelectionError(str(err)) from None
    if bool((weights == weights[0]).all()):
        raise LayerSelectionError(f"{path}: all {len(weights)} layer weights are equal (the run used "
                                  f"a fixed --layer or never trained them); pass explicit --layers")
    if not 1 <= k <= len(weights):
        raise LayerSelectionError(f"--num-layers {k}: the run in {expdir} weighted {len(weights)} layers")
    top = torch.topk(weights, k).indices.tolist()
    return sorted(indices[i] for i in top), path
