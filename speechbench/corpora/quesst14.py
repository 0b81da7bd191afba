"""QUESST 2014 data prep for query-by-example STD: documents, dev and eval queries, ground truth.

Reads the official ``quesst14Database`` layout::

    quesst14Database/Audio/quesst14_NNNNN.wav                 documents (8 kHz)
    quesst14Database/dev_queries/quesst14_dev_NNNN.wav
    quesst14Database/eval_queries/quesst14_eval_NNNN.wav
    quesst14Database/scoring/language_key_{utterances,dev,eval}.lst    `path language` lines
    quesst14Database/scoring/groundtruth_quesst14_{dev,eval}/quesst14_{dev,eval}.rttm

``.lst`` paths start with the database directory (``quesst14Database/Audio/...``) as in the
release. The RTTM has one ``LEXEME <doc> <chan> <tbeg> <dur> <query> ...`` line per occurrence.
SUPERB scores the English subset only (``nnenglish``: 138 dev / 138 eval queries, 2,438
documents); ``--languages`` picks others. Output: ``OUT/docs``, ``OUT/queries_dev``,
``OUT/queries_eval`` with ``wav.scp``, ``utt2spk`` (each utterance its own speaker: QUESST gives
no speaker ids), ``spk2utt``, ``utt2dur``, and ``ground_truth`` (``query doc start_sec end_sec``)
in the query dirs. Audio stays 8 kHz on disk; the readers resample to 16 kHz.

    python -m speechbench.corpora.quesst14 --db /data/quesst14Database --out data
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from speechbench.corpora.errors import CorpusError
from speechbench.data.audio import compute_utt2dur
from speechbench.data.kaldi_dir import spk2utt_from_utt2spk, write_kv
from speechbench.errors import run_command
from speechbench.utils_io import atomic_open, read_fields

SPLITS = ("dev", "eval")



def _need_file(path: str, what: str) -> str:
    if not os.path.isfile(path):
        raise CorpusError(f"{path} not found: expected {what} (is --db the quesst14Database directory?)")
    return path


def _audio_path(db: str, listed: str, lst: str, lineno: int) -> str:
    """A listed path, relative to the database root with or without its leading directory."""
    rest = listed.split("/", 1)[1] if "/" in listed else listed
    for candidate in (os.path.join(db, rest), os.path.join(db, listed)):
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    raise CorpusError(f"{lst}:{lineno}: audio {os.path.join(db, rest)} not found (listed as '{listed}')")


def read_language_key(db: str, name: str, languages: set[str]) -> dict[str, str]:
    """``utt -> audio path`` of the listed files in ``languages`` (``utt`` = file name without .wav)."""
    lst = _need_file(os.path.join(db, "scoring", f"language_key_{name}.lst"), f"the {name} language key")
    out: dict[str, str] = {}
    for lineno, (listed, language) in read_fields(lst, 2, "`path language`", CorpusError):
        if language in languages:
            utt = os.path.splitext(os.path.basename(listed))[0]
            out[utt] = _audio_path(db, listed, lst, lineno)
    if not out:
        raise CorpusError(f"{lst} lists no file in languages {sorted(languages)}")
    return out


def read_rttm(path: str, queries: set[str], docs: set[str]) -> list[tuple[str, str, float, float]]:
    """``(query, doc, start, end)`` of every LEXEME line whose query and document are kept."""
    occurrences = []
    with open(_need_file(path, "the ground-truth RTTM"), encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts or parts[0] != "LEXEME":
                continue
            try:
                doc, start, dur = parts[1], float(parts[3]), float(parts[4])
            except (IndexError, ValueError):
                raise CorpusError(f"{path}:{lineno}: expected `LEXEME doc chan tbeg dur query ...`, "
                                  f"got '{line.strip()}'") from None
            query = next((p for p in parts[5:] if p in queries), None)
            if query is not None and doc in docs:
                occurrences.append((query, doc, start, start + dur))
    return occurrences


def _write_dir(out: str, wavs: dict[str, str]) -> None:
    os.makedirs(out, exist_ok=True)
    write_kv(os.path.join(out, "wav.scp"), wavs)
    utt2spk = {u: u for u in wavs}
    write_kv(os.path.join(out, "utt2spk"), utt2spk)
    write_kv(os.path.join(out, "spk2utt"), spk2utt_from_utt2spk(utt2spk))
    compute_utt2dur(out)


def prepare_quesst14(db: str, out_dir: str, languages: Sequence[str] = ("nnenglish",)) -> dict[str, int]:
    """Write ``docs``, ``queries_dev`` and ``queries_eval`` under ``out_dir``; returns utterances per dir."""
    if not os.path.isdir(db):
        raise CorpusError(f"--db {db} is not a directory (point it at quesst14Database)")
    keep = set(languages)
    docs = read_language_key(db, "utterances", keep)
    _write_dir(os.path.join(out_dir, "docs"), docs)
    counts = {"docs": len(docs)}
    for split in SPLITS:
        queries = read_language_key(db, split, keep)
        rttm = os.path.join(db, "scoring", f"groundtruth_quesst14_{split}", f"quesst14_{split}.rttm")
        occurrences = read_rttm(rttm, set(queries), set(docs))
        out = os.path.join(out_dir, f"queries_{split}")
        _write_dir(out, queries)
        with atomic_open(os.path.join(out, "ground_truth"), "w", encoding="utf-8") as f:
            for query, doc, start, end in sorted(occurrences, key=lambda o: (o[0].encode(), o[1].encode(), o[2])):
                f.write(f"{query} {doc} {start:.3f} {end:.3f}\n")
        counts[f"queries_{split}"] = len(queries)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechbench.corpora.quesst14", description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True, help="the quesst14Database directory")
    p.add_argument("--out", required=True, help="output parent of docs/, queries_dev/, queries_eval/")
    p.add_argument("--languages", default="nnenglish", help="comma-separated language keys (SUPERB: nnenglish)")
    args = p.parse_args(argv)

    def body() -> None:
        counts = prepare_quesst14(args.db, args.out, [x for x in args.languages.split(",") if x])
        print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
