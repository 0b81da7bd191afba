#!/usr/bin/env python
"""Issue 4: one training epoch of the phone head from cached features vs the upstream on the fly.

Same head (the ``phone`` task's linear probe over a learnable weighted sum of all layers),
same data (the first ``--utts`` utterances of the mini corpus's ``read/train``), same seed,
same batches: only the feature source differs. Both runs go through the runner's Python API
(:class:`speechbench.runner.Runner`, what ``run_benchmark.py -m train`` builds), for exactly
one epoch (``total_steps`` = batches per epoch, no dev evaluation).

Timings are CPU seconds (``time.process_time``: user + system of every thread of this
process), not wall time, because the machine is shared. Each epoch time is the best of
``--repeats`` runs after an untimed warm-up epoch; extraction (stage 2,
``speechbench.features.extract`` called in this process, float16, all layers) runs once.
Printed per upstream: extraction CPU (paid once), the two epoch times, the ratio
on-the-fly / cached, and the epochs after which caching has paid for its extraction.

    python bench/bench_cache.py [--utts 200] [--repeats 2] [--work /tmp/bench_cache] \\
        [--upstreams baseline apc:hidden_size=128,num_layers=3 apc]     # apc alone: released 3x512
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import tempfile

import torch

from benchutil import MINI_READ_TRAIN, extract, process_cpu, subset_data_dir
from speechbench.cli_benchmark import get_parser
from speechbench.registry import expert_dir
from speechbench.runner import Runner
from speechbench.train.config import load_config


def runner_for(upstream: str, options: str, data_dir: str, expdir: str, cache: str | None) -> Runner:
    """A phone-task runner as ``run_benchmark.py -m train`` would build it, for one epoch."""
    cli = ["-m", "train", "-n", "bench", "-u", upstream, "-d", "phone", "--device", "cpu"]
    cli += ["--upstream_options", options] if options else []
    cli += ["--feature_cache", cache] if cache else []
    args = {k: v for k, v in vars(get_parser().parse_args(cli)).items()
            if k not in ("mode", "past_exp", "override", "evaluate_split")}
    config_path = os.path.join(expert_dir("downstream", "phone"), "config.yaml")
    args.update(config=config_path, expdir=expdir)
    config = load_config(config_path)
    config["runner"].update(eval_dataloaders=[], log_step=10 ** 9, eval_step=10 ** 9, save_step=10 ** 9)
    config["downstream_expert"]["datarc"].update(train=data_dir, dev=data_dir, test=data_dir, batch_size=16)
    if os.path.isdir(expdir):
        shutil.rmtree(expdir)
    runner = Runner(args, config)
    runner.config["runner"]["total_steps"] = len(runner.pipeline.expert.get_dataloader("train"))
    return runner


def epoch_cpu(upstream: str, options: str, data_dir: str, expdir: str, cache: str | None, repeats: int
              ) -> tuple[float, int]:
    """Best CPU seconds of one training epoch over ``repeats`` fresh runners, and batches per epoch.

    A first, untimed epoch pays the one-off costs (lazy imports, allocator, page cache).
    Progress bars and log lines go to a buffer (the run's train.log keeps the log).
    """
    best = float("inf")
    for attempt in range(repeats + 1):
        with contextlib.redirect_stderr(io.StringIO()):
            runner = runner_for(upstream, options, data_dir, expdir, cache)
            start = process_cpu()
            runner.train()
            spent = process_cpu() - start
        if attempt:
            best = min(best, spent)
    return best, runner.config["runner"]["total_steps"]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=MINI_READ_TRAIN, help="source data dir (phone labels: ali.scp, phones.txt)")
    p.add_argument("--utts", type=int, default=200, help="first N utterances of --data")
    p.add_argument("--upstreams", nargs="+", default=["baseline", "apc:hidden_size=128,num_layers=3"],
                   help="NAME or NAME:OPTIONS (upstream options key=value,...; random weights)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", default=None, help="scratch dir (default: a temporary one, removed)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    work = a.work or tempfile.mkdtemp(prefix="bench_cache.")
    os.makedirs(work, exist_ok=True)
    try:
        data_dir = os.path.join(work, "data")
        utts, seconds = subset_data_dir(a.data, data_dir, num_utts=a.utts)
        print(f"phone head, one epoch over {utts} utterances ({seconds / 60:.1f} min of audio) of {a.data}; "
              f"CPU seconds (process time, {a.threads} thread(s)), best of {a.repeats}")
        print("| upstream | options | batches | extraction CPU s | epoch from cache CPU s | epoch on the fly CPU s "
              "| on-the-fly / cache | break-even epochs |")
        print("|---|---|---|---|---|---|---|---|")
        for number, spec in enumerate(a.upstreams):
            upstream, _, options = spec.partition(":")
            dump = os.path.join(work, "dump", f"{number}_{upstream}")
            extract_s = extract(upstream, data_dir, dump, options, threads=a.threads)
            exp = os.path.join(work, "exp")
            cached_s, batches = epoch_cpu(upstream, options, data_dir, exp, dump, a.repeats)
            live_s, _ = epoch_cpu(upstream, options, data_dir, exp, None, a.repeats)
            saved = live_s - cached_s
            even = f"{extract_s / saved:.2f}" if saved > 0 else "never"
            print(f"| {upstream} | {options or '-'} | {batches} | {extract_s:.2f} | {cached_s:.2f} | {live_s:.2f} "
                  f"| {live_s / cached_s:.2f} | {even} |", flush=True)
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
