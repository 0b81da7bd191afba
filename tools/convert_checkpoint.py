#!/usr/bin/env python
"""Convert an official fairseq checkpoint into the plain, pickle-free converted layout.

Handles the wav2vec family (wav2vec, vq-wav2vec, wav2vec 2.0, HuBERT; pretrained or
fine-tuned) of every fairseq era, without fairseq installed: the source is read with
``torch.load(weights_only=True)`` and stubs for exactly the objects these files pickle
(see ``speechbench/upstream/_modules/fairseq_checkpoint.py``); nothing in it is run.

The output is s3prl's converted form, ``{task_cfg, model_cfg, model_weight}`` (plus
``dictionaries_symbols`` for HuBERT): JSON-able configs and tensors only, so it loads with
plain ``torch.load(path, weights_only=True)``. Argparse-era files keep all their flat
``args`` fields in both ``task_cfg`` and ``model_cfg``; fine-tuned files keep every tensor
(CTC head included) and their nested ``w2v_args``. Every upstream's ``-k`` reads the
converted file exactly as it reads the original.

Usage: python tools/convert_checkpoint.py SRC.pt DST.pt
"""
from __future__ import annotations

import argparse
import sys

from speechbench.checkpoints import CheckpointError
from speechbench.upstream._modules.fairseq_checkpoint import convert_fairseq_checkpoint


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", help="official checkpoint (fairseq .pt of any era)")
    parser.add_argument("dst", help="where to write the converted file (written atomically)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    try:
        ckpt = convert_fairseq_checkpoint(args.src, args.dst)
    except CheckpointError as err:
        print(f"convert_checkpoint: {err}", file=sys.stderr)
        return 1
    name = ckpt.cfg["model"].get("_name") or ckpt.cfg["model"].get("arch") or "?"
    print(f"wrote {args.dst}: {name}, {ckpt.era}-era source, {len(ckpt.state_dict)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
