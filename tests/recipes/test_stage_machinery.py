"""The stage machinery of egs/utils through a recipe with trivial stages (count_recipe.sh): stages, done markers,
hash-triggered reruns, path.sh and cmd.sh."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RECIPE = Path(__file__).with_name("count_recipe.sh")
STAGE_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d stage (\d): (.*)$")


def stages(stderr: str) -> dict[int, str]:
    """Stage number -> 'ran' or 'skipped', from the timestamped stage lines."""
    out = {}
    for line in stderr.splitlines():
        m = STAGE_LINE.match(line)
        if m and m.group(2) != "done":
            out[int(m.group(1))] = "skipped" if "skipped" in m.group(2) else "ran"
    return out


def test_first_run_runs_every_stage_and_rerun_skips_them(tmp_path, bash):
    first = bash(RECIPE, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert stages(first.stderr) == {1: "ran", 2: "ran", 3: "ran"}
    assert (tmp_path / "exp/TEMPLATE/RESULTS").read_text() == "utterances=5 upstream=baseline\n"
    assert len((tmp_path / "exp/TEMPLATE/.done/stage2").read_text().splitlines()[0]) == 64
    again = bash(RECIPE, cwd=tmp_path)
    assert stages(again.stderr) == {1: "skipped", 2: "skipped", 3: "skipped"}


def test_changed_option_reruns_the_stages_that_depend_on_it(tmp_path, bash):
    assert bash(RECIPE, cwd=tmp_path).returncode == 0
    out = bash(RECIPE, "--upstream", "other", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert stages(out.stderr) == {1: "skipped", 2: "ran", 3: "ran"}
    assert "finished in a previous run" not in out.stderr, "a new stage hash reruns every job"
    assert (tmp_path / "exp/TEMPLATE/RESULTS").read_text() == "utterances=5 upstream=other\n"


def test_changed_input_file_reruns_the_stage(tmp_path, bash):
    db = tmp_path / "corpus"
    db.mkdir()
    for name in ("a", "b"):
        (db / f"{name}.wav").touch()
    assert bash(RECIPE, "--corpus", "real", "--db", db, cwd=tmp_path).returncode == 0
    (db / "c.wav").touch()
    out = bash(RECIPE, "--corpus", "real", "--db", db, cwd=tmp_path)
    assert stages(out.stderr) == {1: "ran", 2: "ran", 3: "ran"}
    assert (tmp_path / "exp/TEMPLATE/RESULTS").read_text().startswith("utterances=3 ")


def test_stage_range_and_force(tmp_path, bash):
    out = bash(RECIPE, "--stop-stage", "1", cwd=tmp_path)
    assert stages(out.stderr) == {1: "ran"}
    out = bash(RECIPE, "--stage", "2", "--stop-stage", "3", cwd=tmp_path)
    assert stages(out.stderr) == {2: "ran", 3: "ran"}
    out = bash(RECIPE, "--stage", "3", "--force", "true", cwd=tmp_path)
    assert stages(out.stderr) == {3: "ran"}


def test_interrupted_stage_has_no_marker_and_reruns(tmp_path, bash):
    assert bash(RECIPE, cwd=tmp_path).returncode == 0
    (tmp_path / "exp/TEMPLATE/.done/stage2").unlink()
    log2 = tmp_path / "exp/TEMPLATE/log/count.2.log"
    log2.write_text(log2.read_text().rsplit("# Ended", 1)[0])  # job 2 was killed
    out = bash(RECIPE, cwd=tmp_path)
    assert stages(out.stderr) == {1: "skipped", 2: "ran", 3: "skipped"}
    assert "1 of 2 jobs finished in a previous run" in out.stderr


def test_failing_job_stops_the_recipe_without_a_marker(tmp_path, bash):
    db = tmp_path / "missing"
    out = bash(RECIPE, "--corpus", "real", "--db", db, cwd=tmp_path)
    assert out.returncode != 0
    assert f"--db '{db}' is not a directory" in out.stderr
    assert not (tmp_path / "exp/TEMPLATE/.done/stage1").exists()


def test_help_and_unknown_option(tmp_path, bash):
    out = bash(RECIPE, "--help", cwd=tmp_path)
    assert out.returncode == 0
    assert re.search(r"--upstream-ckpt +\[\]", out.stdout)
    assert re.search(r"--nj +\[2\] +parallel jobs", out.stdout)
    out = bash(RECIPE, "--upstrem", "x", cwd=tmp_path)
    assert out.returncode != 0 and "unknown option --upstrem" in out.stderr
    out = bash(RECIPE, "--nj", "2", "3", cwd=tmp_path)
    assert out.returncode != 0 and "unexpected argument '3'" in out.stderr


def test_path_sh_without_environment_says_make_install(tmp_path, bash):
    utils = tmp_path / "repo/egs/utils"
    utils.mkdir(parents=True)
    shutil.copy(REPO / "egs/utils/path.sh", utils)
    out = bash("-c", f". {utils}/path.sh && echo sourced", cwd=tmp_path)
    assert out.returncode != 0
    assert f"no Python environment at {tmp_path}/repo/.venv; run `make install`" in out.stderr


def test_path_sh_activates_the_project(tmp_path, bash):
    out = bash("-c", f'. {REPO}/egs/utils/path.sh && echo "$LC_ALL $PYTHONPATH" && command -v python',
               cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"C {REPO}", f"{REPO}/.venv/bin/python"]


def test_cmd_sh_picks_the_backend(tmp_path, bash):
    show = f'. {REPO}/egs/utils/cmd.sh && echo "$extract_cmd"'
    local = bash("-c", f"cmd_backend=local; max_parallel=3; {show}", cwd=tmp_path)
    assert local.stdout.split()[1:] == ["--backend", "local", "--max-parallel", "3"]
    slurm = bash("-c", f"cmd_backend=slurm; {show}", cwd=tmp_path)
    assert slurm.stdout.split()[1:] == ["--backend", "slurm", "--slurm-conf", "conf/slurm.conf", "--gpus", "1"]
    bad = bash("-c", f"cmd_backend=sge; {show}", cwd=tmp_path)
    assert bad.returncode != 0 and "cmd_backend must be local or slurm, got 'sge'" in bad.stderr
