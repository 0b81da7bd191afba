"""egs/emotion and egs/intent end to end (every stage) on the tiny corpus and on fake real-corpus trees."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from tasks_para_sem.fake_trees import fsc_tree, iemocap_tree
from testutil import REPO, quick_steps, run_recipe

pytestmark = pytest.mark.slow

QUICK = quick_steps(4, batch_size=4)


def _recipe(task: str, args: list[str], tmp_path, mini_dir: str) -> subprocess.CompletedProcess:
    return run_recipe(task, ["--extra-overrides", QUICK, *args], tmp_path / "exp", mini_dir)


def _metrics(path) -> dict:
    return json.loads(path.read_text())["metrics"]


def test_emotion_and_intent_recipes_on_the_tiny_corpus(tiny_data, tmp_path):
    mini_dir = os.path.dirname(tiny_data)
    for task, metric in (("emotion", "test-ua"), ("intent", "test-object_acc")):
        proc = _recipe(task, [], tmp_path, mini_dir)
        assert proc.returncode == 0, proc.stderr[-3000:]
        exp = tmp_path / "exp" / "tiny" / "baseline_ws"
        metrics = _metrics(exp / "test_results.json")
        assert 0 <= metrics["test-acc"] <= 1 and metric in metrics
        assert (exp / "RESULTS.md").is_file() and (exp / "test_predictions.txt").is_file()
        os.rename(tmp_path / "exp", tmp_path / f"exp_{task}")


def test_emotion_recipe_runs_iemocap_folds_and_averages(tiny_data, tmp_path):
    db = iemocap_tree(tmp_path, sessions=5)
    proc = _recipe("emotion", ["--corpus", "iemocap", "--db", str(db), "--data-tag", f"iemocap_{os.getpid()}"],
                   tmp_path, os.path.dirname(tiny_data))
    assert proc.returncode == 0, proc.stderr[-3000:]
    tag = f"iemocap_{os.getpid()}"
    folds = [_metrics(tmp_path / "exp" / tag / f"fold{k}" / "baseline_ws" / "test_results.json")["test-acc"]
             for k in range(1, 6)]
    average = json.loads((tmp_path / "exp" / tag / "baseline_ws_cv" / "test_results.json").read_text())
    assert average["metrics"]["test-acc"] == pytest.approx(sum(folds) / 5)
    assert len(average["folds"]) == 5
    data = os.path.join(REPO, "egs", "emotion", "data", tag)
    for k in range(1, 6):  # fold k tests on session k
        with open(os.path.join(data, f"fold{k}", "test", "utt2spk")) as f:
            assert {line.split()[1][:5] for line in f} == {f"Ses0{k}"}
    subprocess.run(["rm", "-rf", data, os.path.join(REPO, "egs", "emotion", "dump", tag)], check=True)


def test_intent_recipe_prepares_fluent_commands(tiny_data, tmp_path):
    db = fsc_tree(tmp_path)
    tag = f"fsc_{os.getpid()}"
    proc = _recipe("intent", ["--corpus", "fluent_commands", "--db", str(db), "--data-tag", tag, "--stop-stage", "1"],
                   tmp_path, os.path.dirname(tiny_data))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = os.path.join(REPO, "egs", "intent", "data", tag)
    with open(os.path.join(data, "dev", "utt2intent")) as f:
        assert f.read() == "spkA-a2 bring socks none\n"
    subprocess.run(["rm", "-rf", data], check=True)
