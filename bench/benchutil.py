"""Helpers shared by the bench scripts: CPU-time measurement, data subsets, feature extraction.

The benchmark machines are shared, so every timing here is CPU time (user + system) of this
process (all threads) or of the children it waited for, never wall time: wall time mostly
measures the other jobs.
"""
from __future__ import annotations

import contextlib
import io
import os
import resource
import shutil
import time

from speechbench.data.kaldi_dir import c_sorted, read_kv, spk2utt_from_utt2spk, write_kv
from speechbench.features.extract import main as extract_main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MINI_READ_TRAIN = os.path.join(REPO, "downloads", "mini-mini", "data", "read", "train")
# Files a subset keeps when the source has them (per-utterance key/value files).
SUBSET_FILES = ("wav.scp", "utt2spk", "utt2dur", "text", "text.phn", "ali.scp")


def children_cpu() -> float:
    """CPU seconds (user + system) of all finished, waited-for child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu() -> float:
    """CPU seconds of this process, all threads."""
    return time.process_time()


def check_source(data_dir: str) -> None:
    """Stop with the command that builds the mini corpus when the source dir is absent."""
    if not os.path.isfile(os.path.join(data_dir, "wav.scp")):
        raise SystemExit(f"{data_dir}/wav.scp not found: build the mini corpus first "
                         f"(python -m speechbench.corpora.mini --size mini --out downloads/mini-mini) or pass --data")


def subset_data_dir(src: str, out: str, num_utts: int = 0, seconds: float = 0.0) -> tuple[int, float]:
    """The first utterances of ``src`` (C order) into ``out``: ``num_utts`` of them, or enough for ``seconds``.

    Returns (utterances, seconds of audio). ``src`` stays untouched; files are filtered copies.
    """
    check_source(src)
    durations = {u: float(d) for u, d in read_kv(os.path.join(src, "utt2dur")).items()}
    chosen, total = [], 0.0
    for utt in c_sorted(durations):
        if (num_utts and len(chosen) >= num_utts) or (seconds and total >= seconds):
            break
        chosen.append(utt)
        total += durations[utt]
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    keep = set(chosen)
    for name in SUBSET_FILES:
        path = os.path.join(src, name)
        if os.path.isfile(path):
            write_kv(os.path.join(out, name), {k: v for k, v in read_kv(path).items() if k in keep})
    write_kv(os.path.join(out, "spk2utt"), spk2utt_from_utt2spk(read_kv(os.path.join(out, "utt2spk"))))
    if os.path.isfile(os.path.join(src, "phones.txt")):
        shutil.copy(os.path.join(src, "phones.txt"), os.path.join(out, "phones.txt"))
    return len(chosen), total


def extract(upstream: str, data_dir: str, out: str, options: str = "", layers: str = "all",
            dtype: str = "float16", threads: int = 1) -> float:
    """Run stage 2 (``speechbench.features.extract``) in this process into a fresh ``out``, random weights.

    Returns its CPU seconds (interpreter start-up excluded: it is not part of extraction).
    """
    if os.path.isdir(out):
        shutil.rmtree(out)
    argv = ["--upstream", upstream, "--upstream-ckpt", "random", "--data-dir", data_dir, "--out", out,
            "--layers", layers, "--dtype", dtype, "--num-threads", str(threads)]
    if options:
        argv += ["--upstream-options", options]
    start = process_cpu()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = extract_main(argv)
    if code:
        raise SystemExit(f"feature extraction failed ({code}): {' '.join(argv)}\n{err.getvalue()}")
    return process_cpu() - start
