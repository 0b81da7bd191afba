"""egs/qa and egs/std end to end (every stage) on the tiny corpus."""
from __future__ import annotations

import json
import os

import pytest

from testutil import REPO, quick_steps, run_recipe, stages_done

pytestmark = pytest.mark.slow

QUICK = quick_steps(4, batch_size=2)


def test_qa_recipe_runs_every_stage(tiny_data, tmp_path):
    proc = run_recipe("qa", ["--extra-overrides", QUICK], tmp_path / "exp", os.path.dirname(tiny_data))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert stages_done(proc.stderr) == [0, 1, 2, 3, 4, 5]
    exp = tmp_path / "exp" / "tiny" / "baseline_ws"
    metrics = json.loads((exp / "test_results.json").read_text())["metrics"]
    assert 0 <= metrics["test-ff1"] <= 1 and 0 <= metrics["test-aos"] <= 1
    assert str(exp) in (tmp_path / "exp" / "RESULTS.md").read_text()


def test_std_recipe_scores_and_writes_results_into_its_expdir(tiny_data, tmp_path):
    proc = run_recipe("std", [], tmp_path / "exp", os.path.dirname(tiny_data))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert stages_done(proc.stderr) == [0, 1, 2, 3, 5]
    exp = tmp_path / "exp" / "tiny" / "baseline_lall"
    metrics = json.loads((exp / "eval_results.json").read_text())["metrics"]
    assert -1 <= metrics["eval-mtwv"] <= 1
    assert (exp / "RESULTS.md").is_file()
    assert str(exp) in (tmp_path / "exp" / "RESULTS.md").read_text()
    assert not os.path.exists(os.path.join(REPO, "egs", "std", "RESULTS.md"))
