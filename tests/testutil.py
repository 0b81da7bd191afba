"""Helpers shared by tests (importable as ``testutil``: ``tests/`` is on pytest's pythonpath)."""
from __future__ import annotations

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(args: list[str], cwd: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``run_benchmark.py`` with this interpreter; capture output."""
    full_env = {**os.environ, "PYTHONPATH": REPO, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, os.path.join(REPO, "run_benchmark.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=full_env)


def dev_improves(expert, logged: dict[str, float], best: float | None) -> bool:
    """The runner's rule for saving best-states-dev.ckpt: the expert's declared METRIC beats ``best``."""
    from speechbench import contracts

    name, direction = expert.METRIC
    return contracts.is_improvement(contracts.metric_value(logged, "dev", name), best, direction)
