"""Leave-one-session-out cross-validation (IEMOCAP): form the fold data dirs, average the folds.

Fold k tests on session k and trains on the other sessions, minus a seeded random slice of
their utterances held out as dev (s3prl holds out 20 %). Each fold is an ordinary
train/dev/test triple of data dirs, so it trains like any other run; the score of the
protocol is the mean test accuracy over the folds.

    python -m speechbench.downstream.emotion.cross_validation make-fold \\
        --sessions data/session1,data/session2,data/session3,data/session4,data/session5 \\
        --fold 1 --out data/fold1 [--dev-fraction 0.2] [--seed 0]
    python -m speechbench.downstream.emotion.cross_validation average --out exp/baseline_ws_cv \\
        exp/fold1/baseline_ws exp/fold2/baseline_ws ...
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

import numpy as np

from speechbench.data.kaldi_dir import DataDir, DataDirError, c_sorted, file_kind, spk2utt_from_utt2spk, write_kv
from speechbench.errors import ConfigError, DataError, MissingFileError, run_command
from speechbench.utils_io import atomic_open


def _merged_files(dirs: Sequence[DataDir]) -> dict[str, dict[str, str]]:
    """Per-utterance files present in every dir, merged; a key in two dirs is an error."""
    for d in dirs:
        if d.has("segments"):
            raise DataDirError(f"{d.path} has segments: merging dirs cut from recordings is not supported; "
                               f"write one wav per utterance")
    names = [n for n in dirs[0].names() if file_kind(n, False) == "utt" and all(d.has(n) for d in dirs[1:])]
    merged: dict[str, dict[str, str]] = {}
    for name in names:
        out: dict[str, str] = {}
        for d in dirs:
            for key, value in d.file(name).items():
                if key in out:
                    raise DataDirError(f"utterance '{key}' is in more than one session dir ({d.path}/{name} and "
                                       f"an earlier one); session dirs must be disjoint")
                out[key] = value
        merged[name] = out
    return merged


def _write_subset(files: dict[str, dict[str, str]], utts: set[str], out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    for name, mapping in files.items():
        write_kv(os.path.join(out_dir, name), {k: v for k, v in mapping.items() if k in utts})
    if "utt2spk" in files:
        write_kv(os.path.join(out_dir, "spk2utt"),
                 spk2utt_from_utt2spk({u: s for u, s in files["utt2spk"].items() if u in utts}))


def make_fold(session_dirs: Sequence[str], fold: int, out_dir: str, dev_fraction: float = 0.2,
              seed: int = 0) -> dict[str, int]:
    """Write ``out_dir/{train,dev,test}`` for fold ``fold`` (1-based: test = ``session_dirs[fold-1]``)."""
    if not 1 <= fold <= len(session_dirs):
        raise ConfigError(f"fold {fold} out of range: there are {len(session_dirs)} sessions "
                          f"(folds 1..{len(session_dirs)})")
    if not 0 < dev_fraction < 1:
        raise ConfigError(f"--dev-fraction {dev_fraction} must lie strictly between 0 and 1")
    dirs = [DataDir(p) for p in session_dirs]
    test = dirs[fold - 1]
    others = [d for i, d in enumerate(dirs) if i != fold - 1]
    files = _merged_files(others)
    pool = c_sorted(files["wav.scp"])
    order = np.random.default_rng(seed).permutation(len(pool))
    n_dev = max(1, int(round(dev_fraction * len(pool))))
    if n_dev >= len(pool):
        raise DataError(f"fold {fold}: {len(pool)} training utterances cannot give a dev slice of {dev_fraction}")
    dev = {pool[i] for i in order[:n_dev]}
    _write_subset(files, set(pool) - dev, os.path.join(out_dir, "train"))
    _write_subset(files, dev, os.path.join(out_dir, "dev"))
    test.write(os.path.join(out_dir, "test"))
    return {"train": len(pool) - n_dev, "dev": n_dev, "test": len(test.utts)}


def average_results(expdirs: Sequence[str], out_dir: str, split: str = "test") -> dict:
    """Mean (and std) of each metric over the folds' ``<split>_results.json``; written to ``out_dir``."""
    folds = []
    for exp in expdirs:
        path = os.path.join(exp, f"{split}_results.json")
        if not os.path.isfile(path):
            raise MissingFileError(f"{path} not found: evaluate that fold first")
        with open(path, encoding="utf-8") as f:
            try:
                folds.append((os.path.abspath(exp), json.load(f)))
            except json.JSONDecodeError as e:
                raise DataError(f"{path} is not valid JSON ({e}): evaluate that fold again") from None
    if not folds:
        raise ConfigError("no fold experiments given")
    first = folds[0][1]
    for exp, result in folds[1:]:
        if sorted(result["metrics"]) != sorted(first["metrics"]) or result["upstream"] != first["upstream"]:
            raise DataError(f"{exp} does not match {folds[0][0]} (different metrics or upstream): "
                            f"average folds of one setting only")
    metrics = {k: float(np.mean([r["metrics"][k] for _, r in folds])) for k in first["metrics"]}
    spread = {k: float(np.std([r["metrics"][k] for _, r in folds])) for k in first["metrics"]}
    result = {**first, "metrics": metrics, "metrics_std": spread,
              "checkpoint": f"mean of {len(folds)} folds (best dev checkpoint of each)",
              "folds": [{"expdir": exp, "metrics": r["metrics"], "checkpoint": r.get("checkpoint")}
                        for exp, r in folds]}
    os.makedirs(out_dir, exist_ok=True)
    with atomic_open(os.path.join(out_dir, f"{split}_results.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechbench.downstream.emotion.cross_validation",
                                description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    mk = sub.add_parser("make-fold", help="write OUT/{train,dev,test} of one fold")
    mk.add_argument("--sessions", required=True, help="comma-separated session data dirs, in fold order")
    mk.add_argument("--fold", type=int, required=True, help="1-based fold: its session is the test set")
    mk.add_argument("--out", required=True)
    mk.add_argument("--dev-fraction", type=float, default=0.2, help="share of the training sessions held out as dev")
    mk.add_argument("--seed", type=int, default=0, help="seed of the dev slice")
    av = sub.add_parser("average", help="mean and std of the folds' metrics -> OUT/<split>_results.json")
    av.add_argument("--out", required=True)
    av.add_argument("--split", default="test")
    av.add_argument("expdirs", nargs="+", help="the fold experiment dirs")
    a = p.parse_args(argv)
    return run_command(lambda: _run(a))


def _run(a: argparse.Namespace) -> None:
    if a.command == "make-fold":
        sessions = [s for s in a.sessions.split(",") if s]
        counts = make_fold(sessions, a.fold, a.out, a.dev_fraction, a.seed)
        print(f"fold {a.fold}: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + f" utterances in {a.out}")
    else:
        result = average_results(a.expdirs, a.out, a.split)
        spread = result["metrics_std"]
        print(f"{len(result['folds'])} folds: " + ", ".join(
            f"{k.split('-', 1)[-1]} {v:.4f} +- {spread[k]:.4f}" for k, v in result["metrics"].items()))


if __name__ == "__main__":
    sys.exit(main())
