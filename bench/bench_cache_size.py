#!/usr/bin/env python
"""Issue 12: feature-cache size per hour of audio, by upstream, kept layers and dtype.

Extracts a few minutes of the mini corpus (``read/train``) with ``speechbench.features.extract``
for: the baseline (80-d fbank, 10 ms), APC in its released architecture (3 GRU layers x 512,
10 ms; random weights: sizes do not depend on them) and wav2vec 2.0 Base (random weights,
13 hidden states x 768, 20 ms), all layers and 4 layers (``--layers 0,4,8,12``; the
baseline and APC have at most 3, so their 4-layer cache is the full one), in float16 (the
default) and float32. Size = every file of the finished dump (arks, scps, meta) on disk,
divided by the hours of audio; it is linear in hours, so minutes of audio give the rate.

Prints a markdown table (MB = 10^6 bytes) with the LibriSpeech 960 h equivalent.

    python bench/bench_cache_size.py [--seconds 120] [--work DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile

import torch

from benchutil import MINI_READ_TRAIN, extract, subset_data_dir

# (label, upstream, options, --layers argument, layers kept)
CASES = [
    ("baseline (fbank 80)", "baseline", "", "all", "all (1)"),
    ("APC 3x512", "apc", "", "all", "all (3)"),
    ("wav2vec 2.0 Base", "wav2vec2", "", "all", "all (13)"),
    ("wav2vec 2.0 Base", "wav2vec2", "", "0,4,8,12", "0,4,8,12"),
]
DTYPES = ("float16", "float32")
LIBRISPEECH_HOURS = 960


def dump_bytes(dump: str) -> int:
    """Bytes of every file of a dump directory."""
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, files in os.walk(dump) for name in files)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=MINI_READ_TRAIN, help="source data dir")
    p.add_argument("--seconds", type=float, default=120.0, help="audio to extract (first utterances of --data)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", default=None, help="scratch dir (default: a temporary one, removed)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    work = a.work or tempfile.mkdtemp(prefix="bench_cache_size.")
    os.makedirs(work, exist_ok=True)
    try:
        data_dir = os.path.join(work, "data")
        utts, seconds = subset_data_dir(a.data, data_dir, seconds=a.seconds)
        hours = seconds / 3600
        print(f"{utts} utterances, {seconds:.1f} s of audio from {a.data}; MB = 10^6 bytes\n")
        print("| upstream | layers kept | dims per frame | frames/s | float16 MB per audio hour | "
              f"float32 MB per audio hour | float16 GB for {LIBRISPEECH_HOURS} h |")
        print("|---|---|---|---|---|---|---|")
        for label, upstream, options, layers, kept in CASES:
            per_hour, meta = {}, {}
            for dtype in DTYPES:
                dump = os.path.join(work, "dump", f"{upstream}_{layers.replace(',', '-')}_{dtype}")
                extract(upstream, data_dir, dump, options, layers=layers, dtype=dtype, threads=a.threads)
                with open(os.path.join(dump, "meta.json"), encoding="utf-8") as f:
                    meta = json.load(f)
                per_hour[dtype] = dump_bytes(dump) / hours
                shutil.rmtree(dump)
            dims = sum(meta["dims"])
            print(f"| {label} | {kept} | {dims} | {16000 / meta['downsample_rate']:g} "
                  f"| {per_hour['float16'] / 1e6:,.0f} | {per_hour['float32'] / 1e6:,.0f} "
                  f"| {per_hour['float16'] * LIBRISPEECH_HOURS / 1e9:,.1f} |", flush=True)
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
