"""Experiment checkpoints: atomic writes, RNG capture, keeping the last K.

A checkpoint holds everything needed to resume or evaluate (args, config, all states,
step, epoch, position in the epoch and RNG states), stored with plain types only so our
own files load with ``weights_only=True`` too.
"""
from __future__ import annotations

import glob
import logging
import os
import random
import re

import numpy as np
import torch

from speechbench.checkpoints import load_checkpoint
from speechbench.errors import CheckpointError, CorruptCheckpointError

FORMAT = "speechbench-experiment-v1"
LAYOUT = "speechbench experiment checkpoint"
_STEP_FILE = re.compile(r"states-(\d+)\.ckpt$")
_TMP_FILE = re.compile(r"\.ckpt\.tmp\d+$")

log = logging.getLogger("speechbench")


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


def remove_stale_temporaries(expdir: str) -> None:
    """Delete ``*.ckpt.tmp<pid>`` files a killed save left behind (call holding the dir's lock)."""
    for path in glob.glob(os.path.join(glob.escape(expdir), "*.ckpt.tmp*")):
        if _TMP_FILE.search(path):
            os.unlink(path)
            log.info("removed %s, left by a save that was killed", path)


def _load_file(path: str) -> dict:
    state = load_checkpoint(path, layout=LAYOUT)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a speechbench experiment checkpoint (made by run_benchmark.py -m train); "
                              f"to load an upstream's weights use -k")
    state["path"] = os.path.abspath(path)
    return state


def load_experiment(path: str) -> dict:
    """Load an experiment checkpoint: a file, or an experiment dir's newest readable step checkpoint.

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
