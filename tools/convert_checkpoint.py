#!/usr/bin/env python
"""Convert a checkpoint into a form that loads without pickle code.

Default: an official fairseq checkpoint of the wav2vec family (wav2vec, vq-wav2vec,
wav2vec 2.0, HuBERT; pretrained or fine-tuned; any fairseq era) into s3prl's converted
layout, without fairseq installed: the source is read with ``torch.load(weights_only=True)``
and stubs for exactly the objects these files pickle (see
``speechbench/upstream/_modules/fairseq_checkpoint.py``); nothing in it is run. The output,
``{task_cfg, model_cfg, model_weight}`` (plus ``dictionaries_symbols`` for HuBERT), holds
JSON-able configs and tensors only. Argparse-era files keep all their flat ``args`` fields in
both ``task_cfg`` and ``model_cfg``; fine-tuned files keep every tensor (CTC head included) and
their nested ``w2v_args``. Every upstream's ``-k`` reads the converted file exactly as it
reads the original.

``--trust``: any checkpoint the safe loader refuses (a class outside its layout's allow-list,
or pickle protocol 4/5) and that you trust. The source is loaded with full pickle, which RUNS
ANY CODE THE FILE CONTAINS: only use it on files from a source you trust. The output keeps the
source's layout with every object turned into plain data (dicts, lists, tensors, strings,
numbers), so ``-k`` and ``-e`` then read it with the safe loader
(``speechbench/checkpoints/trusted.py``).

Usage: python tools/convert_checkpoint.py [--trust] SRC.pt DST.pt
Bad input: one ``error:`` line, exit status 2.
"""
from __future__ import annotations

import argparse
import sys

from speechbench.checkpoints.trusted import resave_trusted
from speechbench.errors import SpeechbenchError
from speechbench.upstream._modules.fairseq_checkpoint import convert_fairseq_checkpoint


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", help="the checkpoint to convert")
    parser.add_argument("dst", help="where to write the converted file (written atomically)")
    parser.add_argument("--trust", action="store_true",
                        help="load SRC with full pickle, RUNNING ANY CODE IT CONTAINS (only for files you trust), "
                             "and re-save it as plain data the safe loader reads")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    try:
        if args.trust:
            resave_trusted(args.src, args.dst)
            print(f"wrote {args.dst}: plain data re-saved from {args.src} (loaded with full pickle)")
            return 0
        ckpt = convert_fairseq_checkpoint(args.src, args.dst)
    except SpeechbenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    name = ckpt.cfg["model"].get("_name") or ckpt.cfg["model"].get("arch") or "?"
    print(f"wrote {args.dst}: {name}, {ckpt.era}-era source, {len(ckpt.state_dict)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
