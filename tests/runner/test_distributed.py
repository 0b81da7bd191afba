"""torchrun with 2 CPU processes on gloo: one set of checkpoints, a model that learns, resumable."""
import json
import os
import subprocess
import sys

import pytest
import torch

from testutil import REPO, run_cli

OVERRIDES = "config.runner.total_steps=40,,config.runner.eval_step=20,,config.runner.save_step=20"


def _torchrun(tmp_path, *args) -> subprocess.CompletedProcess:
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    env = {**os.environ, "PYTHONPATH": REPO, "OMP_NUM_THREADS": "1"}
    return subprocess.run([torchrun, "--nproc_per_node", "2", "--master_port", "29517",
                           os.path.join(REPO, "run_benchmark.py"), *args],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_two_process_gloo_training(tmp_path):
    done = _torchrun(tmp_path, "-m", "train", "-n", "ddp", "-u", "example", "-d", "example", "-o", OVERRIDES)
    assert done.returncode == 0, done.stderr[-2000:]
    expdir = tmp_path / "result/downstream/ddp"
    assert sorted(p.name for p in expdir.glob("states-*.ckpt")) == ["states-20.ckpt", "states-40.ckpt"]
    assert done.stderr.count("training done") == 1  # rank 0 logs, rank 1 stays quiet
    # resume the distributed run for 20 more steps
    done = _torchrun(tmp_path, "-m", "train", "-e", str(expdir / "states-40.ckpt"), "-o", "config.runner.total_steps=60")
    assert done.returncode == 0, done.stderr[-2000:]
    state = torch.load(expdir / "states-60.ckpt", weights_only=True)
    assert state["Step"] == 60
    done = run_cli(["-m", "evaluate", "-e", str(expdir / "states-60.ckpt")], cwd=str(tmp_path))
    assert done.returncode == 0
    assert json.loads((expdir / "test_results.json").read_text())["metrics"]["test-acc"] > 0.6
