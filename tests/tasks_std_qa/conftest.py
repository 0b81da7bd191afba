"""A tiny mini corpus shared by the std and qa tests (built once per session, a few seconds)."""
from __future__ import annotations

import pytest
import torch

from speechbench.corpora.mini import prepare_mini


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> str:
    """``<corpus>/data`` of a freshly built tiny corpus."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("mini") / "tiny"
    return prepare_mini(str(out), size="tiny", seed=0, nj=1)
