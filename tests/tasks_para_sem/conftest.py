"""Fixtures for the emotion and intent tests: the tiny mini corpus, built once per session."""
from __future__ import annotations

import os

import pytest
import torch

from speechbench.corpora.mini import prepare_mini


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> str:
    """``<corpus>/data`` of a freshly built tiny corpus (``emotion/{train,dev,test}``, ``intent/...``)."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("tiny") / "corpus"
    prepare_mini(str(out), size="tiny", seed=0, nj=1)
    return os.path.join(str(out), "data")
