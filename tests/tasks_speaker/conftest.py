"""A tiny mini corpus built once per session, and helpers to copy its data dirs."""
from __future__ import annotations

import pytest
import torch

from speechbench.corpora.mini import prepare_mini


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> str:
    """``<dir>/data`` of a tiny mini corpus (read/{train,dev,test}, asv/{train,test})."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("mini") / "tiny"
    return prepare_mini(str(out), size="tiny", seed=0, nj=1)
