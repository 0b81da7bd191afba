"""The weights an experiment used reach RESULTS.md, the task summary and the leaderboard."""
from __future__ import annotations

import csv
import io
import json
import os

from speechbench.report import leaderboard
from speechbench.report.collect import collect
from speechbench.report.results import write_results

DIGEST = "ab" * 32


def _experiment(egs, name: str, upstream: str, weights: dict | None, ckpt: str | None, acc: float) -> str:
    expdir = os.path.join(egs, "phone", "exp", "mini", name)
    os.makedirs(expdir)
    with open(os.path.join(expdir, "test_results.json"), "w") as f:
        json.dump({"split": "test", "metrics": {"test-acc": acc}, "checkpoint": None, "step": 4, "upstream": upstream,
                   "downstream": "phone", "layer": None, "upstream_ckpt": ckpt, "upstream_weights": weights}, f)
    return expdir


def test_weights_in_results_summary_and_leaderboard(tmp_path):
    egs = str(tmp_path / "egs")
    path = "/cache/models/apc/apc_360hr/apc_360hr.ckpt"
    named = _experiment(egs, "apc_apc_360hr_ws", "apc", {"name": "apc_360hr", "path": path, "sha256": DIGEST},
                        path, 0.6)
    rand = _experiment(egs, "tera_random_ws", "tera", {"name": "random", "path": None, "sha256": None}, None, 0.4)
    old = _experiment(egs, "baseline_ws", "baseline", None, None, 0.5)  # a result from before names
    summary = str(tmp_path / "RESULTS.md")
    for expdir in (named, rand, old):
        write_results(expdir, summary=summary)
    assert f"- upstream weights: `apc_360hr`, sha256 `{DIGEST}`, file `{path}`" in open(f"{named}/RESULTS.md").read()
    assert "- upstream weights: random weights (`-k random`)" in open(f"{rand}/RESULTS.md").read()
    assert "- upstream weights: none (this upstream has no weights)" in open(f"{old}/RESULTS.md").read()
    rows = open(summary).read().splitlines()
    assert rows[0].startswith("| date | upstream | upstream weights |")
    assert [r.split(" | ")[2] for r in rows[2:]] == ["apc_360hr", "random", "-"]

    board = leaderboard.build(collect(egs), "mini")
    md = leaderboard.to_markdown(board, str(tmp_path / "out"), commit="abc", date="today")
    assert "| upstream | task | value | upstream weights | learning rate |" in md
    assert f"| 60.00 | apc_360hr (sha256 {DIGEST[:12]}) |" in md and "| 40.00 | random |" in md
    runs = {r["upstream"]: r for r in csv.DictReader(io.StringIO(leaderboard.runs_csv(board)))}
    apc = next(r for u, r in runs.items() if u.startswith("apc"))
    assert (apc["upstream_weights"], apc["upstream_sha256"]) == ("apc_360hr", DIGEST)
