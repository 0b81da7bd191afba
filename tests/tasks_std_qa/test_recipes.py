"""egs/qa and egs/std end to end (every stage) on the tiny corpus."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from testutil import REPO

pytestmark = pytest.mark.slow

QUICK = ("config.runner.total_steps=4,,config.runner.eval_step=2,,config.runner.save_step=2,,config.runner.log_step=2,,"
         "config.runner.gradient_accumulate_steps=1,,config.downstream_expert.datarc.batch_size=2")


def _recipe(task: str, args: list[str], tmp_path, mini_dir: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = ["bash", f"egs/{task}/run.sh", "--mini-size", "tiny", "--mini-dir", mini_dir,
           "--expdir", str(tmp_path / "exp"), "--nj", "1", *args]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900, env=env)


def _stages_done(stderr: str) -> list[int]:
    return [int(line.split("stage ")[1].split(":")[0]) for line in stderr.splitlines() if line.endswith(": done")]


def test_qa_recipe_runs_every_stage(tiny_data, tmp_path):
    proc = _recipe("qa", ["--extra-overrides", QUICK], tmp_path, os.path.dirname(tiny_data))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _stages_done(proc.stderr) == [0, 1, 2, 3, 4, 5]
    exp = tmp_path / "exp" / "tiny" / "baseline_ws"
    metrics = json.loads((exp / "test_results.json").read_text())["metrics"]
    assert 0 <= metrics["test-ff1"] <= 1 and 0 <= metrics["test-aos"] <= 1
    assert str(exp) in (tmp_path / "exp" / "RESULTS.md").read_text()


def test_std_recipe_scores_and_writes_results_into_its_expdir(tiny_data, tmp_path):
    proc = _recipe("std", [], tmp_path, os.path.dirname(tiny_data))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _stages_done(proc.stderr) == [0, 1, 2, 3, 5]
    exp = tmp_path / "exp" / "tiny" / "baseline_lall"
    metrics = json.loads((exp / "eval_results.json").read_text())["metrics"]
    assert -1 <= metrics["eval-mtwv"] <= 1
    assert (exp / "RESULTS.md").is_file()
    assert str(exp) in (tmp_path / "exp" / "RESULTS.md").read_text()
    assert not os.path.exists(os.path.join(REPO, "egs", "std", "RESULTS.md"))
