"""Speaker ID end to end: a few training steps on the tiny corpus, then test evaluation."""
from __future__ import annotations

import json
import os

from testutil import run_cli

FAST = ("config.runner.total_steps=6,,config.runner.eval_step=3,,config.runner.log_step=3,,"
        "config.runner.save_step=6,,config.runner.gradient_accumulate_steps=1,,config.optimizer.lr=1.0e-3,,"
        "config.downstream_expert.datarc.batch_size=8,,config.downstream_expert.datarc.max_train_seconds=1.5")


def test_train_and_evaluate(tiny_data, tmp_path):
    read = os.path.join(tiny_data, "read")
    dirs = ",,".join(f"config.downstream_expert.datarc.{s}={read}/{s}" for s in ("train", "dev", "test"))
    train = run_cli(["-m", "train", "-n", "sid", "-u", "baseline", "-d", "speaker", "-o", f"{dirs},,{FAST}"],
                    cwd=str(tmp_path))
    assert train.returncode == 0, train.stderr[-3000:]
    expdir = tmp_path / "result" / "downstream" / "sid"
    assert (expdir / "best-states-dev.ckpt").is_file()
    test = run_cli(["-m", "evaluate", "-e", str(expdir / "best-states-dev.ckpt"), "-t", "test"], cwd=str(tmp_path))
    assert test.returncode == 0, test.stderr[-3000:]
    metrics = json.loads((expdir / "test_results.json").read_text())["metrics"]
    assert 0.0 <= metrics["test-acc"] <= 1.0 and metrics["test-loss"] > 0
    predictions = dict(line.split() for line in (expdir / "test_predictions.txt").read_text().splitlines())
    assert len(predictions) == 8 and set(predictions.values()) <= {f"s{i:03d}" for i in range(8)}
    correct = sum(utt.split("-")[0] == spk for utt, spk in predictions.items())
    assert correct / 8 == metrics["test-acc"]
