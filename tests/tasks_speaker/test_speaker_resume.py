"""Random training crops survive a resume: a run continued from its step-4 checkpoint ends
with the same weights as the run that was never stopped (crossing epoch boundaries)."""
from __future__ import annotations

import os

import pytest
import torch

from testutil import run_cli

SETTINGS = ("config.runner.total_steps=8,,config.runner.eval_step=100,,config.runner.log_step=2,,"
            "config.runner.save_step=4,,config.runner.max_keep=2,,config.runner.gradient_accumulate_steps=1,,"
            "config.optimizer.lr=1.0e-3,,config.downstream_expert.datarc.batch_size=8,,"
            "config.downstream_expert.datarc.max_train_seconds=1.0")


@pytest.mark.slow
def test_resume_with_crops_is_exact(tiny_data, tmp_path):
    read = os.path.join(tiny_data, "read")
    dirs = ",,".join(f"config.downstream_expert.datarc.{s}={read}/{s}" for s in ("train", "dev", "test"))
    for name in ("full", "part"):
        run = run_cli(["-m", "train", "-n", name, "-u", "baseline", "-d", "speaker", "--seed", "3",
                       "-o", f"{dirs},,{SETTINGS}"], cwd=str(tmp_path))
        assert run.returncode == 0, run.stderr[-3000:]
    part = tmp_path / "result" / "downstream" / "part"
    os.unlink(part / "states-8.ckpt")
    resumed = run_cli(["-m", "train", "-e", str(part / "states-4.ckpt")], cwd=str(tmp_path))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    full = torch.load(tmp_path / "result" / "downstream" / "full" / "states-8.ckpt", weights_only=True)
    again = torch.load(part / "states-8.ckpt", weights_only=True)
    for key, value in full["Downstream"].items():
        assert torch.equal(value, again["Downstream"][key]), key
