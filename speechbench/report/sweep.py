"""``speechbench sweep``: train one head per learning rate, keep the best on dev, score it on test.

    speechbench sweep egs/phone --lrs "1e-2 1e-3 1e-4" -- --upstream apc --upstream-ckpt apc.ckpt

SUPERB's published numbers are each the best of a few learning rates per upstream and task;
this does the same through the recipe, which stays thin: it runs ``run.sh ARGS --stop-stage 2``
once (data, features), then ``run.sh ARGS --lr X --stage 3 --stop-stage 3`` per value (each
value has its own experiment dir ``..._lr<X>``), scores every ``best-states-dev.ckpt`` on dev
(``run_benchmark.py -m evaluate -t dev`` -> ``dev_results.json``), picks the best with the
report's own rule (:func:`speechbench.report.collect.pick_best`) and runs stages 4-5 for that
value only. Re-running skips finished work (the recipe's stage markers; dev results newer
than their checkpoint). The choice is written to ``<exp parent>/<tag>_<mode>_sweep.json`` and
the leaderboard shows the chosen value and the values tried.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

from speechbench.errors import SpeechbenchError, run_command
from speechbench.report.collect import Run, load_run, pick_best
from speechbench.utils_io import atomic_open

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_TRAIN_LINE = re.compile(r"stage 3: train .* -> (\S+?)(?: \(done before|$)")


class SweepError(SpeechbenchError):
    """A sweep that cannot go on; the message says which value and which file."""


def _recipe(recipe: str, args: list[str], log: str) -> str:
    """Run ``recipe/run.sh ARGS``, append its output to ``log``, return its stderr+stdout."""
    run_sh = os.path.join(recipe, "run.sh")
    if not os.path.isfile(run_sh):
        raise SweepError(f"{run_sh} not found: give a recipe folder such as egs/phone")
    proc = subprocess.run(["bash", run_sh, *args], capture_output=True, text=True)
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"$ bash {run_sh} {' '.join(args)}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise SweepError(f"bash {run_sh} {' '.join(args)} failed (exit {proc.returncode}); full log {log}:\n{tail}")
    return proc.stdout + proc.stderr


def experiment_of(output: str, recipe: str) -> str:
    """The experiment dir the recipe's train stage names (``stage 3: train ... -> DIR``)."""
    for line in reversed(output.splitlines()):
        m = _TRAIN_LINE.search(line.strip())
        if m:
            path = m.group(1)
            return path if os.path.isabs(path) else os.path.join(recipe, path)
    raise SweepError(f"the recipe {recipe}/run.sh printed no 'stage 3: train ... -> <exp>' line; "
                     "is it built on egs/utils/task.sh (sb_stage_train)?")


def score_dev(expdir: str, log: str) -> Run:
    """``dev_results.json`` of the experiment's best checkpoint (made unless already newer)."""
    ckpt = os.path.join(expdir, "best-states-dev.ckpt")
    if not os.path.isfile(ckpt):
        raise SweepError(f"{ckpt} not found: the task keeps no best-on-dev head to sweep (train stage failed, "
                         "or the task has no training, like std)")
    dev = os.path.join(expdir, "dev_results.json")
    if not os.path.isfile(dev) or os.path.getmtime(dev) < os.path.getmtime(ckpt):
        cmd = [sys.executable, os.path.join(REPO, "run_benchmark.py"), "-m", "evaluate", "-e", ckpt, "-t", "dev"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}\n")
        if proc.returncode != 0 or not os.path.isfile(dev):
            raise SweepError(f"scoring {ckpt} on dev failed (exit {proc.returncode}); log {log}")
    run = load_run(dev)
    if run.dev_score is None:
        raise SweepError(f"{dev} has no {run.primary or 'primary'} metric to choose by: {sorted(run.metrics)}")
    return run


def sweep(recipe: str, lrs: list[str], args: list[str], log: str | None = None,
          progress=print) -> dict:
    """Run the sweep; return ``{"chosen": lr, "expdir": ..., "dev": {lr: score}, "metric": name}``."""
    if len(lrs) < 1:
        raise SweepError("give at least one learning rate (--lrs '1e-2 1e-3 1e-4')")
    for value in lrs:
        try:
            float(value)
        except ValueError:
            raise SweepError(f"learning rate '{value}' is not a number") from None
    if any(a == "--lr" or a.startswith("--lr=") for a in args):
        raise SweepError("do not pass --lr to the recipe: the sweep sets it (use --lrs)")
    recipe = os.path.abspath(recipe)
    log = log or os.path.join(recipe, "exp", "sweep.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    progress(f"sweep {os.path.basename(recipe)}: data and features (stages <= 2)")
    _recipe(recipe, [*args, "--stop-stage", "2"], log)
    runs: dict[str, Run] = {}
    for value in lrs:
        progress(f"sweep {os.path.basename(recipe)}: lr {value}: train (stage 3)")
        out = _recipe(recipe, [*args, "--lr", value, "--stage", "3", "--stop-stage", "3"], log)
        run = score_dev(experiment_of(out, recipe), log)
        runs[value] = run
        progress(f"sweep {os.path.basename(recipe)}: lr {value}: dev {run.primary} {run.dev_score:.4f} ({run.expdir})")
    best = pick_best(list(runs.values()))
    chosen = next(v for v, r in runs.items() if r is best)
    progress(f"sweep {os.path.basename(recipe)}: chose lr {chosen} (dev {best.primary} {best.dev_score:.4f}); "
             "scoring it on test (stages 4-5)")
    _recipe(recipe, [*args, "--lr", chosen, "--stage", "4", "--stop-stage", "5"], log)
    summary = {"metric": best.primary, "chosen": chosen, "expdir": best.expdir,
               "dev": {v: r.dev_score for v, r in runs.items()},
               "expdirs": {v: r.expdir for v, r in runs.items()}, "recipe_args": args}
    path = os.path.join(os.path.dirname(best.expdir), f"{best.upstream_tag}_{best.mode}_sweep.json")
    with atomic_open(path, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    summary["summary"] = path
    return summary


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    recipe_args: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, recipe_args = argv[:at], argv[at + 1:]
    p = argparse.ArgumentParser(prog="speechbench sweep", description=__doc__.split("\n\n")[0],
                                epilog="Arguments after -- go to the recipe's run.sh (every stage).")
    p.add_argument("recipe", help="recipe folder, e.g. egs/phone")
    p.add_argument("--lrs", default="1e-2 1e-3 1e-4", help="learning rates, space-separated (default: %(default)s)")
    p.add_argument("--log", help="where recipe output goes (default: <recipe>/exp/sweep.log)")
    a = p.parse_args(argv)

    def body() -> None:
        result = sweep(a.recipe, a.lrs.split(), recipe_args, a.log,
                       progress=lambda m: print(m, file=sys.stderr, flush=True))
        print(f"chosen lr {result['chosen']} ({result['metric']} on dev: "
              + ", ".join(f"{v}: {s:.4f}" for v, s in result["dev"].items()) + f"); summary {result['summary']}")
    return run_command(body, prog="speechbench sweep")
