"""The demo end to end on the tiny corpus: phone + emotion, fbank + a 20-step APC with two seeds
each, the chance and ceiling controls, leaderboard.

Runs ``tools/demo.sh`` as ``make demo`` does, with its experiments in a scratch folder
(``--exp-root``; data and feature caches stay in the recipes), then retrains the phone
baseline into another fresh folder with the first seed and checks it reproduces that seed's
number exactly.
"""
from __future__ import annotations

import csv
import json
import statistics
import subprocess

import pytest

from testutil import run_in_repo

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # ~3 min idle; room for a loaded machine

STEPS = "40"


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    return run_in_repo(cmd, ("phone/tiny", "emotion/tiny"), timeout)


def _acc(expdir) -> float:
    return json.load(open(expdir / "test_results.json"))["metrics"]["test-acc"]


def test_demo_tiny_end_to_end(tmp_path):
    out, egs = tmp_path / "demo", tmp_path / "egs"
    proc = _run(["bash", "tools/demo.sh", "--size", "tiny", "--upstreams", "apc", "--tasks", "phone emotion",
                 "--pretrain-steps", "20", "--train-steps", STEPS, "--seeds", "2", "--out", str(out),
                 "--exp-root", str(egs)], timeout=780)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[demo 15/15] leaderboard: done" in proc.stderr
    steps = list(csv.DictReader(open(out / "timings.tsv"), delimiter="\t"))
    per_task = [f"{{t}} with {u}{s}" for u in ("baseline", "apc") for s in ("", " (seed 1338)")] + \
        ["{t} with control:chance", "{t} with control:ceiling"]
    assert [s["step"] for s in steps] == ["mini corpus (tiny)", "pretrain apc", *(n.format(t="phone") for n in per_task),
                                          *(n.format(t="emotion") for n in per_task), "leaderboard"]
    assert all(s["status"] == "ok" for s in steps)

    rows = {r["upstream"]: r for r in csv.DictReader(open(out / "leaderboard.csv"))}
    assert set(rows) == {"fbank", "apc", "chance", "ceiling"}
    for name in rows:
        assert 0.0 <= float(rows[name]["phone/acc"]) <= 1.0 and 0.0 <= float(rows[name]["emotion/acc"]) <= 1.0
    assert float(rows["fbank"]["score"]) == 0.0 and rows["ceiling"]["score"] == ""
    assert float(rows["ceiling"]["phone/acc"]) > float(rows["chance"]["phone/acc"])
    seeds = [_acc(egs / "phone" / "exp" / "tiny" / name) for name in ("baseline_ws", "baseline_ws_seed1338")]
    assert float(rows["fbank"]["phone/acc"]) == pytest.approx(statistics.mean(seeds), rel=1e-5)
    for png in ("heatmap.png", "curves_phone.png", "curves_emotion.png", "layers_apc.png"):
        assert (out / png).stat().st_size > 1000, png
    md = (out / "leaderboard.md").read_text()
    assert "| upstream | score ↑ | phone ACC % ↑" in md and "![leaderboard heat map](heatmap.png)" in md
    assert f"{100 * statistics.mean(seeds):.2f} ± {100 * statistics.stdev(seeds):.2f}" in md
    assert "| *chance* |" in md and "| *ceiling* |" in md

    # Same seed, fresh experiment folder: the same number.
    fresh = tmp_path / "again"
    proc = _run(["bash", "egs/phone/run.sh", "--mini-size", "tiny", "--expdir", str(fresh), "--extra-overrides",
                 f"config.runner.total_steps={STEPS},,config.runner.eval_step=20,,config.runner.save_step=20,,"
                 "config.runner.log_step=10"], timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "egs" / "phone" / "exp" / "tiny" / "baseline_ws" / "best-states-dev.ckpt").is_file()
    again = json.load(open(fresh / "tiny" / "baseline_ws" / "test_results.json"))["metrics"]["test-acc"]
    assert again == seeds[0]
