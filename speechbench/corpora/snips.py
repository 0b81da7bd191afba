"""Audio SNIPS data prep (SUPERB slot filling): train/dev/test dirs with slot-tagged transcripts.

Reads the audio release of SNIPS that SUPERB uses (Lai et al., "Semi-supervised spoken language
understanding via self-supervised speech and language model pretraining", ICASSP 2021;
synthesised by 16 speakers), as s3prl's preprocessing leaves it::

    <db>/all.iob.snips.txt                            <id> BOS w1 .. wn EOS<TAB>O t1 .. tn <intent>
    <db>/{train,valid,test}/**/<Speaker>-snips-<split>-<n>.wav   (or .mp3)

where ``t_i`` is the slot type of word ``i`` or ``O``. A slot value is a run of words of one
type. SUPERB's speaker split (s3prl ``downstream/ctc/snips.yaml``): train Ivy, Joanna, Joey,
Justin, Kendra, Kimberly, Matthew, Salli; valid (our dev) Aditi, Amy, Geraint, Nicole; test
Brian, Emma, Raveena, Russell; ``--train-speakers`` etc. change it (``all``: every speaker in
that folder). Text normalisation as s3prl's ``superb_sf``: a few non-Latin names replaced,
``&`` -> ``AND``, accented capitals folded to ASCII, words that are only punctuation dropped
with their tags, upper case.

Output ``OUT/{train,dev,test}``: ``wav.scp``, ``utt2spk``, ``spk2utt``, ``text`` (words),
``text.slot`` (the words with every slot value wrapped as ``B-<type> ... E-<type>``, the CTC
target of ``speechbench.downstream.sf``), ``utt2dur``. Utterance ids are the file names.

    python -m speechbench.corpora.snips --db /data/SNIPS --out data
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from speechbench.corpora.cli import run_prep
from speechbench.corpora.errors import CorpusError
from speechbench.data.audio import compute_utt2dur
from speechbench.data.kaldi_dir import write_dir_files
from speechbench.metrics.slot_filling import is_slot_tag

TRANSCRIPTS = "all.iob.snips.txt"
SPLITS = {"train": "train", "valid": "dev", "test": "test"}
SUPERB_SPEAKERS = {"train": "Ivy,Joanna,Joey,Justin,Kendra,Kimberly,Matthew,Salli",
                   "valid": "Aditi,Amy,Geraint,Nicole",
                   "test": "Brian,Emma,Raveena,Russell"}
AUDIO_EXTENSIONS = (".wav", ".mp3")
PUNCTUATION = set("?!.,;-–…")
REPLACE = (("楽園追放", "EXPELLED"), ("官方杂志", ""), ("–", "-"), ("&", " AND "))
FOLD = str.maketrans('ÁÃÄÅÆÇÈÉÊËÍÏÐÒÓÔÖØÚÛĘŃŌŞŪ"', "AAAAACEEEEIIDOOOOOUUENOSU ")


def tag_slots(words: Sequence[str], types: Sequence[str]) -> str:
    """``B-<type> ... E-<type>`` around each run of words of one slot type (``O``: no slot)."""
    out: list[str] = []
    for i, (word, kind) in enumerate(zip(words, types)):
        if kind != "O" and (i == 0 or types[i - 1] != kind):
            out.append(f"B-{kind}")
        out.append(word)
        if kind != "O" and (i == len(words) - 1 or types[i + 1] != kind):
            out.append(f"E-{kind}")
    return " ".join(out)


def parse_line(line: str, where: str) -> tuple[str, list[str], list[str]]:
    """``(id, words, slot types)`` of one ``all.iob.snips.txt`` line, normalised as SUPERB."""
    try:
        head, iob = line.rstrip("\n").split("\t")
    except ValueError:
        raise CorpusError(f"{where}: expected `<id> BOS words EOS<TAB>O tags <intent>`, got '{line.strip()}'") from None
    utt, *tokens = head.split()
    tags = iob.split()
    if len(tokens) < 2 or tokens[0] != "BOS" or tokens[-1] != "EOS" or len(tags) != len(tokens):
        raise CorpusError(f"{where}: '{utt}' needs BOS ... EOS and one tag per token (O for BOS, the intent "
                          f"for EOS): {len(tokens)} tokens, {len(tags)} tags")
    words, types = [], []
    for word, kind in zip(tokens[1:-1], tags[1:-1]):
        for old, new in REPLACE:
            word = word.replace(old, new)
        for piece in word.upper().translate(FOLD).split():
            if piece in PUNCTUATION:
                continue
            if kind != "O" and not is_slot_tag(f"B-{kind}"):
                raise CorpusError(f"{where}: slot type '{kind}' of '{utt}' must start with a lower-case letter "
                                  f"(letters, digits, _ and . after it)")
            words.append(piece)
            types.append(kind)
    if not words:
        raise CorpusError(f"{where}: '{utt}' has no words left after normalisation")
    return utt, words, types


def read_transcripts(path: str) -> dict[str, tuple[list[str], list[str]]]:
    """``id -> (words, slot types)`` of every line of ``all.iob.snips.txt``."""
    if not os.path.isfile(path):
        raise CorpusError(f"{path} not found (is --db the SNIPS directory of the audio release?)")
    out = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                utt, words, types = parse_line(line, f"{path}:{lineno}")
                out[utt] = (words, types)
    return out


def _audio_files(folder: str) -> dict[str, str]:
    if not os.path.isdir(folder):
        raise CorpusError(f"{folder} not found (is --db the SNIPS directory of the audio release?)")
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            stem, ext = os.path.splitext(name)
            if ext.lower() in AUDIO_EXTENSIONS:
                found[stem] = os.path.abspath(os.path.join(root, name))
    return found


def prepare_snips(db: str, out_dir: str, speakers: dict[str, str] | None = None) -> dict[str, int]:
    """Write ``OUT/{train,dev,test}``; ``speakers`` maps train/valid/test to a comma list or ``all``."""
    speakers = {**SUPERB_SPEAKERS, **(speakers or {})}
    transcripts = read_transcripts(os.path.join(db, TRANSCRIPTS))
    counts = {}
    for split, name in SPLITS.items():
        wanted = None if speakers[split] == "all" else set(speakers[split].split(","))
        rows = {}
        for utt, path in sorted(_audio_files(os.path.join(db, split)).items()):
            spk = utt.split("-")[0]
            if utt in transcripts and (wanted is None or spk in wanted):
                rows[utt] = (path, spk, *transcripts[utt])
        if not rows:
            raise CorpusError(f"{os.path.join(db, split)}: no audio with a transcript in {TRANSCRIPTS} for the "
                              f"speakers {speakers[split]}")
        target = os.path.join(out_dir, name)
        write_dir_files(target, {"wav.scp": {u: r[0] for u, r in rows.items()},
                                 "text": {u: " ".join(r[2]) for u, r in rows.items()},
                                 "text.slot": {u: tag_slots(r[2], r[3]) for u, r in rows.items()}},
                        {u: r[1] for u, r in rows.items()})
        compute_utt2dur(target)
        counts[name] = len(rows)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechbench.corpora.snips", description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True, help="the SNIPS directory (all.iob.snips.txt, train/, valid/, test/)")
    p.add_argument("--out", required=True, help="parent of the train/dev/test data dirs")
    for split in SPLITS:
        p.add_argument(f"--{split}-speakers", default=SUPERB_SPEAKERS[split],
                       help=f"comma-separated speakers of {split}/ (default SUPERB's: %(default)s; all: every one)")
    a = p.parse_args(argv)
    return run_prep(lambda: prepare_snips(a.db, a.out, {s: getattr(a, f"{s}_speakers") for s in SPLITS}), "utterances")


if __name__ == "__main__":
    sys.exit(main())
