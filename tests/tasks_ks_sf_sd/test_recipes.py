"""egs/ks, egs/sf and egs/sd end to end (every stage, mini corpus and real-corpus prep) on the tiny corpus."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from testutil import REPO

pytestmark = pytest.mark.slow

QUICK = ("config.runner.total_steps=4,,config.runner.eval_step=2,,config.runner.save_step=2,,config.runner.log_step=2,,"
         "config.runner.gradient_accumulate_steps=1,,config.downstream_expert.datarc.batch_size=4")


def _recipe(task: str, tmp_path, mini_dir: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = ["bash", f"egs/{task}/run.sh", "--mini-size", "tiny", "--mini-dir", mini_dir,
           "--expdir", str(tmp_path / "exp"), "--nj", "1", "--extra-overrides", QUICK, *args]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900, env=env)


def _metrics(exp) -> dict:
    return json.loads((exp / "test_results.json").read_text())["metrics"]


def test_keyword_spotting_recipe(tiny_corpus, tmp_path):
    proc = _recipe("ks", tmp_path, tiny_corpus)
    assert proc.returncode == 0, proc.stderr[-3000:]
    exp = tmp_path / "exp" / "tiny" / "baseline_ws"
    assert 0 <= _metrics(exp)["test-acc"] <= 1 and (exp / "RESULTS.md").is_file()
    predictions = (exp / "test_predictions.txt").read_text().splitlines()
    classes = {"yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "_unknown_", "_silence_"}
    assert all({p.split()[1], p.split()[2]} <= classes for p in predictions)
    # tiny test set: 2 held-out speakers x (10 keywords + 2 other words), 3 one-second silence windows
    speakers = sorted(p.split("-")[0] for p in predictions)
    assert speakers == ["bgnoise"] * 3 + ["s010"] * 12 + ["s011"] * 12
    assert os.path.isfile(f"{tiny_corpus}-ks/speech_commands/validation_list.txt")


def test_slot_filling_recipe(tiny_corpus, tmp_path):
    proc = _recipe("sf", tmp_path, tiny_corpus)
    assert proc.returncode == 0, proc.stderr[-3000:]
    exp = tmp_path / "exp" / "tiny" / "baseline_ws"
    metrics = _metrics(exp)
    assert 0 <= metrics["test-slot_type_f1"] <= 1 and {"test-slot_value_cer", "test-wer", "test-cer"} <= set(metrics)
    assert (exp / "decode_test_greedy" / "word" / "result.txt").is_file()
    with open(os.path.join(REPO, "egs", "sf", "data", "tiny", "lang_char_slot", "tokens.txt"), encoding="utf-8") as f:
        tokens = f.read()
    assert "B-location" in tokens and "E-time" in tokens


def test_diarization_recipe_and_its_collar(tiny_corpus, tmp_path):
    proc = _recipe("sd", tmp_path, tiny_corpus)
    assert proc.returncode == 0, proc.stderr[-3000:]
    exp = tmp_path / "exp" / "tiny" / "baseline_ws"
    metrics = _metrics(exp)
    assert 0 <= metrics["test-der_best"] <= metrics["test-der"]
    assert (exp / "scoring" / "der.txt").read_text().startswith("collar 0 s")
    proc = _recipe("sd", tmp_path, tiny_corpus, "--stage", "4", "--collar", "0.25")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (exp / "scoring" / "der.txt").read_text().startswith("collar 0.25 s")
    assert _metrics(exp)["test-der"] != metrics["test-der"]
