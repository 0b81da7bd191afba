"""Argument parsing and error reporting for ``run_benchmark.py``.

Errors a user can fix (unknown names, bad config keys, missing files, mismatched
checkpoints, bad audio) are :class:`~speechbench.errors.SpeechbenchError` and end the run
with one ``error:`` line and exit status 2; any other exception is a bug (or out of memory)
and keeps its traceback.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

import torch

from speechbench import registry
from speechbench.config_sections import SPLITS
from speechbench.errors import ConfigError, SpeechbenchError
from speechbench.train import distributed
from speechbench.train.expdir import claim_expdir


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_benchmark.py",
        description="Train/evaluate a downstream task on a (frozen) upstream speech model.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-m", "--mode", choices=["train", "evaluate"], required=True)
    p.add_argument("-n", "--expname", help="experiment name (new training runs)")
    p.add_argument("-p", "--expdir", help="experiment dir (default: result/downstream/EXPNAME)")
    p.add_argument("--overwrite", action="store_true",
                   help="start a new run in an experiment dir that holds a previous run, deleting its checkpoints, "
                        "logs and results (without it, that is refused)")
    p.add_argument("-e", "--past_exp", help="experiment checkpoint (or its dir) to resume or evaluate")
    p.add_argument("-u", "--upstream", help=f"one of: {', '.join(registry.available('upstream'))}")
    p.add_argument("-k", "--upstream_ckpt", help="the upstream's weights: a released model's name (`speechbench "
                   "models`; fetched into a verified cache), a checkpoint file in its authors' format, or 'random'")
    p.add_argument("--upstream_options", help="upstream options as key=value,key=value")
    p.add_argument("--upstream_trainable", "-f", action="store_true", help="fine-tune the upstream")
    p.add_argument("-s", "--upstream_feature_selection", default="hidden_states",
                   help="upstream output to use: hidden_states (all layers) or another named output")
    p.add_argument("-l", "--layer", type=int, help="use this hidden layer only (default: learnable weighted sum)")
    p.add_argument("-d", "--downstream", help=f"one of: {', '.join(registry.available('downstream'))}")
    p.add_argument("-c", "--config", help="downstream config YAML (default: the task's config.yaml)")
    p.add_argument("-o", "--override", help="config overrides: config.runner.total_steps=20,,config.optimizer.lr=1e-3")
    p.add_argument("-t", "--evaluate_split", default="test", choices=SPLITS, help="split scored by -m evaluate")
    p.add_argument("--feature_cache", help="dump dir of cached upstream features (stage 2 of a recipe)")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--verbose", action="store_true", help="show the traceback of errors too")
    return p


def _new_experiment(a: argparse.Namespace) -> tuple[dict, dict]:
    from speechbench.hub import resolve_weights
    from speechbench.train.config import apply_overrides, complete_config, load_config

    missing = [flag for flag, value in (("-n", a.expname), ("-u", a.upstream), ("-d", a.downstream)) if not value]
    if missing:
        raise ConfigError(f"a new training run needs {', '.join(missing)} (or -e to resume)")
    registry.expert_class("upstream", a.upstream)
    registry.expert_class("downstream", a.downstream)
    config_path = a.config or os.path.join(registry.expert_dir("downstream", a.downstream), "config.yaml")
    config = complete_config(apply_overrides(load_config(config_path), a.override or ""))
    args = {k: v for k, v in vars(a).items() if k not in ("mode", "past_exp", "override", "evaluate_split",
                                                          "overwrite")}
    args["config"] = os.path.abspath(config_path)
    args["expdir"] = os.path.abspath(a.expdir or os.path.join("result", "downstream", a.expname))
    weights = resolve_weights(a.upstream, a.upstream_ckpt)
    args["upstream_ckpt"], args["upstream_weights"] = weights.path, weights.record()
    if a.feature_cache:
        args["feature_cache"] = os.path.abspath(a.feature_cache)
    return args, config


def run(a: argparse.Namespace) -> int:
    from speechbench.runner import Runner, resume_runner

    if a.overwrite and a.past_exp:
        raise ConfigError("--overwrite starts a new run; it cannot be combined with -e (resume or evaluate)")
    if a.past_exp:
        overrides = {"device": a.device, "verbose": a.verbose}
        if a.expdir:
            overrides["expdir"] = os.path.abspath(a.expdir)
        if a.mode == "evaluate" and not a.expdir:
            path = a.past_exp if os.path.isdir(a.past_exp) else os.path.dirname(a.past_exp)
            overrides["expdir"] = os.path.abspath(path)
        runner = resume_runner(a.past_exp, overrides, a.override)
        if a.mode == "train":
            runner.train()
        else:
            runner.evaluate(a.evaluate_split, runner.resume.path)
        return 0
    if a.mode == "evaluate":
        raise ConfigError("-m evaluate needs -e CHECKPOINT")
    args, config = _new_experiment(a)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 alone owns the experiment dir
        claim_expdir(args["expdir"], overwrite=a.overwrite)
    Runner(args, config).train()
    return 0


def main(argv: list[str] | None = None) -> int:
    a = get_parser().parse_args(argv)
    # Warnings before the runner sets up its own logs (a damaged checkpoint skipped) look like its lines.
    logging.basicConfig(format="%(asctime)s [%(levelname)s] %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
    try:
        return run(a)
    except SpeechbenchError as err:
        if a.verbose:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        distributed.cleanup()
