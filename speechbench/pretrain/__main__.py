"""Pretrain an upstream on the audio of a Kaldi data dir; write its checkpoint in the authors' layout.

Example: ``python -m speechbench.pretrain --upstream apc --data-dir data/train --out exp/apc/apc.ckpt``.
A run resumes from ``<out>.state`` when that file exists; logs go to ``<out dir>/log/``.
"""
from __future__ import annotations

import argparse
import sys

import torch

from speechbench.errors import ConfigError, run_command
from speechbench.pretrain.loop import LoopConfig, load_config, pretrain
from speechbench.pretrain.objective import available, default_config_path


def get_parser() -> argparse.ArgumentParser:
    """The command line; flags left unset keep the config file's values."""
    p = argparse.ArgumentParser(prog="python -m speechbench.pretrain", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", required=True, choices=available(), help="which objective to train")
    p.add_argument("--data-dir", required=True, help="Kaldi data dir; its wav.scp (and segments, utt2dur) are read")
    p.add_argument("--out", required=True,
                   help="checkpoint to write in the official layout; <out>.state holds the resumable state")
    p.add_argument("--config", help="YAML with 'pretrain:' and 'objective:' sections "
                                    "(default: speechbench/pretrain/conf/<upstream>.yaml)")
    for field, kind in (("steps", int), ("batch_size", int), ("lr", float), ("seed", int),
                        ("max_seconds", float), ("min_seconds", float), ("save_every", int), ("log_every", int),
                        ("grad_clip", float)):
        p.add_argument("--" + field.replace("_", "-"), type=kind, default=None,
                       help=f"override pretrain.{field} (default {getattr(LoopConfig, field)} unless the config sets it)")
    p.add_argument("--device", choices=["cpu", "cuda"], default=None, help="override pretrain.device")
    p.add_argument("--num-threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar (log lines only)")
    return p


def run(args: argparse.Namespace) -> None:
    """Merge the command line over the config file and pretrain."""
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    config = load_config(args.config or default_config_path(args.upstream))
    overrides = {k: v for k, v in vars(args).items()
                 if v is not None and k in {f for f in LoopConfig.__dataclass_fields__}}
    config["pretrain"] = {**(config.get("pretrain") or {}), **overrides}
    if config["pretrain"].get("device") == "cuda" and not torch.cuda.is_available():
        raise ConfigError("pretrain.device is cuda (--device or the config) but torch sees no GPU; use --device cpu")
    pretrain(args.upstream, args.data_dir, args.out, config, show_progress=not args.no_progress)


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    return run_command(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
