"""The tiny mini corpus, built once for the contract tests (a few seconds)."""
from __future__ import annotations

import pytest
import torch

from speechbench.corpora.mini import prepare_mini


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> str:
    """``<corpus>/data`` of a freshly built tiny corpus."""
    torch.set_num_threads(1)
    return prepare_mini(str(tmp_path_factory.mktemp("mini") / "tiny"), size="tiny", seed=0, nj=1)
