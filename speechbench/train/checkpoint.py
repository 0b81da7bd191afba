"""Experiment checkpoints: atomic writes, RNG capture, keeping the last K.

A checkpoint holds everything needed to resume or evaluate (args, config, all states,
step, epoch, position in the epoch and RNG states), stored with plain types only so our
own files load with ``weights_only=True`` too.
"""
from __future__ import annotations

import glob
import os
import random
import re

import numpy as np
import torch

from speechbench.checkpoints import CheckpointError, load_checkpoint

FORMAT = "speechbench-experiment-v1"
_STEP_FILE = re.compile(r"states-(\d+)\.ckpt$")


def capture_rng() -> dict:
    """RNG states of python, numpy, torch (and CUDA), as tensors and plain types."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    """Inverse of :func:`capture_rng`."""
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(state: dict, path: str) -> None:
    """``torch.save`` to a temporary file, then rename: a kill never leaves a broken file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save({"format": FORMAT, **state}, tmp)
    os.replace(tmp, path)


def load_experiment(path: str) -> dict:
    """Load an experiment checkpoint (a file, or an experiment dir: its newest step checkpoint)."""
    if os.path.isdir(path):
        found = latest_step_checkpoint(path)
        if found is None:
            raise CheckpointError(f"no states-*.ckpt in {path}; pass a checkpoint file with -e")
        path = found
    state = load_checkpoint(path, layout="speechbench experiment checkpoint")
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a speechbench experiment checkpoint (made by run_benchmark.py -m train); "
                              f"to load an upstream's weights use -k")
    state["path"] = os.path.abspath(path)
    return state


def latest_step_checkpoint(expdir: str) -> str | None:
    """Newest ``states-<step>.ckpt`` in ``expdir`` by step number."""
    found = [(int(m.group(1)), p) for p in glob.glob(os.path.join(expdir, "states-*.ckpt"))
             if (m := _STEP_FILE.search(p))]
    return max(found)[1] if found else None


def prune_step_checkpoints(expdir: str, keep: int) -> None:
    """Delete all but the newest ``keep`` step checkpoints (named best-* ones are kept)."""
    found = sorted((int(m.group(1)), p) for p in glob.glob(os.path.join(expdir, "states-*.ckpt"))
                   if (m := _STEP_FILE.search(p)))
    for _, p in found[:-keep] if keep > 0 else []:
        os.unlink(p)
