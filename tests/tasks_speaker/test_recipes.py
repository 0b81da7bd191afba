"""egs/speaker and egs/asv end to end (every stage) on the tiny corpus, and asv's stage 1 on VoxCeleb1 trees."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from tasks_speaker.test_voxceleb1 import make_tree
from testutil import REPO, quick_steps, run_recipe, stages_done

pytestmark = pytest.mark.slow

QUICK = quick_steps(4, batch_size=4)


@pytest.mark.parametrize("task,metric", [("speaker", "test-acc"), ("asv", "test-EER")])
def test_recipe_runs_every_stage_on_the_tiny_corpus(tiny_data, tmp_path, task, metric):
    proc = run_recipe(task, ["--extra-overrides", QUICK], tmp_path / "exp", os.path.dirname(tiny_data))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert stages_done(proc.stderr) == [0, 1, 2, 3, 4, 5]
    exp = tmp_path / "exp" / "tiny" / "baseline_ws"
    metrics = json.loads((exp / "test_results.json").read_text())["metrics"]
    assert 0 <= metrics[metric] <= 1
    assert (exp / "RESULTS.md").is_file() and str(exp) in (tmp_path / "exp" / "RESULTS.md").read_text()
    assert (exp / "log" / "train.log").is_file()


def test_asv_recipe_on_three_voxceleb1_speakers_takes_a_dev_dir(tiny_data, tmp_path):
    db = make_tree(tmp_path / "vox")
    split = tmp_path / "vox" / "iden_split.txt"
    split.write_text("".join(x for x in split.read_text().splitlines(True) if "id10004" not in x))
    tag = f"vox3_{os.getpid()}"
    data = os.path.join(REPO, "egs", "asv", "data", tag)
    args = ["--corpus", "voxceleb1", "--db", db, "--data-tag", tag, "--stop-stage", "1"]
    try:
        proc = run_recipe("asv", args, tmp_path / "exp", os.path.dirname(tiny_data))
        assert proc.returncode == 2  # the prep's user-error status, passed on by the recipe
        assert "no --dev-speakers value works: give a dev set of your own with --dev-dir" in proc.stderr
        proc = run_recipe("asv", [*args, "--dev-dir", os.path.join(tiny_data, "asv", "test")], tmp_path / "exp",
                          os.path.dirname(tiny_data))
        assert proc.returncode == 0, proc.stderr[-3000:]
        with open(os.path.join(data, "train", "utt2spk")) as f:
            assert {line.split()[1] for line in f} == {"id10001", "id10002", "id10003"}
        assert os.path.isfile(os.path.join(data, "dev", "trials")) and os.path.isfile(os.path.join(data, "test", "trials"))
    finally:
        shutil.rmtree(data, ignore_errors=True)
