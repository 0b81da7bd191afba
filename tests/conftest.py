"""Test-wide settings, and the tiny mini corpus and its per-task data dirs that every test reading them shares.

Each test process keeps to one thread (2-core machine; `make test` runs two workers).
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from speechbench.corpora.mini import prepare_mini
from speechbench.utils_io import atomic_open
from tiny_tasks import PREPARE

torch.set_num_threads(1)


def _run_folder(tmp_path_factory) -> Path:
    """The test run's temporary folder, the same for every pytest-xdist worker."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> str:
    """The tiny mini corpus (``<dir>/data``, ``<dir>/wav``), built once for the whole run.

    Tests only read it. Under pytest-xdist the workers share one build: the first takes the
    lock and builds, the others wait and find it finished (the builder reuses a corpus whose
    marker matches).
    """
    root = _run_folder(tmp_path_factory)
    out = root / "shared-mini-tiny"
    with open(root / "shared-mini-tiny.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        prepare_mini(str(out), size="tiny", seed=0, nj=1)
    return str(out)


@pytest.fixture(scope="session")
def tiny_data(tiny_corpus) -> str:
    """``<corpus>/data`` of the shared tiny corpus (read/, asv/, emotion/, intent/ ...)."""
    return os.path.join(tiny_corpus, "data")


@pytest.fixture(scope="session")
def tiny_task(tiny_data, tmp_path_factory) -> Callable[[str], dict[str, Any]]:
    """``tiny_task(name)``: the task's ``datarc`` keys on the tiny corpus (tests/tiny_tasks.py),
    prepared once per run; workers share it as they share the corpus. Tests only read it."""
    root = _run_folder(tmp_path_factory) / "shared-tiny-tasks"
    root.mkdir(exist_ok=True)

    def get(task: str) -> dict[str, Any]:
        work, done = root / task, root / f"{task}.json"
        with open(root / f"{task}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not done.exists():
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir()
                datarc = PREPARE[task](tiny_data, str(work))
                with atomic_open(str(done), "w") as f:
                    json.dump(datarc, f)
        return json.loads(done.read_text())

    return get
