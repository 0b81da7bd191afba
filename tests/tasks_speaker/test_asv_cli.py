"""ASV end to end: dev speakers held out of train, a few steps, EER/minDCF and scores on test."""
from __future__ import annotations

import json
import os

import pytest

from speechbench.data.trials import main as hold_out_main
from testutil import run_cli

FAST = ("config.runner.total_steps=4,,config.runner.eval_step=2,,config.runner.log_step=2,,"
        "config.runner.save_step=4,,config.runner.gradient_accumulate_steps=1,,config.optimizer.lr=1.0e-3,,"
        "config.downstream_expert.datarc.batch_size=8,,config.downstream_expert.datarc.max_train_seconds=1.5,,"
        "config.downstream_expert.modelrc.input_size=16,,config.downstream_expert.modelrc.channels=16,,"
        "config.downstream_expert.modelrc.stats_channels=24,,config.downstream_expert.modelrc.embedding_size=8")


@pytest.mark.slow
def test_train_and_evaluate(tiny_data, tmp_path):
    asv = os.path.join(tiny_data, "asv")
    data = tmp_path / "data"
    assert hold_out_main(["--train", f"{asv}/train", "--out-train", str(data / "train"),
                          "--out-dev", str(data / "dev"), "--dev-speakers", "2"]) == 0
    dirs = (f"config.downstream_expert.datarc.train={data}/train,,config.downstream_expert.datarc.dev={data}/dev,,"
            f"config.downstream_expert.datarc.test={asv}/test")
    train = run_cli(["-m", "train", "-n", "asv", "-u", "baseline", "-d", "asv", "-o", f"{dirs},,{FAST}"],
                    cwd=str(tmp_path))
    assert train.returncode == 0, train.stderr[-3000:]
    expdir = tmp_path / "result" / "downstream" / "asv"
    assert (expdir / "best-states-dev.ckpt").is_file()
    test = run_cli(["-m", "evaluate", "-e", str(expdir / "best-states-dev.ckpt"), "-t", "test"], cwd=str(tmp_path))
    assert test.returncode == 0, test.stderr[-3000:]
    metrics = json.loads((expdir / "test_results.json").read_text())["metrics"]
    assert set(metrics) == {"test-EER", "test-minDCF"}
    assert 0.0 <= metrics["test-EER"] <= 1.0 and 0.0 <= metrics["test-minDCF"] <= 1.0
    with open(f"{asv}/test/trials", encoding="utf-8") as f:
        trials = f.read().splitlines()
    scores = (expdir / "test_scores.txt").read_text().splitlines()
    assert [s.split()[:2] + s.split()[3:] for s in scores] == [t.split() for t in trials]
    assert all(-1.0 <= float(s.split()[2]) <= 1.0 for s in scores)

