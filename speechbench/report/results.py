"""Score stage of every recipe: ``exp/<name>/RESULTS.md`` and one line in the task summary.

``python -m speechbench.report.results --expdir EXP [--split test] [--summary RESULTS.md]``
reads ``EXP/<split>_results.json`` (written by ``run_benchmark.py -m evaluate`` or a
task's scoring entry point), writes ``EXP/RESULTS.md`` (metrics, checkpoint, config and
environment) and puts one line for this experiment into the summary table (replacing an
earlier line of the same experiment, so a re-run never duplicates it).
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys

import speechbench
from speechbench.errors import MissingFileError, run_command
from speechbench.report.collect import ReportError, read_results
from speechbench.utils_io import atomic_open

SUMMARY_HEADER = ("| date | upstream | upstream weights | layers | metrics | experiment |\n"
                  "|---|---|---|---|---|---|\n")


def git_revision() -> str:
    """Short commit hash of the speechbench checkout (``unknown`` outside git)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(speechbench.__file__)))
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment() -> dict[str, str]:
    """Versions that decide whether a number can be reproduced."""
    import torch
    return {"python": platform.python_version(), "torch": torch.__version__, "speechbench": speechbench.__version__,
            "git": git_revision(), "host": platform.node()}


def weights_name(result: dict) -> str | None:
    """Short name of the upstream weights of a result: released name, ``random``, or the file's name."""
    weights = result.get("upstream_weights") or {}
    if weights.get("name") and weights["name"] != "none":
        return weights["name"]
    return os.path.basename(result.get("upstream_ckpt") or "") or None


def weights_text(result: dict) -> str:
    """Which upstream weights a result came from: name, sha256 and file (older results: the file)."""
    weights = result.get("upstream_weights") or {}
    if weights.get("name") == "random":
        return "random weights (`-k random`)"
    path = weights.get("path") or result.get("upstream_ckpt")
    if not path:
        return "none (this upstream has no weights)"
    digest = f", sha256 `{weights['sha256']}`" if weights.get("sha256") else ""
    return f"`{weights.get('name') or os.path.basename(path)}`{digest}, file `{path}`"


def _format_metrics(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k.split('-', 1)[-1]} {v:.4f}" for k, v in sorted(metrics.items()))


def write_results(expdir: str, split: str = "test", summary: str | None = None) -> dict:
    """Write ``RESULTS.md`` for one experiment and update ``summary``; returns the results dict."""
    path = os.path.join(expdir, f"{split}_results.json")
    if not os.path.isfile(path):
        raise MissingFileError(f"{path} not found: run the evaluation stage first")
    result = read_results(path)
    missing = [k for k in ("upstream", "downstream") if k not in result]
    if missing:
        raise ReportError(f"{path}: no {' or '.join(repr(k) for k in missing)}; was it written by "
                          f"run_benchmark.py -m evaluate or a task's scoring entry point?")
    env = environment()
    layers = "weighted sum" if result.get("layer") is None else f"layer {result['layer']}"
    lines = [f"# {result['downstream']} on {result['upstream']}", "",
             f"- experiment: `{os.path.abspath(expdir)}`",
             f"- upstream weights: {weights_text(result)}",
             f"- features: {layers}", f"- checkpoint scored: `{result.get('checkpoint')}` (step {result.get('step')})",
             f"- config: `{os.path.join(os.path.abspath(expdir), 'config.yaml')}`", "",
             "| metric | set | value |", "|---|---|---|"]
    lines += [f"| {k.split('-', 1)[-1]} | {split} | {v:.4f} |" for k, v in sorted(result["metrics"].items())]
    lines += ["", "Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()),
              f"Scored {datetime.datetime.now().isoformat(timespec='seconds')}", ""]
    with atomic_open(os.path.join(expdir, "RESULTS.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    if summary:
        _update_summary(summary, expdir, result, layers, env)
    return result


def _update_summary(summary: str, expdir: str, result: dict, layers: str, env: dict) -> None:
    tag = f"`{os.path.abspath(expdir)}`"
    row = (f"| {datetime.date.today().isoformat()} | {result['upstream']} | "
           f"{weights_name(result) or '-'} | {layers} | "
           f"{_format_metrics(result['metrics'])} | {tag} |\n")
    rows = []
    if os.path.isfile(summary):
        with open(summary, encoding="utf-8") as f:
            rows = [r for r in f.readlines()[2:] if tag not in r]
    with atomic_open(summary, "w", encoding="utf-8") as f:
        f.write(SUMMARY_HEADER + "".join(rows) + row)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--expdir", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--summary", help="task summary table to update (e.g. egs/phone/RESULTS.md)")
    a = p.parse_args(argv)

    def body() -> None:
        result = write_results(a.expdir, a.split, a.summary)
        print(f"{result['downstream']} {result['upstream']} {a.split}: {_format_metrics(result['metrics'])}")
    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
