"""Fixtures for the keyword-spotting, slot-filling and diarization tests: the tiny mini corpus."""
from __future__ import annotations

import os

import pytest
import torch

from speechbench.corpora.mini import prepare_mini


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> str:
    """A freshly built tiny mini corpus (the directory holding ``data/`` and ``wav/``)."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("tiny") / "corpus"
    prepare_mini(str(out), size="tiny", seed=0, nj=1)
    return str(out)


@pytest.fixture(scope="session")
def tiny_data(tiny_corpus) -> str:
    return os.path.join(tiny_corpus, "data")
