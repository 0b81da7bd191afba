"""egs/pr and egs/asr end to end on the tiny corpus (every stage), as `make test` runs recipes."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from testutil import REPO, quick_steps, run_recipe

pytestmark = pytest.mark.slow

QUICK = quick_steps(6)


def _recipe(task: str, args: list[str], tmp_path) -> subprocess.CompletedProcess:
    return run_recipe(task, args, tmp_path / "exp", tmp_path / "mini", timeout=600)


def test_pr_recipe(tmp_path):
    small = ",,config.downstream_expert.modelrc.project_dim=16"
    proc = _recipe("pr", ["--decoder", "beam", "--beam", "3", "--extra-overrides", QUICK + small], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    exp = tmp_path / "exp" / "tiny" / "baseline_ws"
    metrics = json.load(open(exp / "test_results.json"))["metrics"]
    assert metrics["test-per_beam3"] > 0  # 6 steps from random init: insertions can push it past 1
    assert (exp / "decode_test_beam" / "phone" / "result.txt").read_text().startswith("PER")
    assert (exp / "RESULTS.md").is_file() and "per_beam3" in (tmp_path / "exp" / "RESULTS.md").read_text()


def test_asr_recipe_with_sentencepiece(tmp_path):
    small = (",,config.downstream_expert.modelrc.project_dim=16,,config.downstream_expert.modelrc.hidden_size=16")
    proc = _recipe("asr", ["--unit", "sentencepiece", "--vocab-size", "60", "--decoder", "beam",
                           "--extra-overrides", QUICK + small], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    exp = tmp_path / "exp" / "lang_bpe60" / "tiny" / "baseline_ws"
    metrics = json.load(open(exp / "test_results.json"))["metrics"]
    assert metrics["test-wer_beam5"] > 0 and metrics["test-cer_beam5"] > 0
    for unit in ("word", "char"):
        assert (exp / "decode_test_beam" / unit / "hyp.trn").is_file()
    assert os.path.isfile(os.path.join(REPO, "egs", "asr", "data", "tiny", "lang_bpe60", "spm.model"))
