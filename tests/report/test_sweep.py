"""``speechbench sweep`` driving a stand-in recipe: one head per lr, best on dev, test once."""
from __future__ import annotations

import json
import os
import textwrap

import pytest

from speechbench.report.collect import collect
from speechbench.report.sweep import SweepError, experiment_of, sweep

# A recipe with the real one's interface and log lines; dev PER depends on the lr (1e-3 best).
FAKE_RUN_SH = textwrap.dedent("""\
    set -euo pipefail
    cd "$(dirname "${BASH_SOURCE[0]}")"
    stage=0; stop_stage=100; lr=; upstream=baseline
    while [ $# -gt 0 ]; do
      case $1 in --stage) stage=$2;; --stop-stage) stop_stage=$2;; --lr) lr=$2;; --upstream) upstream=$2;;
        *) echo "bad option $1" >&2; exit 1;; esac; shift 2
    done
    echo "$stage-$stop_stage lr=$lr" >> calls.txt
    exp=exp/mini/${upstream}_ws${lr:+_lr$lr}
    if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
      [ "$lr" = 1e-1 ] && { echo "loss is nan" >&2; exit 1; }
      echo "2026-01-01 00:00:00 stage 3: train pr on $upstream -> $exp" >&2
      mkdir -p "$exp"; touch "$exp/best-states-dev.ckpt"; sleep 0.01
      printf 'optimizer:\\n  lr: %s\\n' "$lr" > "$exp/config.yaml"
      case $lr in 1e-2) d=0.4;; 1e-3) d=0.2;; *) d=0.3;; esac
      echo "{\\"split\\": \\"dev\\", \\"metrics\\": {\\"dev-per\\": $d}, \\"upstream\\": \\"$upstream\\", \\"downstream\\": \\"pr\\"}" \\
        > "$exp/dev_results.json"
    fi
    if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
      echo "{\\"split\\": \\"test\\", \\"metrics\\": {\\"test-per\\": 0.25}, \\"upstream\\": \\"$upstream\\", \\"downstream\\": \\"pr\\", \\"checkpoint\\": \\"$PWD/$exp/best-states-dev.ckpt\\"}" \\
        > "$exp/test_results.json"
    fi
    """)


@pytest.fixture
def recipe(tmp_path):
    d = tmp_path / "egs" / "pr"
    d.mkdir(parents=True)
    (d / "run.sh").write_text(FAKE_RUN_SH)
    return str(d)


def test_sweep_trains_each_lr_and_tests_the_best(recipe, tmp_path):
    messages = []
    result = sweep(recipe, ["1e-2", "1e-3", "1e-4"], ["--upstream", "apc"], progress=messages.append)
    assert result["chosen"] == "1e-3" and result["metric"] == "per"
    assert result["dev"] == {"1e-2": 0.4, "1e-3": 0.2, "1e-4": 0.3}
    calls = open(os.path.join(recipe, "calls.txt")).read().split("\n")
    assert calls[:5] == ["0-2 lr=", "3-3 lr=1e-2", "3-3 lr=1e-3", "3-3 lr=1e-4", "4-5 lr=1e-3"]
    assert os.path.isfile(os.path.join(recipe, "exp/mini/apc_ws_lr1e-3/test_results.json"))
    assert not os.path.exists(os.path.join(recipe, "exp/mini/apc_ws_lr1e-2/test_results.json"))
    summary = json.load(open(result["summary"]))
    assert summary["chosen"] == "1e-3" and summary["recipe_args"] == ["--upstream", "apc"]
    assert any("chose lr 1e-3" in m for m in messages)
    (run,) = collect(str(tmp_path / "egs"))
    assert run.lr == 1e-3 and run.lr_candidates == [1e-4, 1e-3, 1e-2]


def test_sweep_errors(recipe, tmp_path):
    with pytest.raises(SweepError, match="do not pass --lr"):
        sweep(recipe, ["1e-3"], ["--lr", "1e-2"])
    with pytest.raises(SweepError, match="'fast' is not a number"):
        sweep(recipe, ["fast"], [])
    with pytest.raises(SweepError, match="run.sh not found"):
        sweep(str(tmp_path), ["1e-3"], [])
    with pytest.raises(SweepError, match=r"(?s)--lr 1e-1 --stage 3 --stop-stage 3 failed \(exit 1\).*loss is nan"):
        sweep(recipe, ["1e-1"], [], progress=lambda m: None)


def test_experiment_line_parsing():
    out = "x\n2026-01-01 00:00:00 stage 3: train pr on apc_apc -> exp/mini/apc_apc_ws_lr1e-3\n"
    assert experiment_of(out, "/r") == "/r/exp/mini/apc_apc_ws_lr1e-3"
    skipped = ("2026-01-01 00:00:00 stage 3: train pr on apc -> /abs/exp/mini/apc_ws_lr1e-3 (done before with "
               "the same inputs; skipped, rm x to redo)")
    assert experiment_of(skipped, "/r") == "/abs/exp/mini/apc_ws_lr1e-3"
    with pytest.raises(SweepError, match="printed no 'stage 3: train"):
        experiment_of("nothing", "/r")
