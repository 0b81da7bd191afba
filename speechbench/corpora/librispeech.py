"""LibriSpeech data prep: Kaldi dirs for ASR, phoneme recognition and phone classification.

Reads the official release layout (``--db`` is the ``LibriSpeech`` directory or its parent)::

    LibriSpeech/<subset>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac
    LibriSpeech/<subset>/<spk>/<chapter>/<spk>-<chapter>.trans.txt    (`<utt id> WORDS ...` lines)

for subsets such as train-clean-100, dev-clean, test-clean (also train-clean-360,
train-other-500, dev-other, test-other). Each subset becomes ``OUT/<name>`` with
``wav.scp`` (absolute flac paths), ``text`` (upper-case words, as released), ``utt2spk``,
``spk2utt``, ``utt2dur``, and optionally:

* ``text.phn`` with ``--lexicon`` (CMUdict-style ``WORD PH PH ...`` lines, e.g.
  ``librispeech-lexicon.txt``, or several comma-separated files such as s3prl's two g2p
  lexicons, earlier files first; the first pronunciation of a word is used): ARPAbet phones
  with stress, as SUPERB's phoneme recognition (69 stressed phones + SIL + SPN), or without
  stress digits with ``--no-stress``. A word missing from the lexicon becomes ``SPN``
  (spoken noise, Kaldi's rule); the count is reported.
* ``ali.ark`` + ``ali.scp`` + ``phones.txt`` with ``--alignments DIR`` (Montreal Forced
  Aligner output, ``DIR/<spk>/<spk>-<chapter>-<utt>.TextGrid`` with a ``phones`` tier): one
  phone id per 10 ms frame, frame i = [10i, 10i + 10) ms labelled by the phone at its centre,
  ceil(samples / 160) frames (the ``phone`` task's format). Empty, ``sil`` and ``sp``
  intervals are ``sil`` (id 0); the other symbols keep MFA's spelling (stress removed with
  ``--no-stress``). ``phones.txt`` is the same in every set (the union of their phones).
  Utterances without a TextGrid (MFA skips a few) are left out of that set, with a count.

    python -m speechbench.corpora.librispeech --db /data/LibriSpeech --out data \\
        --sets train-clean-100,dev-clean,test-clean --names train,dev,test \\
        [--lexicon librispeech-lexicon.txt [--no-stress]] [--alignments mfa_out]
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys
from typing import Sequence

import kaldiio
import numpy as np

from speechbench.corpora.errors import CorpusError
from speechbench.data.audio import compute_utt2dur
from speechbench.data.kaldi_dir import c_sorted, spk2utt_from_utt2spk, write_kv
from speechbench.data.validate import fix_data_dir
from speechbench.errors import run_command

SUBSETS = ("train-clean-100", "train-clean-360", "train-other-500", "dev-clean", "dev-other", "test-clean",
           "test-other")
SILENCES = frozenset({"", "sil", "sp", "<eps>", "silence"})
FRAME_SHIFT = 0.01



def corpus_root(db: str) -> str:
    """The ``LibriSpeech`` directory: ``db`` itself or ``db/LibriSpeech``."""
    for root in (db, os.path.join(db, "LibriSpeech")):
        if any(os.path.isdir(os.path.join(root, s)) for s in SUBSETS):
            return root
    raise CorpusError(f"{db}: no LibriSpeech subset ({', '.join(SUBSETS)}) found here or in {db}/LibriSpeech; "
                      f"point --db at the extracted LibriSpeech directory")


def read_subset(db: str, subset: str) -> dict[str, tuple[str, str]]:
    """``utt -> (flac path, words)`` of one subset; every transcript line must have its flac."""
    root = os.path.join(corpus_root(db), subset)
    if not os.path.isdir(root):
        raise CorpusError(f"{root} not found: extract {subset}.tar.gz into {corpus_root(db)}")
    out: dict[str, tuple[str, str]] = {}
    for spk in sorted(os.listdir(root)):
        spk_dir = os.path.join(root, spk)
        if not os.path.isdir(spk_dir):
            continue
        for chapter in sorted(os.listdir(spk_dir)):
            chapter_dir = os.path.join(spk_dir, chapter)
            if not os.path.isdir(chapter_dir):
                continue
            trans = os.path.join(chapter_dir, f"{spk}-{chapter}.trans.txt")
            if not os.path.isfile(trans):
                raise CorpusError(f"{trans} not found: every chapter directory holds its transcript file")
            with open(trans, encoding="utf-8") as f:
                for lineno, line in enumerate(f, 1):
                    utt, _, words = line.strip().partition(" ")
                    if not utt:
                        continue
                    if not utt.startswith(f"{spk}-{chapter}-") or not words.strip():
                        raise CorpusError(f"{trans}:{lineno}: expected `{spk}-{chapter}-NNNN WORDS ...`, "
                                          f"got '{line.strip()}'")
                    flac = os.path.join(chapter_dir, f"{utt}.flac")
                    if not os.path.isfile(flac):
                        raise CorpusError(f"{flac} not found (listed in {trans}:{lineno})")
                    out[utt] = (os.path.abspath(flac), " ".join(words.split()))
    if not out:
        raise CorpusError(f"{root}: no <spk>/<chapter>/<spk>-<chapter>.trans.txt found")
    return out


# ----------------------------------------------------------------------------- lexicon
def _strip_stress(phone: str) -> str:
    return phone.rstrip("012") or phone


def read_lexicon(path: str, stress: bool = True) -> dict[str, list[str]]:
    """``WORD -> phones`` from a CMUdict-style file (first pronunciation wins; ``;;;`` comments skipped)."""
    if not os.path.isfile(path):
        raise CorpusError(f"lexicon {path} not found (e.g. librispeech-lexicon.txt from openslr.org/11)")
    lexicon: dict[str, list[str]] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip() or line.startswith(";;;"):
                continue
            word, *phones = line.split()
            if not phones:
                raise CorpusError(f"{path}:{lineno}: '{word}' has no pronunciation (expected `WORD PH PH ...`)")
            word = re.sub(r"\(\d+\)$", "", word).upper()  # CMUdict marks alternates WORD(2)
            if word not in lexicon:
                lexicon[word] = phones if stress else [_strip_stress(p) for p in phones]
    return lexicon


def phone_transcript(words: str, lexicon: dict[str, list[str]], unknown: str = "SPN") -> tuple[list[str], int]:
    """Phones of a word sequence and how many words were out of the lexicon (each becomes ``unknown``)."""
    phones: list[str] = []
    oov = 0
    for word in words.split():
        pron = lexicon.get(word.upper())
        if pron is None:
            oov += 1
            phones.append(unknown)
        else:
            phones.extend(pron)
    return phones, oov


# ----------------------------------------------------------------------------- TextGrid
_NUMBER = re.compile(r"^-?\d+(\.\d*)?([eE][-+]?\d+)?$")
_HEADER = re.compile(r"^\s*(item|intervals|points)\s*\[\d*\]\s*:?\s*$")


def _textgrid_values(path: str) -> list[str]:
    """Values of a Praat TextGrid, long or short text format, in file order (labels dropped)."""
    with open(path, encoding="utf-8-sig") as f:
        text = f.read()
    values: list[str] = []
    for line in text.splitlines():
        if _HEADER.match(line):
            continue
        if "=" in line and not line.lstrip().startswith('"'):
            line = line.split("=", 1)[1]
        for token in re.findall(r'"(?:[^"]|"")*"|<exists>|<absent>|\S+', line):
            if token.startswith('"'):
                values.append(token[1:-1].replace('""', '"'))
            elif token in ("<exists>", "<absent>") or _NUMBER.match(token):
                values.append(token)
    return values


def read_textgrid(path: str) -> dict[str, list[tuple[float, float, str]]]:
    """``tier name -> [(start, end, label), ...]`` of the interval tiers of a TextGrid file."""
    try:
        v = _textgrid_values(path)
        if v[:2] != ["ooTextFile", "TextGrid"]:
            raise ValueError("not a TextGrid (missing the ooTextFile/TextGrid header)")
        pos = 4
        if v[pos] == "<exists>":
            pos += 1
        num_tiers = int(v[pos])
        pos += 1
        tiers: dict[str, list[tuple[float, float, str]]] = {}
        for _ in range(num_tiers):
            kind, name, count = v[pos], v[pos + 1], int(v[pos + 4])
            pos += 5
            if kind == "IntervalTier":
                tiers[name] = [(float(v[pos + 3 * i]), float(v[pos + 3 * i + 1]), v[pos + 3 * i + 2])
                               for i in range(count)]
                pos += 3 * count
            else:  # TextTier: points of (time, mark)
                pos += 2 * count
        return tiers
    except (IndexError, ValueError) as e:
        raise CorpusError(f"{path}: cannot read as a Praat TextGrid ({e}); expected MFA's output "
                          f"(long or short text format)") from None


def frame_labels(intervals: list[tuple[float, float, str]], num_frames: int) -> list[str]:
    """Label of each 10 ms frame at its centre; frames outside every interval are silence."""
    labels = ["sil"] * num_frames
    for start, end, label in intervals:
        first = max(0, math.ceil(start / FRAME_SHIFT - 0.5))
        last = min(num_frames, math.ceil(end / FRAME_SHIFT - 0.5))
        name = "sil" if label.strip().lower() in SILENCES else label.strip()
        labels[first:last] = [name] * (last - first)
    return labels


def read_alignments(ali_dir: str, utts: dict[str, float], stress: bool = True) -> dict[str, list[str]]:
    """Frame phone labels of the utterances (``utt -> seconds``) that have a TextGrid in ``ali_dir``."""
    if not os.path.isdir(ali_dir):
        raise CorpusError(f"alignment dir {ali_dir} not found (expected MFA output: <spk>/<utt>.TextGrid)")
    out: dict[str, list[str]] = {}
    for utt, seconds in utts.items():
        path = os.path.join(ali_dir, utt.split("-")[0], f"{utt}.TextGrid")
        if not os.path.isfile(path):
            continue
        tiers = read_textgrid(path)
        if "phones" not in tiers:
            raise CorpusError(f"{path}: no 'phones' interval tier (tiers: {sorted(tiers)})")
        num_frames = math.ceil(round(seconds * 16000) / 160)
        labels = frame_labels(tiers["phones"], num_frames)
        out[utt] = labels if stress else [_strip_stress(p) for p in labels]
    return out


# ----------------------------------------------------------------------------- prep
def prepare_librispeech(db: str, out_dir: str, subsets: Sequence[str] = ("train-clean-100", "dev-clean", "test-clean"),
                        names: Sequence[str] | None = None, lexicon: str | None = None, stress: bool = True,
                        alignments: str | None = None) -> dict[str, int]:
    """Write one Kaldi dir per subset under ``out_dir`` (named by ``names``); returns utterances per dir.

    ``lexicon``: one file or comma-separated files (a word's entry in an earlier file wins).
    """
    names = list(names or subsets)
    if len(names) != len(subsets):
        raise CorpusError(f"{len(subsets)} subsets but {len(names)} names: give one name per subset")
    unknown = [s for s in subsets if s not in SUBSETS]
    if unknown:
        raise CorpusError(f"unknown LibriSpeech subsets {unknown}; valid: {', '.join(SUBSETS)}")
    lex = None
    if lexicon:
        lex = {}
        for path in lexicon.split(","):
            lex = {**read_lexicon(path, stress), **lex}
    counts: dict[str, int] = {}
    frames: dict[str, dict[str, list[str]]] = {}
    for subset, name in zip(subsets, names):
        utts = read_subset(db, subset)
        out = os.path.join(out_dir, name)
        os.makedirs(out, exist_ok=True)
        for stale in ("ali.ark", "ali.scp", "phones.txt", "text.phn"):
            if os.path.exists(os.path.join(out, stale)):
                os.remove(os.path.join(out, stale))
        write_kv(os.path.join(out, "wav.scp"), {u: path for u, (path, _) in utts.items()})
        write_kv(os.path.join(out, "text"), {u: words for u, (_, words) in utts.items()})
        utt2spk = {u: u.split("-")[0] for u in utts}
        write_kv(os.path.join(out, "utt2spk"), utt2spk)
        write_kv(os.path.join(out, "spk2utt"), spk2utt_from_utt2spk(utt2spk))
        durations = compute_utt2dur(out)
        if lex is not None:
            phn, oov = {}, 0
            for u, (_, words) in utts.items():
                phn[u], n = phone_transcript(words, lex)
                oov += n
            write_kv(os.path.join(out, "text.phn"), phn)
            if oov:
                print(f"{name}: {oov} words not in {lexicon} were written as SPN", file=sys.stderr)
        if alignments:
            frames[name] = read_alignments(alignments, durations, stress)
            if not frames[name]:
                raise CorpusError(f"{alignments}: no TextGrid for any utterance of {subset} "
                                  f"(expected {alignments}/<spk>/<spk>-<chapter>-<utt>.TextGrid)")
        counts[name] = len(utts)
    if alignments:
        _write_alignments(out_dir, frames, counts)
    return counts


def _write_alignments(out_dir: str, frames: dict[str, dict[str, list[str]]], counts: dict[str, int]) -> None:
    """``ali.ark``/``ali.scp``/``phones.txt`` per set (one table for all); unaligned utterances dropped."""
    symbols = sorted({p for per_set in frames.values() for labels in per_set.values() for p in labels} - {"sil"})
    table = {p: i for i, p in enumerate(["sil"] + symbols)}
    for name, per_set in frames.items():
        out = os.path.abspath(os.path.join(out_dir, name))
        ark, scp = os.path.join(out, "ali.ark"), os.path.join(out, "ali.scp")
        vectors = {u: np.array([table[p] for p in per_set[u]], dtype=np.int32) for u in c_sorted(per_set)}
        kaldiio.save_ark(ark + ".tmp", vectors, scp=scp + ".tmp")
        with open(scp + ".tmp", encoding="utf-8") as f:
            entries = {line.split(" ", 1)[0]: line.split(" ", 1)[1].strip().replace(ark + ".tmp", ark, 1)
                       for line in f if line.strip()}
        os.replace(ark + ".tmp", ark)
        os.unlink(scp + ".tmp")
        write_kv(scp, entries)
        write_kv(os.path.join(out, "phones.txt"), table)
        missing = counts[name] - len(per_set)
        if missing:
            fix_data_dir(out)
            counts[name] = len(per_set)
            print(f"{name}: {missing} utterances have no TextGrid and were dropped (originals in {out}/.backup)",
                  file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechbench.corpora.librispeech",
                                description="LibriSpeech -> Kaldi data dirs (text, optional text.phn and MFA alignments).")
    p.add_argument("--db", required=True, help="the LibriSpeech directory (or its parent)")
    p.add_argument("--out", required=True, help="output root; one dir per subset")
    p.add_argument("--sets", default="train-clean-100,dev-clean,test-clean", help="comma-separated subsets")
    p.add_argument("--names", default=None, help="comma-separated output names (default: the subset names)")
    p.add_argument("--lexicon", default=None, help="CMUdict-style lexicon -> text.phn")
    p.add_argument("--no-stress", action="store_true", help="strip stress digits from phones (AH0 -> AH)")
    p.add_argument("--alignments", default=None, help="MFA TextGrid dir -> ali.ark/ali.scp/phones.txt")
    a = p.parse_args(argv)

    def body() -> None:
        counts = prepare_librispeech(a.db, a.out, a.sets.split(","), a.names.split(",") if a.names else None,
                                     lexicon=a.lexicon, stress=not a.no_stress, alignments=a.alignments)
        for name, n in counts.items():
            print(f"{os.path.join(a.out, name)}: {n} utterances")
    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
