"""Collecting results and ranking them: directions, primary metrics, scores, Markdown and CSV."""
from __future__ import annotations

import csv
import io
import os

import pytest

from speechbench.report import leaderboard
from speechbench.report.collect import ReportError, collect, load_run, pick_best
from speechbench.report.metrics import display_metric, format_value, lower_is_better, primary_metric


@pytest.mark.parametrize("name,lower", [("test-per", True), ("dev-EER", True), ("test-minDCF", True),
                                        ("test-wer", True), ("test-loss", True), ("test-acc", False),
                                        ("test-mtwv", False), ("test-ff1", False), ("aos", False)])
def test_direction_per_metric(name, lower):
    assert lower_is_better(name) is lower


def test_primary_metric_and_display():
    assert primary_metric("asv", {"test-EER": 0.1, "test-minDCF": 0.5}) == "eer"
    assert primary_metric("pr", {"test-loss": 1.0}) is None
    assert primary_metric("newtask", {"test-loss": 1.0, "test-f1": 0.3}) == "f1"
    assert format_value("test-per", 0.12345) == "12.35"
    assert format_value("test-mtwv", 0.12345) == "0.1235"
    assert display_metric("test-EER") == "EER % ↓"


def test_collect_reads_paths_config_and_names(board_tree):
    runs = {(r.task, r.upstream): r for r in collect(board_tree)}
    assert set(runs) == {(t, u) for t in ("phone", "pr") for u in ("fbank", "apc", "tera")}
    apc = runs[("phone", "apc")]
    assert (apc.recipe, apc.data_tag, apc.upstream_tag, apc.mode) == ("phone", "mini", "apc_apc", "ws")
    assert apc.lr == 1e-3 and apc.seed == 1337 and apc.primary == "acc" and apc.score == 0.7
    assert apc.config.endswith("apc_apc_ws/config.yaml")
    assert runs[("phone", "fbank")].is_reference and not apc.is_reference


def test_superb_style_scores(board_tree):
    board = leaderboard.build(collect(board_tree), "mini")
    assert board.tasks == ["phone", "pr"]
    assert board.normalised[("apc", "phone")] == pytest.approx(1000)
    assert board.normalised[("tera", "phone")] == pytest.approx(500)
    assert board.normalised[("apc", "pr")] == pytest.approx(250)
    assert board.normalised[("tera", "pr")] == pytest.approx(1000)
    assert board.overall["tera"] == (pytest.approx(750), 2)
    assert board.overall["apc"] == (pytest.approx(625), 2)
    assert board.overall["fbank"] == (pytest.approx(0), 2)
    assert board.upstreams == ["fbank", "tera", "apc"]  # reference first, then by score


def test_missing_task_and_unnormalisable_task(make_exp):
    make_exp("phone", "baseline_ws", "phone", "baseline", {"test-acc": 0.5})
    make_exp("phone", "apc_ws", "phone", "apc", {"test-acc": 0.9})
    make_exp("emotion", "apc_ws", "emotion", "apc", {"test-acc": 0.4})  # no fbank run: not normalisable
    board = leaderboard.build(collect(make_exp.egs), "mini")
    assert board.overall["apc"] == (pytest.approx(1000), 1)
    md = leaderboard.to_markdown(board, str(make_exp.egs), "abc1234", "2026-01-01")
    row = next(line for line in md.splitlines() if line.startswith("| apc |"))
    assert "1000 (1/2)" in row and "40.00" in row
    fbank = next(line for line in md.splitlines() if line.startswith("| fbank |"))
    assert fbank.rstrip().endswith("| - |")  # no emotion run


def test_markdown_links_and_csv(board_tree, tmp_path):
    board = leaderboard.build(collect(board_tree), "mini")
    out = str(tmp_path / "result")
    paths = leaderboard.write(board, out, "abc1234", "2026-01-01 10:00 UTC", heatmap="heatmap.png")
    md = open(paths[0]).read()
    assert "commit `abc1234`" in md and "2026-01-01 10:00 UTC" in md
    assert "| fbank | 0 | [50.00](../egs/phone/exp/mini/baseline_ws/RESULTS.md) | [50.00](" in md
    assert "| phone ACC % ↑ | pr PER % ↓ |" in md
    assert "[config](../egs/phone/exp/mini/apc_apc_ws/config.yaml)" in md
    assert "[best-states-dev.ckpt](../egs/phone/exp/mini/apc_apc_ws/best-states-dev.ckpt)" in md
    rows = list(csv.DictReader(io.StringIO(open(paths[1]).read())))
    assert [r["upstream"] for r in rows] == ["fbank", "tera", "apc"]
    assert rows[1]["score"] == "750.00" and rows[1]["pr/per"] == "0.3" and rows[1]["phone/lr"] == "0.001"
    long = list(csv.DictReader(io.StringIO(open(paths[2]).read())))
    per = next(r for r in long if r["task"] == "pr" and r["upstream"] == "apc")
    assert per["direction"] == "lower" and per["normalised"] == "250.00"
    assert next(r for r in long if r["task"] == "pr" and r["upstream"] == "fbank")["normalised"] == "0.00"
    assert per["checkpoint"].endswith("pr/exp/mini/apc_apc_ws/best-states-dev.ckpt")


def test_lr_group_picks_best_on_dev(make_exp):
    # PER: lower is better on dev -> 1e-3 wins even though its test number is worse
    for lr, dev, test in (("1e-2", 0.40, 0.30), ("1e-3", 0.20, 0.35), ("1e-4", 0.25, 0.10)):
        make_exp("pr", f"apc_ws_lr{lr}", "pr", "apc", {"test-per": test}, lr=float(lr), dev={"dev-per": dev})
    (run,) = collect(make_exp.egs)
    assert run.lr == 1e-3 and run.score == 0.35
    assert run.lr_candidates == [1e-4, 1e-3, 1e-2]
    board = leaderboard.build([run], "mini")
    assert "lr 0.001 of {0.0001, 0.001, 0.01}" in leaderboard.to_markdown(board, make_exp.egs, "c")


def test_pick_best_ties_take_smaller_lr(make_exp):
    a, b = (load_run(os.path.join(make_exp("phone", f"x_ws_lr{lr}", "phone", "x", {"test-acc": 0.1}, lr=float(lr),
                                           dev={"dev-acc": 0.5}), "test_results.json")) for lr in ("1e-2", "1e-4"))
    assert pick_best([a, b]) is b and pick_best([b, a]) is b


def test_bad_results_file_names_the_file(make_exp):
    path = make_exp("phone", "baseline_ws", "phone", "baseline", {"test-acc": 0.5})
    bad = os.path.join(path, "test_results.json")
    open(bad, "w").write("{not json")
    with pytest.raises(ReportError, match="test_results.json: cannot read results"):
        collect(make_exp.egs)


def test_run_outside_egs_takes_tag_from_its_parent(tmp_path):
    expdir = tmp_path / "myexp" / "tiny" / "apc_ws_lr1e-3"
    expdir.mkdir(parents=True)
    (expdir / "dev_results.json").write_text('{"split": "dev", "metrics": {"dev-acc": 0.5}, "downstream": "phone"}')
    run = load_run(str(expdir / "dev_results.json"))
    assert (run.recipe, run.data_tag, run.upstream_tag, run.mode, run.dev_score) == ("phone", "tiny", "apc", "ws", 0.5)


def test_term_detection_best_layer_runs_join_their_upstream_row(make_exp):
    make_exp("phone", "baseline_ws", "phone", "baseline", {"test-acc": 0.5})
    make_exp("phone", "apc_ws", "phone", "apc", {"test-acc": 0.7})
    make_exp("std", "baseline_lall", "std", "baseline", {"test-mtwv": 0.07})
    make_exp("std", "apc_lall", "std", "apc", {"test-mtwv": 0.10})
    board = leaderboard.build(collect(make_exp.egs), "mini")
    md = leaderboard.to_markdown(board, str(make_exp.egs), "abc1234", "2026-01-01")
    rows = [line for line in md.splitlines() if line.startswith("| ") and "upstream" not in line
            and not line.startswith("|---")]
    assert [r.split("|")[1].strip() for r in rows[:2]] == ["fbank", "apc"]
    assert board.overall["apc"] == (pytest.approx(1000), 2)


def test_seeds_of_a_run_show_mean_and_spread(make_exp):
    make_exp("phone", "baseline_ws", "phone", "baseline", {"test-acc": 0.5})
    for seed, acc in ((1337, 0.6), (1338, 0.7), (1339, 0.8)):
        make_exp("phone", "apc_ws" if seed == 1337 else f"apc_ws_seed{seed}", "phone", "apc", {"test-acc": acc},
                 seed=seed)
    runs = {r.upstream: r for r in collect(make_exp.egs)}
    assert set(runs) == {"fbank", "apc"}  # the seeds are one row
    apc = runs["apc"]
    assert apc.seeds == [1337, 1338, 1339] and apc.score == pytest.approx(0.7) and apc.spread == pytest.approx(0.1)
    assert runs["fbank"].spread is None and runs["fbank"].score == 0.5
    board = leaderboard.build(list(runs.values()), "mini")
    md = leaderboard.to_markdown(board, make_exp.egs, "c")
    row = next(line for line in md.splitlines() if line.startswith("| apc | 1000 |"))
    assert "[70.00 ± 10.00](" in row and "| apc | phone | 70.00 ± 10.00 | - | lr 0.001 | 1337, 1338, 1339 |" in md
    long = {r["upstream"]: r for r in csv.DictReader(io.StringIO(leaderboard.runs_csv(board)))}
    assert long["apc"]["spread"] == "0.1" and long["apc"]["seeds"] == "1337 1338 1339"
    assert long["fbank"]["spread"] == "" and long["fbank"]["seeds"] == "1337"


def test_chance_and_ceiling_rows_bound_the_table_without_a_score(make_exp):
    make_exp("pr", "baseline_ws", "pr", "baseline", {"test-per": 0.8})
    make_exp("pr", "apc_ws", "pr", "apc", {"test-per": 0.6})
    make_exp("pr", "control_kind_chance_ws", "pr", "control", {"test-per": 1.0})
    make_exp("pr", "control_kind_ceiling_ws", "pr", "control", {"test-per": 0.02})
    board = leaderboard.build(collect(make_exp.egs), "mini")
    assert board.upstreams == ["fbank", "apc", "chance", "ceiling"]
    assert board.normalised[("apc", "pr")] == pytest.approx(1000 * (0.6 - 0.8) / (0.02 - 0.8))  # fbank 0, ceiling 1000
    assert board.overall["ceiling"] == (None, 0) and board.is_control("chance") and not board.is_control("apc")
    md = leaderboard.to_markdown(board, make_exp.egs, "c")
    assert md.index("| *chance* | - | [100.00](") < md.index("| *ceiling* | - | [2.00](")


def test_a_best_upstream_a_hair_above_fbank_does_not_blow_up_the_scores(make_exp):
    """Without the ceiling anchor, qa's 0.05-point best would put apc at -63000 (the demo once showed -5643)."""
    make_exp("qa", "baseline_ws", "qa", "baseline", {"test-ff1": 0.2789})
    make_exp("qa", "tera_ws", "qa", "tera", {"test-ff1": 0.2794})
    make_exp("qa", "apc_ws", "qa", "apc", {"test-ff1": 0.2473})
    make_exp("qa", "control_kind_ceiling_ws", "qa", "control", {"test-ff1": 0.9853})
    board = leaderboard.build(collect(make_exp.egs), "mini")
    assert board.normalised[("apc", "qa")] == pytest.approx(1000 * (0.2473 - 0.2789) / (0.9853 - 0.2789))
    assert -50 < board.overall["apc"][0] < 0 < board.overall["tera"][0] < 1
