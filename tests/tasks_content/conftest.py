"""The PR/ASR tests' view of the shared tiny corpus, and unit tables built from it once per session."""
from __future__ import annotations

import os

import pytest

from speechbench.downstream._modules.units import build_units


@pytest.fixture(scope="session")
def tiny_read(tiny_data) -> str:
    """``<corpus>/data/read`` (train/dev/test with text and text.phn) of the shared tiny corpus."""
    return os.path.join(tiny_data, "read")


@pytest.fixture(scope="session")
def lang(tiny_read, tmp_path_factory) -> dict[str, str]:
    """tokens.txt paths built from the tiny training set: ``phone`` and ``char``."""
    root = tmp_path_factory.mktemp("lang")
    build_units(os.path.join(tiny_read, "train", "text.phn"), "token", str(root / "phone"))
    build_units(os.path.join(tiny_read, "train", "text"), "char", str(root / "char"))
    return {"phone": str(root / "phone" / "tokens.txt"), "char": str(root / "char" / "tokens.txt")}


@pytest.fixture(scope="session")
def overrides(tiny_read):
    """``overrides(tokens, train=None, dev=None)`` -> -o text for the tiny sets and a few quick steps."""
    return lambda tokens, train=None, dev=None: _overrides(tiny_read, tokens, train, dev)


def _overrides(read: str, tokens: str, train: str | None, dev: str | None) -> str:
    return (f"config.downstream_expert.datarc.train={train or read + '/train'},,"
            f"config.downstream_expert.datarc.dev={dev or read + '/dev'},,"
            f"config.downstream_expert.datarc.test={read}/test,,config.downstream_expert.datarc.tokens={tokens},,"
            f"config.runner.total_steps=6,,config.runner.eval_step=3,,config.runner.save_step=6,,"
            f"config.runner.log_step=3,,config.runner.gradient_accumulate_steps=1")
