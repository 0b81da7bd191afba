"""Fixture for driving the shell machinery of egs/utils through bash."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

import pytest


def _bash(*args: str | Path, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=60)


@pytest.fixture
def bash() -> Callable[..., subprocess.CompletedProcess]:
    """Run bash with arguments in a directory, capturing text output (never raises)."""
    return _bash
