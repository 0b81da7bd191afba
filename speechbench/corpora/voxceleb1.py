"""VoxCeleb1 data prep for speaker identification (``speaker``) and verification (``asv``).

Reads the official release layout under ``--db``::

    wav/<speaker>/<youtube id>/<nnnnn>.wav      16 kHz; the dev and test zips may instead
                                                 unpack to dev/wav/ and test/wav/ (or
                                                 vox1_dev_wav/wav/, vox1_test_wav/wav/)
    iden_split.txt    `1|2|3 id10001/1zcIwhmdeo4/00001.wav` (speaker: 1 train, 2 dev, 3 test)
    veri_test2.txt    `1|0 id10270/x/00001.wav id10270/y/00002.wav` (asv: 1 = same speaker)
    vox1_meta.csv     tab-separated `VoxCeleb1 ID, VGGFace1 ID, Gender, Nationality, Set`
                      (asv, optional: training speakers are those of Set `dev`)

Utterance ids are ``<speaker>-<youtube id>-<nnnnn>`` (speaker first, so Kaldi order groups
speakers). Every output dir holds ``wav.scp``, ``utt2spk``, ``spk2utt`` and ``utt2dur``.

* ``--task speaker``: ``OUT/{train,dev,test}`` from the identification split (SUPERB SID).
* ``--task asv``: ``OUT/test`` holds the utterances of the trial list and ``trials``
  (``utt1 utt2 target|nontarget``); ``OUT/train_all`` every utterance ``iden_split.txt``
  lists for the training speakers (SUPERB trains on all of them; a listed file that is
  missing is an error); ``OUT/train`` and ``OUT/dev`` split it by speaker, ``--dev-speakers``
  of them held out with generated trials so the best checkpoint is chosen without looking at
  the test trials (``--no-split`` leaves that to a dev set of your own). Short utterances are
  dropped at training time (``datarc.min_train_seconds``), not here.

    python -m speechbench.corpora.voxceleb1 --db /data/VoxCeleb1 --out data --task speaker
    python -m speechbench.corpora.voxceleb1 --db /data/VoxCeleb1 --out data --task asv
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Iterable, Sequence

from speechbench.corpora.errors import CorpusError
from speechbench.data.audio import compute_utt2dur
from speechbench.data.kaldi_dir import DataDirError, spk2utt_from_utt2spk, write_kv
from speechbench.data.trials import Trial, hold_out_speakers, write_trials
from speechbench.errors import run_command
from speechbench.utils_io import read_fields

WAV_ROOTS = ("wav", "dev/wav", "test/wav", "vox1_dev_wav/wav", "vox1_test_wav/wav")
IDEN_SETS = {"1": "train", "2": "dev", "3": "test"}



def utt_id(rel: str) -> str:
    """``id10001/1zcIwhmdeo4/00001.wav`` -> ``id10001-1zcIwhmdeo4-00001``."""
    parts = rel.strip("/").split("/")
    if len(parts) != 3 or not parts[2].endswith(".wav"):
        raise CorpusError(f"'{rel}' is not a VoxCeleb1 path <speaker>/<youtube id>/<nnnnn>.wav")
    return f"{parts[0]}-{parts[1]}-{parts[2][:-4]}"


def _need_file(db: str, name: str) -> str:
    path = os.path.join(db, name)
    if not os.path.isfile(path):
        raise CorpusError(f"{path} not found: it ships with VoxCeleb1 (is --db the VoxCeleb1 root?)")
    return path


def speaker_roots(db: str) -> dict[str, str]:
    """``speaker -> wav root`` over every known audio root of the release."""
    roots = [os.path.join(db, r) for r in WAV_ROOTS if os.path.isdir(os.path.join(db, r))]
    if not roots:
        raise CorpusError(f"no audio under {db}: expected one of {', '.join(WAV_ROOTS)} "
                          f"(unzip vox1_dev_wav.zip and vox1_test_wav.zip there)")
    found: dict[str, str] = {}
    for root in roots:
        for spk in os.listdir(root):
            if os.path.isdir(os.path.join(root, spk)):
                found.setdefault(spk, root)
    return found


def resolve(db: str, rels: Iterable[str], roots: dict[str, str] | None = None) -> dict[str, str]:
    """Absolute path of each relative wav path; one error listing what is missing."""
    roots = speaker_roots(db) if roots is None else roots
    out, missing = {}, []
    for rel in rels:
        spk = rel.split("/", 1)[0]
        path = os.path.join(roots.get(spk, os.path.join(db, "wav")), rel)
        if os.path.isfile(path):
            out[rel] = os.path.abspath(path)
        else:
            missing.append(path)
    if missing:
        raise CorpusError(f"{len(missing)} listed audio files are missing (e.g. {missing[0]}); "
                          f"is the download complete?")
    return out


def read_iden_split(path: str) -> dict[str, list[str]]:
    """``iden_split.txt`` -> set name (train/dev/test) -> relative wav paths."""
    sets: dict[str, list[str]] = {name: [] for name in IDEN_SETS.values()}
    for _, (number, rel) in read_fields(path, 2, "`1|2|3 <speaker>/<video>/<n>.wav`", CorpusError,
                                        valid=lambda f: f[0] in IDEN_SETS):
        sets[IDEN_SETS[number]].append(rel)
    return sets


def read_veri_trials(path: str) -> list[tuple[str, str, int]]:
    """``veri_test2.txt`` -> (relative wav 1, relative wav 2, 1 target | 0 nontarget)."""
    trials = [(wav1, wav2, int(label)) for _, (label, wav1, wav2) in
              read_fields(path, 3, "`1|0 <wav1> <wav2>`", CorpusError, valid=lambda f: f[0] in ("0", "1"))]
    if not trials:
        raise CorpusError(f"{path} holds no trials")
    return trials


def read_meta_sets(path: str) -> dict[str, str]:
    """``vox1_meta.csv`` -> speaker -> ``dev`` | ``test`` (the release's own speaker split)."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            fields = [x.strip() for x in line.rstrip("\n").split("\t")]
            if lineno == 1 and not fields[0].startswith("id1"):
                continue  # header
            if len(fields) < 5:
                raise CorpusError(f"{path}:{lineno}: expected 5 tab-separated fields "
                                  f"(VoxCeleb1 ID, VGGFace1 ID, Gender, Nationality, Set)")
            out[fields[0]] = fields[4]
    return out


def write_data_dir(out_dir: str, paths: dict[str, str]) -> int:
    """``wav.scp``, ``utt2spk``, ``spk2utt``, ``utt2dur`` for relative path -> absolute path."""
    os.makedirs(out_dir, exist_ok=True)
    wav_scp = {utt_id(rel): path for rel, path in paths.items()}
    utt2spk = {utt_id(rel): rel.split("/", 1)[0] for rel in paths}
    write_kv(os.path.join(out_dir, "wav.scp"), wav_scp)
    write_kv(os.path.join(out_dir, "utt2spk"), utt2spk)
    write_kv(os.path.join(out_dir, "spk2utt"), spk2utt_from_utt2spk(utt2spk))
    compute_utt2dur(out_dir)
    return len(wav_scp)


def prepare_speaker(db: str, out_dir: str) -> dict[str, int]:
    """SUPERB SID: ``out_dir/{train,dev,test}`` from ``iden_split.txt``."""
    sets = read_iden_split(_need_file(db, "iden_split.txt"))
    roots = speaker_roots(db)
    return {name: write_data_dir(os.path.join(out_dir, name), resolve(db, rels, roots)) for name, rels in sets.items()}


def prepare_asv(db: str, out_dir: str, trials: str = "veri_test2.txt", dev_speakers: int | None = 20,
                seed: int = 0) -> dict[str, int]:
    """ASV: test (trial utterances + ``trials``), train_all, and its speaker split train/dev.

    ``train_all`` holds every utterance ``iden_split.txt`` lists for the training speakers (a
    listed file that is missing is an error, never a silent drop); ``dev_speakers=None``
    leaves the split to the caller (a dev set of its own).
    """
    pairs = read_veri_trials(_need_file(db, trials))
    roots = speaker_roots(db)
    test_rels = sorted({r for a, b, _ in pairs for r in (a, b)})
    test_paths = resolve(db, test_rels, roots)
    test_speakers = {r.split("/", 1)[0] for r in test_rels}
    listed = [rel for rels in read_iden_split(_need_file(db, "iden_split.txt")).values() for rel in rels]
    listed_speakers = {rel.split("/", 1)[0] for rel in listed}
    meta_path = os.path.join(db, "vox1_meta.csv")
    if os.path.isfile(meta_path):
        meta = read_meta_sets(meta_path)
        train_speakers = {s for s, kind in meta.items() if kind == "dev" and s in listed_speakers}
        overlap = sorted(test_speakers.intersection(train_speakers))
        if overlap:
            raise CorpusError(f"{meta_path} marks {len(overlap)} speakers of {trials} as dev (e.g. {overlap[0]}): "
                              f"training and test speakers must be disjoint")
    else:
        train_speakers = listed_speakers - test_speakers
    if not train_speakers:
        raise CorpusError(f"no training speakers in {db}/iden_split.txt (the speakers of the dev part of "
                          f"VoxCeleb1, vox1_dev_wav.zip)")
    counts = {"test": write_data_dir(os.path.join(out_dir, "test"), test_paths)}
    trial_list: list[Trial] = [(utt_id(a), utt_id(b), y) for a, b, y in pairs]
    write_trials(os.path.join(out_dir, "test", "trials"), trial_list)
    train_rels = sorted(rel for rel in listed if rel.split("/", 1)[0] in train_speakers)
    train_all = os.path.join(out_dir, "train_all")
    counts["train_all"] = write_data_dir(train_all, resolve(db, train_rels, roots))
    if dev_speakers is None:
        return counts
    try:
        hold_out_speakers(train_all, os.path.join(out_dir, "train"), os.path.join(out_dir, "dev"), dev_speakers, seed)
    except DataDirError as e:
        raise CorpusError(str(e)) from None
    for name in ("train", "dev"):
        with open(os.path.join(out_dir, name, "wav.scp"), encoding="utf-8") as f:
            counts[name] = sum(1 for _ in f)
    return counts


def prepare_voxceleb1(db: str, out_dir: str, task: str = "speaker", trials: str = "veri_test2.txt",
                      dev_speakers: int | None = 20, seed: int = 0) -> dict[str, int]:
    """Data dirs for ``task`` (speaker or asv) under ``out_dir``; returns utterances per dir."""
    if not os.path.isdir(db):
        raise CorpusError(f"--db {db} is not a directory; point it at the VoxCeleb1 root")
    if task == "speaker":
        return prepare_speaker(db, out_dir)
    if task == "asv":
        return prepare_asv(db, out_dir, trials, dev_speakers, seed)
    raise CorpusError(f"task '{task}' is not one of speaker, asv")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechbench.corpora.voxceleb1",
                                description="VoxCeleb1 data dirs for speaker identification or verification.")
    p.add_argument("--db", required=True, help="VoxCeleb1 root (iden_split.txt, veri_test2.txt, wav/)")
    p.add_argument("--out", required=True, help="output parent dir of the data dirs")
    p.add_argument("--task", choices=("speaker", "asv"), default="speaker")
    p.add_argument("--trials", default="veri_test2.txt", help="asv: trial list under --db (default veri_test2.txt)")
    p.add_argument("--dev-speakers", type=int, default=20, help="asv: training speakers held out for dev trials")
    p.add_argument("--no-split", action="store_true", help="asv: only test and train_all (the dev set comes "
                   "from elsewhere)")
    p.add_argument("--seed", type=int, default=0, help="asv: seed of the dev speakers and their trials")
    a = p.parse_args(argv)

    def body() -> None:
        counts = prepare_voxceleb1(a.db, a.out, a.task, a.trials, None if a.no_split else a.dev_speakers, a.seed)
        print(" ".join(f"{name}={n}" for name, n in counts.items()))
    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
