"""``speechbench report`` end to end on fake results: files, figures, layer weights, errors."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from speechbench.cli import main as cli_main
from speechbench.report import plots
from speechbench.report.build import make_report
from speechbench.report.collect import ReportError, collect

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == PNG_MAGIC


def test_report_writes_tables_and_figures(board_tree, tmp_path):
    out = str(tmp_path / "out")
    made = make_report(board_tree, out, date="2026-01-01 00:00 UTC")
    names = sorted(os.listdir(out))
    assert {"leaderboard.md", "leaderboard.csv", "leaderboard_runs.csv", "heatmap.png", "curves_phone.png",
            "layers_apc.png", "layers_tera.png"} <= set(names)
    assert "curves_pr.png" not in names        # pr runs have no events
    assert "layers_fbank.png" not in names     # one hidden state: no weights to learn
    assert all(_png(os.path.join(out, n)) for n in names if n.endswith(".png"))
    assert "![leaderboard heat map](heatmap.png)" in open(os.path.join(out, "leaderboard.md")).read()
    assert made["board"].data_tag == "mini"


def test_layer_weights_are_the_softmax_of_the_checkpoint(board_tree):
    runs = {(r.task, r.upstream): r for r in collect(board_tree)}
    w = plots.layer_weights(runs[("phone", "apc")])
    e = np.exp([0.0, 1.0, 2.0, 0.0])
    np.testing.assert_allclose(w, e / e.sum(), rtol=1e-6)
    assert plots.layer_weights(runs[("phone", "fbank")]) is None


def test_layer_weights_fall_back_to_events(make_exp):
    path = make_exp("phone", "apc_ws", "phone", "apc", {"test-acc": 0.5},
                    curve={"layer_weight/0": [(10, 0.9), (20, 0.2)], "layer_weight/1": [(10, 0.1), (20, 0.8)]})
    (run,) = collect(make_exp.egs)
    assert run.expdir == path
    np.testing.assert_allclose(plots.layer_weights(run), [0.2, 0.8], rtol=1e-6)


def test_curves_keep_the_last_value_of_a_resumed_step(make_exp):
    path = make_exp("phone", "apc_ws", "phone", "apc", {"test-acc": 0.5}, curve={"dev-acc": [(5, 0.1), (10, 0.2)]})
    make_exp("phone", "apc_ws", "phone", "apc", {"test-acc": 0.5}, curve={"dev-acc": [(10, 0.3), (15, 0.4)]})
    series = plots._scalars(path)
    assert series["dev-acc"] == [(5, pytest.approx(0.1)), (10, pytest.approx(0.3)), (15, pytest.approx(0.4))]


def test_several_data_tags_need_a_choice(make_exp, tmp_path):
    make_exp("phone", "baseline_ws", "phone", "baseline", {"test-acc": 0.5}, data_tag="mini")
    make_exp("phone", "baseline_ws", "phone", "baseline", {"test-acc": 0.3}, data_tag="tiny")
    with pytest.raises(ReportError, match=r"several data sets .*\(mini, tiny\); choose one with --data-tag"):
        make_report(make_exp.egs, str(tmp_path / "o"), plots=False)
    made = make_report(make_exp.egs, str(tmp_path / "o"), data_tag="tiny", plots=False)
    assert made["board"].run("fbank", "phone").score == 0.3
    with pytest.raises(ReportError, match="no results for data tag 'big'"):
        make_report(make_exp.egs, str(tmp_path / "o"), data_tag="big", plots=False)


def test_cli_report_and_errors(board_tree, tmp_path, capsys):
    assert cli_main(["report", "--egs", board_tree, "--out", str(tmp_path / "r"), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "3 upstreams x 2 tasks (phone, pr)" in out and "tera" in out
    assert cli_main(["report", "--egs", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    os.makedirs(tmp_path / "empty")
    assert cli_main(["report", "--egs", str(tmp_path / "empty"), "--out", str(tmp_path / "r")]) == 2
    assert "run a recipe first" in capsys.readouterr().err
    assert cli_main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_python_dash_m_entry_point(board_tree, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "speechbench.report", "--egs", board_tree, "--out",
                           str(tmp_path / "r"), "--no-plots"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert os.path.isfile(tmp_path / "r" / "leaderboard.csv")


def test_readme_block_is_replaced_between_markers(board_tree, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# speechbench\n\n<!-- speechbench leaderboard: start -->\nold table\n"
                      "<!-- speechbench leaderboard: end -->\n\nmore text\n")
    make_report(board_tree, str(tmp_path / "result" / "demo"), plots=False, date="2026-01-01 00:00 UTC",
                readme=str(readme))
    text = readme.read_text()
    assert "old table" not in text and text.startswith("# speechbench\n") and text.endswith("\nmore text\n")
    assert "on 2026-01-01 00:00 UTC at commit" in text
    assert "| tera | 750 | [60.00](egs/phone/exp/mini/tera_tera_ws/RESULTS.md) |" in text
    assert "[result/demo/leaderboard.md](result/demo/leaderboard.md)" in text
    make_report(board_tree, str(tmp_path / "result" / "demo"), plots=False, readme=str(readme))
    assert readme.read_text().count("<!-- speechbench leaderboard: start -->") == 1
    bare = tmp_path / "BARE.md"
    bare.write_text("no markers\n")
    with pytest.raises(ValueError, match="BARE.md has no '<!-- speechbench leaderboard: start -->'"):
        make_report(board_tree, str(tmp_path / "o"), plots=False, readme=str(bare))
