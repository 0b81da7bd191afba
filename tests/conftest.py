"""Test-wide settings and fixtures: one thread per test process (2-core machine), the tiny corpus."""
import pytest
import torch

from speechbench.corpora.mini import prepare_mini

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> str:
    """A tiny mini corpus built once per session (the directory holding ``data/`` and ``wav/``); read only."""
    out = tmp_path_factory.mktemp("tiny") / "corpus"
    prepare_mini(str(out), size="tiny", seed=0, nj=1)
    return str(out)
