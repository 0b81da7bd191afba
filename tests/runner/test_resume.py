"""Resume is exact: an interrupted run continued from its checkpoint ends where an
uninterrupted run ends (same weights, same metrics), including after SIGKILL."""
import json
import os
import signal
import subprocess
import sys
import time

import torch

from testutil import REPO, run_cli

FAST = "config.runner.total_steps={n},,config.runner.save_step=20,,config.runner.eval_step={e},,config.runner.log_step=10"


def _train_cmd(name: str, n: int, eval_step: int = 1000) -> list[str]:
    return ["-m", "train", "-n", name, "-u", "example", "-d", "example", "--seed", "7",
            "-o", FAST.format(n=n, e=eval_step) + ",,config.scheduler.name=linear_warmup_decay,,"
                                                  "config.scheduler.num_warmup_steps=5"]


def _weights(path) -> dict:
    state = torch.load(path, weights_only=True)
    return {**{f"d.{k}": v for k, v in state["Downstream"].items()},
            **{f"f.{k}": v for k, v in state["Featurizer"].items()},
            **{f"u.{k}": v for k, v in (state["Upstream"] or {}).items()}}


def _assert_same(a, b) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


def test_resume_after_stop_matches_uninterrupted(tmp_path):
    assert run_cli(_train_cmd("full", 60, eval_step=20), cwd=str(tmp_path)).returncode == 0
    # Same experiment, stopped at step 40 by a kill after its checkpoint, then resumed.
    first = run_cli(_train_cmd("part", 60, eval_step=20), cwd=str(tmp_path))
    assert first.returncode == 0
    part = tmp_path / "result/downstream/part"
    os.unlink(part / "states-60.ckpt")
    done = run_cli(["-m", "train", "-e", str(part / "states-40.ckpt")], cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resuming" in done.stderr
    _assert_same(tmp_path / "result/downstream/full/states-60.ckpt", part / "states-60.ckpt")


def test_resume_after_sigkill(tmp_path):
    n = 200  # steps 20 -> 200 take seconds: room for the kill to land mid-run
    ref = run_cli(_train_cmd("ref", n), cwd=str(tmp_path))
    assert ref.returncode == 0, ref.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": REPO, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, os.path.join(REPO, "run_benchmark.py"), *_train_cmd("killed", n)],
                            cwd=str(tmp_path), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    expdir = tmp_path / "result/downstream/killed"
    deadline = time.time() + 120
    while not (expdir / "states-20.ckpt").exists() and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (expdir / f"states-{n}.ckpt").exists(), "the run finished before it could be killed"
    done = run_cli(["-m", "train", "-e", str(expdir)], cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    _assert_same(tmp_path / f"result/downstream/ref/states-{n}.ckpt", expdir / f"states-{n}.ckpt")
    metrics = []
    for name in ("ref", "killed"):
        ev = run_cli(["-m", "evaluate", "-e", str(tmp_path / f"result/downstream/{name}/states-{n}.ckpt")],
                     cwd=str(tmp_path))
        assert ev.returncode == 0
        metrics.append(json.loads((tmp_path / f"result/downstream/{name}/test_results.json").read_text())["metrics"])
    assert metrics[0] == metrics[1] and "test-acc" in metrics[0]
