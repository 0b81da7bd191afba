"""Speech Commands v0.01 data prep (SUPERB keyword spotting): train/dev/test dirs with ``utt2label``.

Reads the official release layout::

    <db>/<word>/<speaker>_nohash_<n>.wav            one-second clips of 30 words
    <db>/_background_noise_/*.wav                   long noise recordings
    <db>/validation_list.txt, <db>/testing_list.txt paths relative to <db>, one per line

and, when given, the separate v0.01 test set that SUPERB scores (``--test-db``)::

    <test_db>/<class>/*.wav                          class: the keywords, _unknown_, _silence_

Clips listed in ``validation_list.txt`` go to dev, those in ``testing_list.txt`` to test (unless
``--test-db`` gives the test set), all others to train; the lists split by speaker. Silence
clips are cut from the background noise: each recording is split in time, its first 80 % for
train, the next 10 % for dev, the last 10 % for test, and each part is cut into one-second
windows (one-second hop) from a seeded offset, so silence never leaks between sets.

Output ``OUT/{train,dev,test}``: ``wav.scp`` (recordings), ``segments`` (a word clip is one
whole-file segment, a silence window a one-second segment of its noise recording),
``utt2spk``, ``spk2utt``, ``utt2label`` (the clip's word, or the class folder of the test set;
silence is ``_silence_``) and ``utt2dur``. Which words are keywords and how ``_unknown_`` and
``_silence_`` are balanced is the task's business (``speechbench.downstream.ks``), so the data
dirs keep every word. Utterance ids: ``<speaker>-<word>-<n>``; silence ``bgnoise-<file>-<ms>``.

    python -m speechbench.corpora.speech_commands --db /data/speech_commands_v0.01 \\
        --test-db /data/speech_commands_test_set_v0.01 --out data
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from speechbench.corpora.cli import run_prep
from speechbench.corpora.errors import CorpusError
from speechbench.data.audio import audio_duration
from speechbench.data.kaldi_dir import write_dir_files

NOISE_DIR = "_background_noise_"
SILENCE = "_silence_"
NOISE_SPLITS = (("train", 0.0, 0.8), ("dev", 0.8, 0.9), ("test", 0.9, 1.0))
CLIP_SECONDS = 1.0
NOHASH = re.compile(r"^(?P<spk>[^_]+)_nohash_(?P<n>\d+)$")


@dataclass(frozen=True)
class Item:
    """One utterance: its recording (id and path), segment times, speaker and label."""

    utt: str
    rec: str
    path: str
    start: float
    end: float
    spk: str
    label: str


def _clip(path: str, label: str) -> Item:
    """A whole clip; ``<speaker>_nohash_<n>.wav`` gives the speaker, other names keep their stem."""
    stem = os.path.splitext(os.path.basename(path))[0]
    m = NOHASH.match(stem)
    if m:
        spk, utt = m["spk"], f"{m['spk']}-{label}-{m['n']}"
    else:
        spk = label.strip("_") or "clip"
        utt = f"{spk}-{label}-{stem}"
    return Item(utt, utt, path, 0.0, audio_duration(path, utt), spk, label)


def _read_list(db: str, name: str) -> set[str]:
    path = os.path.join(db, name)
    if not os.path.isfile(path):
        raise CorpusError(f"{path} not found: the Speech Commands split lists are part of the release "
                          f"(is --db the speech_commands_v0.01 directory?)")
    out = set()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            rel = line.strip()
            if not rel:
                continue
            if not os.path.isfile(os.path.join(db, rel)):
                raise CorpusError(f"{path}:{lineno}: {rel} not found under {db}")
            out.add(os.path.normpath(rel))
    return out


def _word_clips(db: str) -> dict[str, list[str]]:
    """Relative paths of the word clips, by folder (the background noise excluded)."""
    words = sorted(d for d in os.listdir(db) if os.path.isdir(os.path.join(db, d)) and d != NOISE_DIR)
    clips = {w: sorted(os.path.join(w, f) for f in os.listdir(os.path.join(db, w)) if f.endswith(".wav"))
             for w in words}
    clips = {w: c for w, c in clips.items() if c}
    if not clips:
        raise CorpusError(f"{db}: no <word>/*.wav folders (is --db the speech_commands_v0.01 directory?)")
    return clips


def silence_windows(db: str, seed: int) -> dict[str, list[Item]]:
    """One-second windows of every background noise recording, by set (see the module docstring)."""
    noise = os.path.join(db, NOISE_DIR)
    files = sorted(f for f in os.listdir(noise) if f.endswith(".wav")) if os.path.isdir(noise) else []
    if not files:
        raise CorpusError(f"{noise}: no background noise recordings (*.wav); silence clips are cut from them")
    out: dict[str, list[Item]] = {name: [] for name, _, _ in NOISE_SPLITS}
    for file in files:
        stem = os.path.splitext(file)[0]
        path = os.path.abspath(os.path.join(noise, file))
        rec = f"bgnoise-{stem}"
        total = audio_duration(path, rec)
        offset = float(np.random.default_rng([seed, zlib.crc32(stem.encode())]).random())
        for name, lo, hi in NOISE_SPLITS:
            start, end = lo * total + offset, hi * total
            while start + CLIP_SECONDS <= end:
                utt = f"{rec}-{int(round(start * 1000)):07d}"
                out[name].append(Item(utt, rec, path, start, start + CLIP_SECONDS, "bgnoise", SILENCE))
                start += CLIP_SECONDS
    return out


def _test_set(test_db: str) -> list[Item]:
    if not os.path.isdir(test_db):
        raise CorpusError(f"{test_db} not found: expected the speech_commands_test_set_v0.01 directory")
    items = []
    for label in sorted(os.listdir(test_db)):
        folder = os.path.join(test_db, label)
        if os.path.isdir(folder):
            items += [_clip(os.path.abspath(os.path.join(folder, f)), label)
                      for f in sorted(os.listdir(folder)) if f.endswith(".wav")]
    if not items:
        raise CorpusError(f"{test_db}: no <class>/*.wav clips (is it the speech_commands_test_set_v0.01 directory?)")
    return items


def write_items(out_dir: str, items: Sequence[Item]) -> None:
    """A segmented Kaldi dir of ``items``; duplicate utterance ids are an error."""
    utts: dict[str, Item] = {}
    for item in items:
        if item.utt in utts:
            raise CorpusError(f"two clips give the utterance id '{item.utt}': {utts[item.utt].path} and {item.path}")
        utts[item.utt] = item
    write_dir_files(out_dir, {"wav.scp": {i.rec: i.path for i in items},
                              "segments": {u: f"{i.rec} {i.start:.3f} {i.end:.3f}" for u, i in utts.items()},
                              "utt2dur": {u: f"{i.end - i.start:.3f}" for u, i in utts.items()},
                              "utt2label": {u: i.label for u, i in utts.items()}},
                    {u: i.spk for u, i in utts.items()})


def prepare_speech_commands(db: str, out_dir: str, test_db: str | None = None, seed: int = 0) -> dict[str, int]:
    """Write ``OUT/{train,dev,test}``; returns the number of utterances per set."""
    if not os.path.isdir(db):
        raise CorpusError(f"{db} not found: expected the speech_commands_v0.01 directory")
    dev_list, test_list = _read_list(db, "validation_list.txt"), _read_list(db, "testing_list.txt")
    sets: dict[str, list[Item]] = {"train": [], "dev": [], "test": []}
    for word, clips in _word_clips(db).items():
        for rel in clips:
            name = "dev" if rel in dev_list else "test" if rel in test_list else "train"
            sets[name].append(_clip(os.path.abspath(os.path.join(db, rel)), word))
    for name, windows in silence_windows(db, seed).items():
        sets[name] += windows
    if test_db:
        sets["test"] = _test_set(test_db)
    for name, items in sets.items():
        if not items:
            raise CorpusError(f"{db}: the {name} set is empty (check validation_list.txt and testing_list.txt)")
        write_items(os.path.join(out_dir, name), items)
    return {name: len(items) for name, items in sets.items()}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechbench.corpora.speech_commands",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True, help="the speech_commands_v0.01 directory")
    p.add_argument("--test-db", default=None, help="the speech_commands_test_set_v0.01 directory (SUPERB's test set)")
    p.add_argument("--out", required=True, help="parent of the train/dev/test data dirs")
    p.add_argument("--seed", type=int, default=0, help="seed of the silence window offsets")
    a = p.parse_args(argv)
    return run_prep(lambda: prepare_speech_commands(a.db, a.out, a.test_db, a.seed), "utterances")


if __name__ == "__main__":
    sys.exit(main())
