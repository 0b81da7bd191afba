"""``speechbench report``: every scored experiment under egs/ into one leaderboard with figures.

    speechbench report [--egs egs] [--data-tag mini] [--out result/leaderboard] [--no-plots]

Writes ``leaderboard.md``, ``leaderboard.csv`` (upstream x task), ``leaderboard_runs.csv``
(one row per number with its config and checkpoint) and PNGs (``heatmap.png``,
``curves_<task>.png``, ``layers_<upstream>.png``) into ``--out``.
"""
from __future__ import annotations

import argparse
import datetime
import os

from speechbench.errors import run_command
from speechbench.report import leaderboard
from speechbench.report.collect import ReportError, collect, data_tag_of, find_results
from speechbench.report.results import git_revision

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def choose_data_tag(egs: str, data_tag: str | None) -> str:
    """The data tag to report: the given one, or the only one present (else a clear error)."""
    tags = sorted({data_tag_of(p) for p in find_results(egs)} - {""})
    if data_tag is not None:
        if tags and data_tag not in tags:
            raise ReportError(f"no results for data tag '{data_tag}' under {egs}/*/exp/; found: {', '.join(tags)}")
        return data_tag
    if len(tags) > 1:
        raise ReportError(f"results for several data sets under {egs}/*/exp/ ({', '.join(tags)}); "
                          "choose one with --data-tag")
    return tags[0] if tags else ""


def make_report(egs: str, out: str, data_tag: str | None = None, plots: bool = True,
                date: str | None = None, readme: str | None = None) -> dict:
    """Collect, rank, and write the leaderboard files (and figures) into ``out``."""
    if not os.path.isdir(egs):
        raise ReportError(f"{egs} is not a directory (give the recipes' egs/ folder with --egs)")
    tag = choose_data_tag(egs, data_tag)
    runs = collect(egs, tag or None)
    if not runs:
        raise ReportError(f"no <split>_results.json under {egs}/*/exp/: run a recipe first (e.g. egs/phone/run.sh)")
    board = leaderboard.build(runs, tag)
    commit = git_revision()
    date = date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    figures: dict[str, list[str]] = {}
    if plots:
        from speechbench.report import plots as plotting

        figures = plotting.write_all(board, out, subtitle=f"{date}, commit {commit}")
    links = leaderboard.publish(board, out)
    files = leaderboard.write(board, out, commit, date, heatmap="heatmap.png" if plots else None, links=links)
    if readme:
        leaderboard.update_readme(readme, board, out, commit, date, "heatmap.png" if plots else None, links)
        files.append(readme)
    return {"board": board, "files": files, "figures": figures}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="speechbench report", description=__doc__.split("\n\n")[0])
    p.add_argument("--egs", default=os.path.join(REPO, "egs"), help="recipes folder to scan (default: %(default)s)")
    p.add_argument("--data-tag", help="which data the runs used (tiny, mini, a corpus name); default: the only one")
    p.add_argument("--out", default="result/leaderboard", help="output folder (default: %(default)s)")
    p.add_argument("--no-plots", action="store_true", help="tables only")
    p.add_argument("--readme", help="also put the table and heat map between the leaderboard markers of this "
                                    f"file ({leaderboard.README_START} ... {leaderboard.README_END})")
    a = p.parse_args(argv)

    def body() -> None:
        made = make_report(a.egs, a.out, a.data_tag, plots=not a.no_plots, readme=a.readme)
        board = made["board"]
        print(f"{len(board.upstreams)} upstreams x {len(board.tasks)} tasks ({', '.join(board.tasks)})")
        for u in board.upstreams:
            score, n = board.overall[u]
            print(f"  {u:<24} score {'-' if score is None else f'{score:.0f}'} ({n}/{len(board.tasks)} tasks)")
        for path in made["files"] + [x for v in made["figures"].values() for x in v]:
            print(f"wrote {path}")
    return run_command(body, prog="speechbench report")
