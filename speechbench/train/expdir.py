"""Who owns an experiment directory: one training process at a time, one run per directory.

Two runs in one directory corrupt each other: ``max_keep`` pruning deletes the newer run's
checkpoints (the older run's have higher step numbers) and ``-e DIR`` then scores the wrong
run. So a new run refuses a directory that holds another run's checkpoints unless told to
delete them (``--overwrite``), and a training process holds a lock for its whole run.
"""
from __future__ import annotations

import fcntl
import glob
import os
from typing import IO

from speechbench.checkpoints.experiment import TEMPORARIES
from speechbench.errors import ExperimentError

RUN_FILES = ("states-*.ckpt", "best-*.ckpt", TEMPORARIES, "args.yaml", "config.yaml", "train.log",
             "events.out.tfevents.*", "*_results.json", "*_predictions.txt")
"""What a run leaves in its directory (``--overwrite`` deletes exactly these)."""
_CHECKPOINTS = ("states-*.ckpt", "best-*.ckpt")


def lock(expdir: str) -> IO:
    """Take the directory's lock (``.lock`` holds the owner's pid); keep the returned file open."""
    handle = open(os.path.join(expdir, ".lock"), "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip()
        handle.close()
        raise ExperimentError(f"{expdir} is being trained by another process (pid {owner}); "
                              f"wait for it, or use another -n/-p") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _matching(expdir: str, patterns: tuple[str, ...]) -> list[str]:
    return sorted({p for pattern in patterns for p in glob.glob(os.path.join(glob.escape(expdir), pattern))})


def claim_expdir(expdir: str, overwrite: bool = False) -> None:
    """Make sure a new run may use ``expdir``: refuse one holding another run's checkpoints,
    or with ``overwrite`` delete that run's files first."""
    if not os.path.isdir(expdir):
        return
    if overwrite:
        handle = lock(expdir)  # never delete under a running training
        try:
            for path in _matching(expdir, RUN_FILES):
                os.unlink(path)
        finally:
            handle.close()
        return
    found = _matching(expdir, _CHECKPOINTS)
    if found:
        names = ", ".join(os.path.basename(p) for p in found[:3]) + (", ..." if len(found) > 3 else "")
        raise ExperimentError(
            f"{expdir} already holds an experiment ({names}); resume it with `-e {expdir}`, choose another "
            f"name (-n) or dir (-p), or pass --overwrite to delete it and start again")
