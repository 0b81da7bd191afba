"""Helpers shared by tests (importable as ``testutil``: ``tests/`` is on pytest's pythonpath)."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import sys
import tempfile
from typing import Callable, Iterator

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(args: list[str], cwd: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``run_benchmark.py`` with this interpreter; capture output."""
    full_env = {**os.environ, "PYTHONPATH": REPO, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, os.path.join(REPO, "run_benchmark.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=full_env)


def one_error_line(capsys, main: Callable[[list[str]], int], args: list[str]) -> str:
    """Run a command line in this process: it must exit 2 with exactly one ``error:`` line and no
    traceback (a user error, not a bug). Returns the line."""
    rc = main(args)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, err[-2000:]
    return lines[0]


def assert_bug_propagates(monkeypatch, main: Callable[[list[str]], int], target: object, name: str,
                          args: list[str]) -> None:
    """Make ``target.name`` fail as a bug would (ZeroDivisionError): ``main(args)`` must let it
    through with its traceback, not print it as a user error."""
    def bug(*_args, **_kwargs):
        raise ZeroDivisionError("a bug, not a user error")

    monkeypatch.setattr(target, name, bug)
    with pytest.raises(ZeroDivisionError, match="a bug"):
        main(args)


def dev_improves(expert, logged: dict[str, float], best: float | None) -> bool:
    """The runner's rule for saving best-states-dev.ckpt: the expert's declared METRIC beats ``best``."""
    from speechbench import contracts

    name, direction = expert.METRIC
    return contracts.is_improvement(contracts.metric_value(logged, "dev", name), best, direction)


def quick_steps(steps: int = 4, batch_size: int | None = None) -> str:
    """Recipe ``--extra-overrides`` for a few training steps (eval and save every half)."""
    half = max(1, steps // 2)
    out = (f"config.runner.total_steps={steps},,config.runner.eval_step={half},,config.runner.save_step={half},,"
           f"config.runner.log_step={half},,config.runner.gradient_accumulate_steps=1")
    return out + (f",,config.downstream_expert.datarc.batch_size={batch_size}" if batch_size else "")


@contextlib.contextmanager
def recipe_lock(*runs: str) -> Iterator[None]:
    """Hold the test lock of each recipe run ``<task>/<data tag>`` (taken in name order, so
    never a deadlock).

    A recipe writes ``data/<tag>`` and ``dump/<tag>`` inside its folder in the repository, so
    two test workers (``make test`` runs pytest-xdist) must not run one task on one tag at once.
    """
    key = hashlib.sha1(REPO.encode()).hexdigest()[:12]
    with contextlib.ExitStack() as stack:
        for run in sorted(set(runs)):
            name = f"speechbench-{key}-{run.replace('/', '-')}.lock"
            lock = stack.enter_context(open(os.path.join(tempfile.gettempdir(), name), "w"))
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run_in_repo(cmd: list[str], runs: tuple[str, ...], timeout: float = 900) -> subprocess.CompletedProcess:
    """Run ``cmd`` from the repository root, one thread, output captured, holding the locks of
    the recipe ``runs`` (``<task>/<data tag>``) it writes."""
    with recipe_lock(*runs):
        return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})


def run_recipe(task: str, args: list[str], expdir, mini_dir: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """``egs/<task>/run.sh`` on the tiny corpus in ``mini_dir``, one job, one thread; output captured."""
    cmd = ["bash", f"egs/{task}/run.sh", "--mini-size", "tiny", "--mini-dir", str(mini_dir), "--expdir", str(expdir),
           "--nj", "1", *args]
    tag = args[args.index("--data-tag") + 1] if "--data-tag" in args else "tiny"
    return run_in_repo(cmd, (f"{task}/{tag}",), timeout)


def stages_done(stderr: str) -> list[int]:
    """Numbers of the stages a recipe finished, in order, from its `stage N: done` lines."""
    return [int(line.split("stage ")[1].split(":")[0]) for line in stderr.splitlines() if line.endswith(": done")]
