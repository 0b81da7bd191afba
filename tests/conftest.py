"""Test-wide settings and the tiny mini corpus that every test reading it shares.

Each test process keeps to one thread (2-core machine; `make test` runs two workers).
"""
from __future__ import annotations

import fcntl
import os

import pytest
import torch

from speechbench.corpora.mini import prepare_mini

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> str:
    """The tiny mini corpus (``<dir>/data``, ``<dir>/wav``), built once for the whole run.

    Tests only read it. Under pytest-xdist the workers share one build: the first takes the
    lock and builds, the others wait and find it finished (the builder reuses a corpus whose
    marker matches).
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above the per-worker ones
    out = root / "shared-mini-tiny"
    with open(root / "shared-mini-tiny.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        prepare_mini(str(out), size="tiny", seed=0, nj=1)
    return str(out)


@pytest.fixture(scope="session")
def tiny_data(tiny_corpus) -> str:
    """``<corpus>/data`` of the shared tiny corpus (read/, asv/, emotion/, intent/ ...)."""
    return os.path.join(tiny_corpus, "data")
