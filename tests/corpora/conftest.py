"""A tiny mini-corpus built once per test session (a few seconds)."""
from __future__ import annotations

import pytest

from speechbench.corpora.mini import prepare_mini


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> str:
    """Path of the built corpus directory (``<dir>/data``, ``<dir>/wav``)."""
    out = tmp_path_factory.mktemp("mini") / "tiny"
    prepare_mini(str(out), size="tiny", seed=0, nj=1)
    return str(out)
