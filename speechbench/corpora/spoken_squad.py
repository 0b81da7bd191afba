"""Spoken SQuAD data prep (the NMSQA / DUAL release used by SUPERB-SG): passage audio, text
questions, answer time spans.

Reads, for each split name S (``train``, ``dev``)::

    DB/S-answer-span.csv     CSV with a header holding at least `hash,utterance,start,end`:
                             question id (the SQuAD qa id), passage audio name, answer span (s)
    DB/S-v1.1.json           the SQuAD v1.1 JSON of the split (question text by qa id)
    DB/S_audios/<utterance>.<ext>   passage audio (``--audio-dir``/``--ext`` to change)

One output utterance per question: ``OUT/S/wav.scp`` (question id -> its passage audio; questions
of one passage share the file), ``question`` (text), ``answer`` (SQuAD answer text),
``utt2answer`` (``start end`` seconds), ``utt2spk`` (the passage audio name: questions grouped by
passage), ``spk2utt``, ``utt2dur``. Rows whose span is empty (end <= start) are dropped and counted.

    python -m speechbench.corpora.spoken_squad --db /data/NMSQA --out data --splits train,dev
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from typing import Sequence

from speechbench.corpora.errors import CorpusError
from speechbench.data.audio import compute_utt2dur
from speechbench.data.kaldi_dir import spk2utt_from_utt2spk, write_kv
from speechbench.errors import run_command

COLUMNS = ("hash", "utterance", "start", "end")



def _need_file(path: str, what: str) -> str:
    if not os.path.isfile(path):
        raise CorpusError(f"{path} not found: expected {what} (is --db the Spoken SQuAD / NMSQA directory?)")
    return path


def read_squad_questions(path: str) -> dict[str, tuple[str, str]]:
    """``qa id -> (question, first answer text)`` from a SQuAD v1.1 JSON."""
    with open(_need_file(path, "the SQuAD v1.1 JSON of the split"), encoding="utf-8") as f:
        try:
            squad = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise CorpusError(f"{path} is not valid JSON ({e})") from None
    out = {}
    try:
        for article in squad["data"]:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    answers = qa.get("answers") or [{"text": ""}]
                    out[qa["id"]] = (" ".join(qa["question"].split()), " ".join(answers[0]["text"].split()))
    except (KeyError, TypeError) as e:
        raise CorpusError(f"{path} is not SQuAD v1.1 JSON (data/paragraphs/qas/id/question): missing {e}") from None
    return out


def read_answer_spans(path: str) -> list[tuple[str, str, float, float]]:
    """``(qa id, passage audio name, start, end)`` rows of ``S-answer-span.csv``."""
    rows = []
    with open(_need_file(path, "the answer-span CSV"), encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CorpusError(f"{path}: header lacks columns {missing} (has {reader.fieldnames}); "
                              f"expected {','.join(COLUMNS)}")
        for lineno, row in enumerate(reader, 2):
            try:
                rows.append((row["hash"], row["utterance"], float(row["start"]), float(row["end"])))
            except (TypeError, ValueError):
                raise CorpusError(f"{path}:{lineno}: start/end are not numbers: {row['start']!r}, {row['end']!r}") from None
    return rows


def prepare_split(db: str, split: str, out_dir: str, audio_dir: str | None = None, ext: str = "wav") -> dict[str, int]:
    """Write ``out_dir/<split>``; returns kept and dropped question counts."""
    questions = read_squad_questions(os.path.join(db, f"{split}-v1.1.json"))
    rows = read_answer_spans(os.path.join(db, f"{split}-answer-span.csv"))
    audio_dir = audio_dir or os.path.join(db, f"{split}_audios")
    unknown = [r[0] for r in rows if r[0] not in questions]
    if unknown:
        raise CorpusError(f"{len(unknown)} question ids of {split}-answer-span.csv are not in {split}-v1.1.json "
                          f"(e.g. '{unknown[0]}'): the CSV and the JSON are of different splits")
    wavs, text, answer, spans, utt2spk = {}, {}, {}, {}, {}
    dropped = 0
    for qid, passage, start, end in rows:
        if end <= start or qid in wavs:
            dropped += 1
            continue
        path = os.path.join(audio_dir, f"{passage}.{ext}")
        if not os.path.isfile(path):
            raise CorpusError(f"{path} not found: passage audio of question '{qid}' (set --audio-dir/--ext)")
        wavs[qid], utt2spk[qid] = os.path.abspath(path), passage
        text[qid], answer[qid] = questions[qid]
        spans[qid] = f"{start:.3f} {end:.3f}"
    if not wavs:
        raise CorpusError(f"no usable question in {split}-answer-span.csv ({dropped} rows dropped)")
    out = os.path.join(out_dir, split)
    os.makedirs(out, exist_ok=True)
    write_kv(os.path.join(out, "wav.scp"), wavs)
    write_kv(os.path.join(out, "question"), text)
    write_kv(os.path.join(out, "answer"), {k: v for k, v in answer.items() if v})
    write_kv(os.path.join(out, "utt2answer"), spans)
    write_kv(os.path.join(out, "utt2spk"), utt2spk)
    write_kv(os.path.join(out, "spk2utt"), spk2utt_from_utt2spk(utt2spk))
    compute_utt2dur(out)
    return {"kept": len(wavs), "dropped": dropped}


def prepare_spoken_squad(db: str, out_dir: str, splits: Sequence[str] = ("train", "dev"),
                         ext: str = "wav") -> dict[str, dict[str, int]]:
    """Every split of ``splits`` under ``out_dir``; returns counts per split."""
    if not os.path.isdir(db):
        raise CorpusError(f"--db {db} is not a directory (point it at the Spoken SQuAD / NMSQA directory)")
    return {s: prepare_split(db, s, out_dir, ext=ext) for s in splits}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechbench.corpora.spoken_squad",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True, help="directory holding S-answer-span.csv, S-v1.1.json, S_audios/")
    p.add_argument("--out", required=True, help="output parent of one data dir per split")
    p.add_argument("--splits", default="train,dev", help="comma-separated split names")
    p.add_argument("--ext", default="wav", help="passage audio extension (wav, flac, mp3 if libsndfile reads it)")
    args = p.parse_args(argv)

    def body() -> None:
        counts = prepare_spoken_squad(args.db, args.out, [s for s in args.splits.split(",") if s], ext=args.ext)
        for split, c in counts.items():
            print(f"{split}: {c['kept']} questions ({c['dropped']} dropped)")
    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
