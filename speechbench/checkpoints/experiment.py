"""Experiment checkpoints (what ``run_benchmark.py -m train`` writes): one schema, read and written here.

A checkpoint holds everything needed to resume or evaluate: the args and config, every state
(head, featurizer, the upstream when no file rebuilds it, optimizer, scheduler, AMP scaler),
the step, epoch and position in the epoch, the best dev value, the records logged since the
last log step and the RNG states. On disk it is a dict of plain types and tensors under
fixed keys (``Args``, ``Featurizer``, ...), so it loads with ``weights_only=True``; everyone
else (resume, feature extraction's ``--layers best``, the report's layer plots) reads it
through :class:`ExperimentCheckpoint` instead of indexing those keys.
"""
from __future__ import annotations

import glob
import json
import logging
import os
import re
from dataclasses import dataclass, field, fields

import numpy as np
import torch

from speechbench.checkpoints.safe_load import load_checkpoint
from speechbench.errors import CheckpointError, CorruptCheckpointError
from speechbench.utils_io import TMP_PREFIX, atomic_open

FORMAT = "speechbench-experiment-v1"
LAYOUT = "speechbench experiment checkpoint"
_STEP_FILE = re.compile(r"states-(\d+)\.ckpt$")
TEMPORARIES = f"{TMP_PREFIX}*.ckpt"
"""What a save killed mid-write leaves in an experiment dir (``atomic_open``'s temporary of a checkpoint)."""

log = logging.getLogger("speechbench")
# field -> key on disk
_KEYS = {"args": "Args", "config": "Config", "downstream": "Downstream", "featurizer": "Featurizer",
         "upstream": "Upstream", "optimizer": "Optimizer", "scheduler": "Scheduler", "scaler": "Scaler",
         "step": "Step", "epoch": "Epoch", "batch_in_epoch": "BatchInEpoch", "records": "Records", "best": "Best",
         "rng": "RNG"}


@dataclass
class ExperimentCheckpoint:
    """One experiment checkpoint; ``path`` is where it was read from (None when built to be saved)."""

    args: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    downstream: dict = field(default_factory=dict)
    featurizer: dict = field(default_factory=dict)
    upstream: dict | None = None
    optimizer: dict | None = None
    scheduler: dict | None = None
    scaler: dict | None = None
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    records: dict = field(default_factory=dict)
    best: float | None = None
    rng: dict | None = None
    path: str | None = None

    @classmethod
    def from_state(cls, state: dict, path: str | None = None) -> "ExperimentCheckpoint":
        """The schema over a loaded dict (keys a writer left out take their defaults)."""
        values = {f.name: state[_KEYS[f.name]] for f in fields(cls) if f.name in _KEYS and state.get(_KEYS[f.name]) is not None}
        return cls(**values, path=path)

    def to_state(self) -> dict:
        """The dict written to disk."""
        return {"format": FORMAT, **{key: getattr(self, name) for name, key in _KEYS.items()}}

    def save(self, path: str) -> None:
        """Write atomically (temporary file, fsync, rename): a kill never leaves a broken checkpoint."""
        with atomic_open(path, "wb") as f:
            torch.save(self.to_state(), f)

    def layer_logits(self) -> torch.Tensor:
        """The featurizer's learned per-layer weights before the softmax, as a float vector."""
        weights = self.featurizer.get("weights")
        if weights is None:
            raise CheckpointError(f"{self.path} holds no Featurizer weights (key 'Featurizer' -> 'weights'); "
                                  f"was it written by the speechbench runner?")
        return torch.as_tensor(weights).detach().float().reshape(-1)

    def layer_weights(self) -> np.ndarray:
        """Softmax layer weights, as the featurizer applies them."""
        logits = self.layer_logits().double().numpy()
        e = np.exp(logits - logits.max())
        return e / e.sum()

    def feature_cache_dirs(self) -> list[str]:
        """The feature caches the run read instead of running its upstream (the runner stores them comma-separated)."""
        return [d for d in str(self.args.get("feature_cache") or "").split(",") if d]

    def layer_indices(self) -> list[int]:
        """The upstream layer of each featurizer weight: all layers, or the cache's ``layers`` when the run
        trained from a feature cache holding a subset."""
        count = len(self.layer_logits())
        caches = self.feature_cache_dirs()
        if not caches:
            return list(range(count))
        meta = os.path.join(caches[0], "meta.json")
        if not os.path.isfile(meta):
            raise CheckpointError(f"{self.path} was trained from the feature cache {caches[0]}, whose meta.json is "
                                  f"gone: its layer weights cannot be mapped to upstream layers")
        with open(meta, encoding="utf-8") as f:
            layers = [int(x) for x in json.load(f).get("layers", [])]
        if len(layers) != count:
            raise CheckpointError(f"{self.path} has {count} layer weights but its feature cache {caches[0]} holds "
                                  f"{len(layers)} layers: the cache was extracted again after training")
        return layers


def _load_file(path: str) -> ExperimentCheckpoint:
    state = load_checkpoint(path, layout=LAYOUT)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a speechbench experiment checkpoint (made by run_benchmark.py -m train); "
                              f"to load an upstream's weights use -k")
    return ExperimentCheckpoint.from_state(state, os.path.abspath(path))


def load_experiment(path: str) -> ExperimentCheckpoint:
    """An experiment checkpoint: a file, or an experiment dir's newest readable step checkpoint.

    In a dir, an unreadable newest file (cut short by a full disk or a copy) is skipped with a
    warning naming it, so the run resumes from the one before.
    """
    if not os.path.isdir(path):
        return _load_file(path)
    found = step_checkpoints(path)
    if not found:
        raise CheckpointError(f"no states-*.ckpt in {path}; pass a checkpoint file with -e")
    for newest in reversed(found):
        try:
            return _load_file(newest)
        except CorruptCheckpointError as err:
            log.warning("skipping the damaged %s, using the checkpoint before it: %s", os.path.basename(newest), err)
    raise CheckpointError(f"none of the {len(found)} states-*.ckpt in {path} can be read (see the warnings above); "
                          f"start the run again with --overwrite")


def step_checkpoints(expdir: str) -> list[str]:
    """``states-<step>.ckpt`` files of ``expdir``, oldest step first."""
    found = sorted((int(m.group(1)), p) for p in glob.glob(os.path.join(glob.escape(expdir), "states-*.ckpt"))
                   if (m := _STEP_FILE.search(p)))
    return [p for _, p in found]


def prune_step_checkpoints(expdir: str, keep: int) -> None:
    """Delete all but the newest ``keep`` step checkpoints (named best-* ones are kept)."""
    for p in step_checkpoints(expdir)[:-keep] if keep > 0 else []:
        os.unlink(p)


def remove_stale_temporaries(expdir: str) -> None:
    """Delete the checkpoint temporaries a killed save left behind (call holding the dir's lock,
    so that no save of this dir is under way)."""
    for path in glob.glob(os.path.join(glob.escape(expdir), TEMPORARIES)):
        os.unlink(path)
        log.info("removed %s, left by a save that was killed", path)
