"""Verification trial lists: read them, generate them, and hold out dev speakers for them.

A ``trials`` file in a data dir has lines ``utt1 utt2 target|nontarget`` naming utterances
of that dir (the Kaldi convention). When a corpus has no dev trials (the mini corpus,
VoxCeleb1), the data stage moves a few whole training speakers into a dev dir and
generates a balanced trial list over them, so the best checkpoint is chosen on speakers
the head never trained on, and never on the test trials.

    python -m speechbench.data.trials --train SRC --out-train DIR --out-dev DIR \
        [--dev-speakers 4] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from speechbench.data.kaldi_dir import DataDir, DataDirError, c_sorted
from speechbench.errors import run_command
from speechbench.utils_io import atomic_open, read_fields

LABELS = {"target": 1, "nontarget": 0}

Trial = tuple[str, str, int]


def read_trials(path: str, utts: set[str] | None = None) -> list[Trial]:
    """``utt1 utt2 target|nontarget`` lines -> (utt1, utt2, 1|0); ``utts`` (if given) must hold both."""
    if not os.path.isfile(path):
        raise DataDirError(f"{path} not found: speaker verification scores the trials listed there "
                           f"(`utt1 utt2 target|nontarget` lines); write it in the data stage")
    trials = []
    for lineno, fields in read_fields(path, 3, "`utt1 utt2 target|nontarget`", DataDirError,
                                      valid=lambda f: f[2] in LABELS):
        for utt in fields[:2]:
            if utts is not None and utt not in utts:
                raise DataDirError(f"{path}:{lineno}: utterance '{utt}' is not in {os.path.dirname(path)}/wav.scp")
        trials.append((fields[0], fields[1], LABELS[fields[2]]))
    if not trials:
        raise DataDirError(f"{path} is empty: list at least one target and one nontarget trial")
    return trials


def write_trials(path: str, trials: list[Trial]) -> None:
    """Write ``utt1 utt2 target|nontarget`` lines atomically."""
    names = {v: k for k, v in LABELS.items()}
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{a} {b} {names[y]}\n" for a, b, y in trials)


def make_trials(utt2spk: dict[str, str], seed: int = 0, per_utterance: int = 3) -> list[Trial]:
    """Each utterance (C order) is paired with up to ``per_utterance`` random other utterances of
    its speaker (target) and as many of other speakers (nontarget); a pair is listed once."""
    by_speaker: dict[str, list[str]] = {}
    for utt in c_sorted(utt2spk):
        by_speaker.setdefault(utt2spk[utt], []).append(utt)
    if len(by_speaker) < 2 or all(len(u) < 2 for u in by_speaker.values()):
        raise DataDirError(f"trials need 2+ speakers and a speaker with 2+ utterances; got {len(by_speaker)} speakers "
                           f"and {len(utt2spk)} utterances")
    rng = np.random.default_rng(seed)
    everyone = c_sorted(utt2spk)
    seen: set[tuple[str, str]] = set()
    trials: list[Trial] = []

    def add(a: str, b: str, label: int) -> None:
        key = (min(a, b), max(a, b))
        if key not in seen:
            seen.add(key)
            trials.append((a, b, label))

    for utt in everyone:
        own = [u for u in by_speaker[utt2spk[utt]] if u != utt]
        others = [u for u in everyone if utt2spk[u] != utt2spk[utt]]
        for other in rng.permutation(own)[:per_utterance]:
            add(utt, str(other), 1)
        for other in rng.permutation(others)[:per_utterance]:
            add(utt, str(other), 0)
    return trials


def hold_out_speakers(train_dir: str, out_train: str, out_dev: str, num_speakers: int, seed: int = 0,
                      per_utterance: int = 3) -> list[str]:
    """Split ``train_dir`` by speaker: ``num_speakers`` random speakers (with 2+ utterances) go to
    ``out_dev`` with a generated ``trials`` file, the rest to ``out_train``. Returns the dev speakers."""
    data = DataDir(train_dir)
    utt2spk = data.file("utt2spk", needed_for="choosing dev speakers")
    by_speaker: dict[str, list[str]] = {}
    for utt in data.utts:
        by_speaker.setdefault(utt2spk[utt], []).append(utt)
    eligible = c_sorted(s for s, u in by_speaker.items() if len(u) >= 2)
    most = min(len(eligible), len(by_speaker) - 2)
    if not 2 <= num_speakers <= most:
        why = (f"{train_dir}: cannot hold out {num_speakers} dev speakers: dev trials need 2 or more (with 2+ "
               f"utterances each) and training keeps 2 or more ({len(by_speaker)} speakers, {len(eligible)} with "
               f"2+ utterances)")
        if most >= 2:
            raise DataDirError(f"{why}; use --dev-speakers {min(max(num_speakers, 2), most)} "
                               f"(any value from 2 to {most} works)")
        raise DataDirError(f"{why}, so no --dev-speakers value works: give a dev set of your own with --dev-dir "
                           f"(a data dir with trials), or use 4 or more training speakers")
    rng = np.random.default_rng(seed)
    dev_speakers = c_sorted(str(s) for s in rng.choice(eligible, size=num_speakers, replace=False))
    dev_utts = [u for s in dev_speakers for u in by_speaker[s]]
    held = set(dev_speakers)
    data.write(out_train, [u for u in data.utts if utt2spk[u] not in held])
    data.write(out_dev, dev_utts)
    write_trials(os.path.join(out_dev, "trials"), make_trials({u: utt2spk[u] for u in dev_utts}, seed, per_utterance))
    return dev_speakers


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Hold out whole training speakers as an ASV dev set with trials.")
    p.add_argument("--train", required=True, help="source training data dir (wav.scp, utt2spk)")
    p.add_argument("--out-train", required=True, help="training dir without the dev speakers")
    p.add_argument("--out-dev", required=True, help="dev dir of the held-out speakers, with a trials file")
    p.add_argument("--dev-speakers", type=int, default=4, help="number of speakers to hold out (default 4)")
    p.add_argument("--per-utterance", type=int, default=3,
                   help="target and nontarget trials per dev utterance (default 3 each)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)

    def body() -> None:
        speakers = hold_out_speakers(a.train, a.out_train, a.out_dev, a.dev_speakers, a.seed, a.per_utterance)
        print(f"dev speakers ({len(speakers)}): {' '.join(speakers)} -> {a.out_dev}")
    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
