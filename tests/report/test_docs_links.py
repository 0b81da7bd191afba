"""Links in the README and docs/ point at files the repository holds, and the report writes only such links."""
from __future__ import annotations

import os
import re
import subprocess

from speechbench.report.build import make_report
from testutil import REPO

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _relative_links(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [t for t in LINK.findall(f.read()) if "://" not in t and not t.startswith("mailto:")]


def _dead_links(root: str, pages: list[str]) -> list[str]:
    tracked = set(subprocess.run(["git", "-C", root, "ls-files"], capture_output=True, text=True,
                                 check=True).stdout.splitlines())
    tracked_dirs = {os.path.dirname(p) for p in tracked}
    dead = []
    for page in pages:
        for target in _relative_links(os.path.join(root, page)):
            rel = os.path.normpath(os.path.join(os.path.dirname(page), target))
            if rel not in tracked and rel not in tracked_dirs and not any(d.startswith(rel + "/") for d in tracked_dirs):
                dead.append(f"{page}: {target}")
    return dead


def test_readme_and_docs_link_only_to_tracked_files():
    pages = ["README.md"] + subprocess.run(["git", "-C", REPO, "ls-files", "docs/*.md", "docs/**/*.md",
                                            "egs/*.md", "egs/**/*.md", "speechbench/**/*.md"],
                                           capture_output=True, text=True, check=True).stdout.split()
    assert _dead_links(REPO, pages) == []


def test_report_inside_a_repository_links_copies_of_ignored_results(board_tree, tmp_path):
    root = os.path.dirname(board_tree)
    subprocess.run(["git", "init", "-q", root], check=True)
    with open(os.path.join(root, ".gitignore"), "w") as f:
        f.write("/egs/*/exp/\n")
    readme = os.path.join(root, "README.md")
    with open(readme, "w") as f:
        f.write("<!-- speechbench leaderboard: start -->\n<!-- speechbench leaderboard: end -->\n")
    make_report(board_tree, os.path.join(root, "docs", "demo"), plots=False, readme=readme)
    subprocess.run(["git", "-C", root, "add", "-A"], check=True)
    assert _dead_links(root, ["README.md", "docs/demo/leaderboard.md"]) == []
    md = open(os.path.join(root, "docs", "demo", "leaderboard.md")).read()
    assert "[50.00](runs/phone/baseline_ws/RESULTS.md)" in md
    assert "| [config](runs/phone/apc_apc_ws/config.yaml) | best-states-dev.ckpt |" in md  # no checkpoint copies
    assert "[50.00](docs/demo/runs/phone/baseline_ws/RESULTS.md)" in open(readme).read()
