"""egs/speaker and egs/asv end to end (every stage) on the tiny corpus, and asv's stage 1 on VoxCeleb1 trees."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tasks_speaker.test_voxceleb1 import make_tree
from testutil import REPO

pytestmark = pytest.mark.slow

QUICK = ("config.runner.total_steps=4,,config.runner.eval_step=2,,config.runner.save_step=2,,config.runner.log_step=2,,"
         "config.runner.gradient_accumulate_steps=1,,config.downstream_expert.datarc.batch_size=4")


def _recipe(task: str, args: list[str], tmp_path, mini_dir: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = ["bash", f"egs/{task}/run.sh", "--mini-size", "tiny", "--mini-dir", mini_dir,
           "--expdir", str(tmp_path / "exp"), "--nj", "1", "--extra-overrides", QUICK, *args]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900, env=env)


def _stages_run(stderr: str) -> list[int]:
    return [int(line.split("stage ")[1].split(":")[0]) for line in stderr.splitlines() if line.endswith(": done")]


@pytest.mark.parametrize("task,metric", [("speaker", "test-acc"), ("asv", "test-EER")])
def test_recipe_runs_every_stage_on_the_tiny_corpus(tiny, tmp_path, task, metric):
    proc = _recipe(task, [], tmp_path, os.path.dirname(tiny))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _stages_run(proc.stderr) == [0, 1, 2, 3, 4, 5]
    exp = tmp_path / "exp" / "tiny" / "baseline_ws"
    metrics = json.loads((exp / "test_results.json").read_text())["metrics"]
    assert 0 <= metrics[metric] <= 1
    assert (exp / "RESULTS.md").is_file() and str(exp) in (tmp_path / "exp" / "RESULTS.md").read_text()
    assert (exp / "log" / "train.log").is_file()


def test_asv_recipe_on_three_voxceleb1_speakers_takes_a_dev_dir(tiny, tmp_path):
    db = make_tree(tmp_path / "vox")
    split = tmp_path / "vox" / "iden_split.txt"
    split.write_text("".join(x for x in split.read_text().splitlines(True) if "id10004" not in x))
    tag = f"vox3_{os.getpid()}"
    data = os.path.join(REPO, "egs", "asv", "data", tag)
    args = ["--corpus", "voxceleb1", "--db", db, "--data-tag", tag, "--stop-stage", "1"]
    try:
        proc = _recipe("asv", args, tmp_path, os.path.dirname(tiny))
        assert proc.returncode == 1
        assert "no --dev-speakers value works: give a dev set of your own with --dev-dir" in proc.stderr
        proc = _recipe("asv", [*args, "--dev-dir", os.path.join(tiny, "asv", "test")], tmp_path, os.path.dirname(tiny))
        assert proc.returncode == 0, proc.stderr[-3000:]
        with open(os.path.join(data, "train", "utt2spk")) as f:
            assert {line.split()[1] for line in f} == {"id10001", "id10002", "id10003"}
        assert os.path.isfile(os.path.join(data, "dev", "trials")) and os.path.isfile(os.path.join(data, "test", "trials"))
    finally:
        shutil.rmtree(data, ignore_errors=True)
