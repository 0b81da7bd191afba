"""Libri2Mix data prep (SUPERB speaker diarization): recording dirs with reference RTTMs.

Reads a LibriMix tree (Cosentino et al., 2020) and the speaker turns of its LibriSpeech
sources::

    <db>/<split>/mix_<mix>/<mixture_ID>.wav          db = .../Libri2Mix/wav16k/max
    <db>/metadata/mixture_<split>_mix_<mix>.csv      mixture_ID,mixture_path,source_1_path,source_2_path[,noise_path],length
    <rttm_dir>/*.rttm                                turns of the source utterances

``mixture_ID`` is ``<source 1>_<source 2>``, each a LibriSpeech utterance id
``speaker-chapter-utterance``; ``length`` is in samples. In ``max`` mode both sources start
at the beginning of the mixture, so a source's turns are its turns in the mixture. The RTTMs
are those of the LibriMix fork that s3prl's and ESPnet's diarization recipes use
(``metadata/LibriSpeech/{train_clean_100,dev_clean,test_clean}.rttm``: file id
``chapter-utterance`` or the full utterance id, speaker = the LibriSpeech speaker). s3prl's
SUPERB prep reads ``mix_both`` (speech + WHAM noise), the default here; ``--mix clean`` reads
``mix_clean``. Splits: ``train-100``, ``dev``, ``test`` -> ``train``, ``dev``, ``test``.

Output:

* ``OUT/{train,dev,test}``: what ``speechbench.downstream.sd`` reads, one utterance per
  recording: ``wav.scp`` (mixture -> audio), ``rttm`` (reference turns, file id = mixture,
  speaker = LibriSpeech speaker), ``utt2dur``;
* ``OUT/s3prl/{train,dev,test}``: the same data in the layout of s3prl's diarization
  downstream and ESPnet's ``diar1`` (one segment per turn): ``wav.scp``, ``segments``,
  ``utt2spk``, ``spk2utt``, ``rttm``, ``reco2dur``.

    python -m speechbench.corpora.librimix --db /data/Libri2Mix/wav16k/max \\
        --rttm-dir /data/LibriMix/metadata/LibriSpeech --out data
"""
from __future__ import annotations

import argparse
import csv
import glob
import os
import sys
from typing import Sequence

from speechbench.corpora.cli import run_prep
from speechbench.corpora.errors import CorpusError
from speechbench.data.audio import audio_header
from speechbench.data.kaldi_dir import write_dir_files
from speechbench.metrics.diarization import RttmError, Turn, read_rttm, write_rttm

SPLITS = ("train-100", "dev", "test")
NAMES = ("train", "dev", "test")
MIXES = ("both", "clean", "single")


def read_source_turns(rttm_dir: str) -> dict[str, list[Turn]]:
    """Turns of the source utterances from every ``*.rttm`` in ``rttm_dir``, keyed by file id."""
    files = sorted(glob.glob(os.path.join(rttm_dir, "*.rttm")))
    if not files:
        raise CorpusError(f"{rttm_dir}: no *.rttm files with the turns of the LibriSpeech sources (the LibriMix "
                          f"fork of s3prl/ESPnet has them in metadata/LibriSpeech/); give --rttm-dir")
    out: dict[str, list[Turn]] = {}
    for path in files:
        try:
            for file, turns in read_rttm(path).items():
                out.setdefault(file, []).extend(turns)
        except RttmError as e:
            raise CorpusError(str(e)) from None
    return out


def _source_turns(source: str, turns: dict[str, list[Turn]], mixture: str, where: str) -> list[Turn]:
    speaker = source.split("-")[0]
    found = turns.get(source) or turns.get(source[len(speaker) + 1:])
    if not found:
        raise CorpusError(f"{where}: source '{source}' of '{mixture}' has no turns in the RTTMs (looked up "
                          f"'{source}' and '{source[len(speaker) + 1:]}')")
    wrong = {t.speaker for t in found} - {speaker}
    if wrong:
        raise CorpusError(f"{where}: the RTTM turns of '{source}' name speaker(s) {sorted(wrong)}, not '{speaker}'")
    return [Turn(mixture, speaker, t.start, t.end) for t in found]


def read_mixtures(db: str, split: str, mix: str, turns: dict[str, list[Turn]]) -> dict[str, tuple[str, float, list[Turn]]]:
    """``mixture -> (wav path, seconds, turns)`` of one split, from its metadata CSV."""
    meta = os.path.join(db, "metadata", f"mixture_{split}_mix_{mix}.csv")
    if not os.path.isfile(meta):
        raise CorpusError(f"{meta} not found (is --db the wav16k/max directory of Libri2Mix? --mix {mix})")
    out = {}
    rate = None
    with open(meta, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        absent = {"mixture_ID", "length"} - set(reader.fieldnames or [])
        if absent:
            raise CorpusError(f"{meta}: column(s) {sorted(absent)} not found (a LibriMix mixture CSV)")
        for row in reader:
            where = f"{meta}:{reader.line_num}"
            mixture = row["mixture_ID"]
            sources = mixture.split("_")
            if len(sources) != 2:
                raise CorpusError(f"{where}: mixture '{mixture}' is not <source 1>_<source 2> (Libri2Mix)")
            wav = os.path.join(db, split, f"mix_{mix}", f"{mixture}.wav")
            if not os.path.isfile(wav):
                raise CorpusError(f"{where}: audio not found: {wav}")
            rate = rate or audio_header(wav, mixture).sample_rate
            seconds = int(row["length"]) / rate
            mixed = [t for s in sources for t in _source_turns(s, turns, mixture, where)]
            out[mixture] = (os.path.abspath(wav), seconds,
                            [Turn(t.file, t.speaker, t.start, min(t.end, seconds)) for t in mixed if t.start < seconds])
    if not out:
        raise CorpusError(f"{meta}: no mixtures")
    return out


def _ms(seconds: float) -> str:
    return f"{int(round(seconds * 1000)):07d}"


def write_recording_dir(out_dir: str, mixtures: dict[str, tuple[str, float, list[Turn]]]) -> None:
    """The recording-level dir the sd task reads: wav.scp, rttm, utt2dur."""
    write_dir_files(out_dir, {"wav.scp": {m: v[0] for m, v in mixtures.items()},
                              "utt2dur": {m: f"{v[1]:.4f}" for m, v in mixtures.items()}})
    write_rttm(os.path.join(out_dir, "rttm"), [t for v in mixtures.values() for t in v[2]])


def write_turn_dir(out_dir: str, mixtures: dict[str, tuple[str, float, list[Turn]]]) -> None:
    """s3prl's / ESPnet's diarization layout: one segment per turn."""
    segments, utt2spk = {}, {}
    for mixture, (_, _, turns) in mixtures.items():
        for t in turns:
            seg = f"{t.speaker}-{mixture}_{_ms(t.start)}_{_ms(t.end)}"
            segments[seg] = f"{mixture} {t.start:.3f} {t.end:.3f}"
            utt2spk[seg] = t.speaker
    write_dir_files(out_dir, {"wav.scp": {m: v[0] for m, v in mixtures.items()},
                              "reco2dur": {m: f"{v[1]:.4f}" for m, v in mixtures.items()}, "segments": segments},
                    utt2spk)
    write_rttm(os.path.join(out_dir, "rttm"), [t for v in mixtures.values() for t in v[2]])


def prepare_librimix(db: str, rttm_dir: str, out_dir: str, mix: str = "both",
                     splits: Sequence[str] = SPLITS) -> dict[str, int]:
    """Write ``OUT/{train,dev,test}`` and ``OUT/s3prl/{train,dev,test}``; returns mixtures per set."""
    if mix not in MIXES:
        raise CorpusError(f"--mix must be one of {MIXES}, got '{mix}'")
    if len(splits) != 3:
        raise CorpusError(f"give three LibriMix splits for train, dev and test, got {list(splits)}")
    turns = read_source_turns(rttm_dir)
    counts = {}
    for split, name in zip(splits, NAMES):
        mixtures = read_mixtures(db, split, mix, turns)
        write_recording_dir(os.path.join(out_dir, name), mixtures)
        write_turn_dir(os.path.join(out_dir, "s3prl", name), mixtures)
        counts[name] = len(mixtures)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechbench.corpora.librimix", description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True, help="the Libri2Mix wav16k/max directory (split folders and metadata/)")
    p.add_argument("--rttm-dir", required=True, help="directory of the source utterances' *.rttm files")
    p.add_argument("--out", required=True, help="parent of the train/dev/test data dirs")
    p.add_argument("--mix", default="both", choices=MIXES, help="mixture kind (SUPERB: both)")
    p.add_argument("--splits", default=",".join(SPLITS), help="LibriMix splits read as train,dev,test")
    a = p.parse_args(argv)
    return run_prep(lambda: prepare_librimix(a.db, a.rttm_dir, a.out, a.mix, a.splits.split(",")), "mixtures")


if __name__ == "__main__":
    sys.exit(main())
