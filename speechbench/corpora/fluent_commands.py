"""Fluent Speech Commands data prep: train/dev/test Kaldi dirs with ``utt2intent``.

Reads the official release layout::

    fluent_speech_commands_dataset/data/{train,valid,test}_data.csv
    fluent_speech_commands_dataset/wavs/speakers/<speakerId>/<file>.wav

Each CSV has the header ``,path,speakerId,transcription,action,object,location`` (the first,
unnamed column is a row index) and ``path`` relative to the dataset root. Output:
``OUT/{train,dev,test}`` (valid -> dev) with ``wav.scp``, ``utt2spk``, ``spk2utt``, ``text``
(lower-cased transcription), ``utt2intent`` (``action object location``; spaces inside a
value become ``_``, e.g. ``change_language``) and ``utt2dur``. Utterance ids are
``<speakerId>-<file name>``.

    python -m speechbench.corpora.fluent_commands --db /data/fluent_speech_commands_dataset --out data
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from typing import Mapping, Sequence

from speechbench.corpora.cli import run_prep
from speechbench.corpora.errors import CorpusError
from speechbench.data.audio import compute_utt2dur
from speechbench.data.kaldi_dir import write_dir_files

SPLITS = {"train": "train", "valid": "dev", "test": "test"}
COLUMNS = ("path", "speakerId", "transcription", "action", "object", "location")



def _value(text: str) -> str:
    return "_".join(text.split())


def read_split(db: str, csv_path: str) -> dict[str, dict[str, str]]:
    """``file name -> {wav, spk, text, intent}`` of one CSV; every problem names the file and line."""
    if not os.path.isfile(csv_path):
        raise CorpusError(f"{csv_path} not found (is --db the fluent_speech_commands_dataset directory?)")
    try:
        with open(csv_path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            absent = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if absent:
                raise CorpusError(f"{csv_path}: column(s) {absent} not found; the header should be "
                                  f"',{','.join(COLUMNS)}'")
            out: dict[str, dict[str, str]] = {}
            for row in reader:
                empty = [c for c in COLUMNS if not (row[c] or "").strip()]
                if empty:
                    raise CorpusError(f"{csv_path}:{reader.line_num}: empty value in column(s) {empty}")
                spk = _value(row["speakerId"])
                utt = f"{spk}-{os.path.splitext(os.path.basename(row['path']))[0]}"
                wav = os.path.abspath(os.path.join(db, row["path"]))
                if not os.path.isfile(wav):
                    raise CorpusError(f"{csv_path}:{reader.line_num}: audio not found: {wav}")
                if utt in out:
                    raise CorpusError(f"{csv_path}:{reader.line_num}: utterance '{utt}' appears twice")
                out[utt] = {"wav": wav, "spk": spk, "text": " ".join(row["transcription"].lower().split()),
                            "intent": " ".join(_value(row[c]) for c in ("action", "object", "location"))}
    except UnicodeDecodeError as e:
        raise CorpusError(f"{csv_path} is not UTF-8 text ({e.reason}): expected the dataset's CSV") from None
    if not out:
        raise CorpusError(f"{csv_path}: no rows")
    return out


def prepare_fluent_commands(db: str, out_dir: str, splits: Mapping[str, str] = SPLITS) -> dict[str, int]:
    """Write ``OUT/<name>`` for each ``csv split -> name``; returns utterances per dir."""
    if not os.path.isdir(db):
        raise CorpusError(f"{db} not found: expected the fluent_speech_commands_dataset directory")
    counts = {}
    for split, name in splits.items():
        rows = read_split(db, os.path.join(db, "data", f"{split}_data.csv"))
        target = os.path.join(out_dir, name)
        write_dir_files(target, {file: {u: r[field] for u, r in rows.items()}
                                 for file, field in (("wav.scp", "wav"), ("text", "text"), ("utt2intent", "intent"))},
                        {u: r["spk"] for u, r in rows.items()})
        compute_utt2dur(target)
        counts[name] = len(rows)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechbench.corpora.fluent_commands",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True, help="the fluent_speech_commands_dataset directory")
    p.add_argument("--out", required=True, help="parent of the train/dev/test data dirs (e.g. data)")
    a = p.parse_args(argv)
    return run_prep(lambda: prepare_fluent_commands(a.db, a.out), "utterances")


if __name__ == "__main__":
    sys.exit(main())
