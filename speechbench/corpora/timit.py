"""TIMIT data prep for frame-level phone classification (61 -> 39 phones, Lee & Hon 1989).

Reads the LDC release (LDC93S1) under ``--db`` (the ``TIMIT`` directory, its parent, or a
copy's root holding ``data/TRAIN``; directory and file names in upper or lower case)::

    TIMIT/{TRAIN,TEST}/DR{1..8}/<speaker>/<utt>.WAV   NIST SPHERE, 16 kHz 16-bit PCM
    TIMIT/{TRAIN,TEST}/DR{1..8}/<speaker>/<utt>.PHN   `start_sample end_sample phone` lines
    TIMIT/{TRAIN,TEST}/DR{1..8}/<speaker>/<utt>.WRD   `start_sample end_sample word` lines

soundfile (libsndfile) reads the uncompressed SPHERE files directly, so ``wav.scp`` holds
plain paths (``<utt>.WAV.wav`` copies of converted distributions are used when present).

Standard splits, SA (dialect) sentences excluded everywhere, as in Kaldi's recipe:
``train`` = every TRAIN speaker (3696 utterances), ``dev`` = the 50-speaker development set
(400) and ``test`` = the 24-speaker core test set (192), both from TEST; the speaker lists
are :data:`DEV_SPEAKERS` and :data:`CORE_TEST_SPEAKERS`. Utterance ids are
``<speaker>_<utt>`` in lower case (``faks0_si1573``).

Every output dir holds ``wav.scp``, ``text`` (the WRD words), ``utt2spk``, ``spk2utt``,
``utt2dur`` and the ``phone`` task's labels: ``ali.ark`` + ``ali.scp`` (one int32 id per
10 ms frame, frame i = [10i, 10i + 10) ms labelled by the phone at its centre,
ceil(samples / 160) frames) and ``phones.txt`` (``sil 0``, then the other 38 folded phones
in alphabetical order, the same table in every set). The glottal stop ``q``, which the
folding deletes, gives its frames to the preceding phone (the following one at the start).

    python -m speechbench.corpora.timit --db /data/TIMIT --out data
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Sequence

import kaldiio
import numpy as np
import soundfile

from speechbench.corpora.errors import CorpusError
from speechbench.data.kaldi_dir import c_sorted, spk2utt_from_utt2spk, write_kv
from speechbench.errors import run_command
from speechbench.utils_io import atomic_open, read_fields

SAMPLE_RATE = 16000
FRAME_SHIFT_SAMPLES = 160

# Lee & Hon (1989) folding of the 61 TIMIT phones; "q" is deleted (see fold_segments).
FOLD_61_TO_39 = {
    "aa": "aa", "ao": "aa", "ae": "ae", "ah": "ah", "ax": "ah", "ax-h": "ah", "aw": "aw", "ay": "ay",
    "b": "b", "ch": "ch", "d": "d", "dh": "dh", "dx": "dx", "eh": "eh", "er": "er", "axr": "er", "ey": "ey",
    "f": "f", "g": "g", "hh": "hh", "hv": "hh", "ih": "ih", "ix": "ih", "iy": "iy", "jh": "jh", "k": "k",
    "l": "l", "el": "l", "m": "m", "em": "m", "n": "n", "en": "n", "nx": "n", "ng": "ng", "eng": "ng",
    "ow": "ow", "oy": "oy", "p": "p", "r": "r", "s": "s", "sh": "sh", "zh": "sh", "t": "t", "th": "th",
    "uh": "uh", "uw": "uw", "ux": "uw", "v": "v", "w": "w", "y": "y", "z": "z",
    "bcl": "sil", "dcl": "sil", "gcl": "sil", "pcl": "sil", "tcl": "sil", "kcl": "sil",
    "h#": "sil", "pau": "sil", "epi": "sil",
}
DELETED = "q"
PHONES_39 = ["sil"] + sorted(set(FOLD_61_TO_39.values()) - {"sil"})
PHONE_IDS = {p: i for i, p in enumerate(PHONES_39)}

# The 50 speakers of the development set (Halberstadt 1998; Kaldi's conf/dev_spk.list).
DEV_SPEAKERS = frozenset("""
faks0 fdac1 fjem0 mgwt0 mjar0 mmdb1 mmdm2 mpdf0 fcmh0 fkms0 mbdg0 mbwm0 mcsh0 fadg0 fdms0 fedw0 mgjf0
mglb0 mrtk0 mtaa0 mtdt0 mthc0 mwjg0 fnmr0 frew0 fsem0 mbns0 mmjr0 mdls0 mdlf0 mdvc0 mers0 fmah0 fdrw0
mrcs0 mrjm4 fcal1 mmwh0 fjsj0 majc0 mjsw0 mreb0 fgjd0 fjmg0 mroa0 mteb0 mjfc0 mrjr0 fmml0 mrws1
""".split())
# The 24 speakers of the core test set (2 men and 1 woman per dialect region).
CORE_TEST_SPEAKERS = frozenset("""
mdab0 mwbt0 felc0 mtas1 mwew0 fpas0 mjmp0 mlnt0 fpkt0 mlll0 mtls0 fjlm0 mbpm0 mklt0 fnlp0 mcmj0 mjdh0
fmgd0 mgrt0 mnjm0 fdhc0 mjln0 mpam0 fmld0
""".split())



def _entries(path: str) -> dict[str, str]:
    """``lower-case name -> real name`` of a directory's entries (TIMIT copies differ in case)."""
    return {name.lower(): name for name in os.listdir(path)}


def corpus_root(db: str) -> str:
    """The directory holding TRAIN/ and TEST/: ``db`` itself, ``db/TIMIT`` or ``db/data`` (any case)."""
    if not os.path.isdir(db):
        raise CorpusError(f"{db} not found: point --db at the TIMIT directory of LDC93S1")
    for root in (db, *(os.path.join(db, n) for low, n in _entries(db).items() if low in ("timit", "data"))):
        if os.path.isdir(root) and {"train", "test"} <= set(_entries(root)):
            return root
    raise CorpusError(f"{db}: no TRAIN/ and TEST/ directories here or in {db}/TIMIT; point --db at the "
                      f"TIMIT directory of LDC93S1")


def _speaker_dirs(part_dir: str) -> dict[str, str]:
    """``speaker (lower case) -> directory`` over the dialect regions DR1..DR8 of TRAIN or TEST."""
    out: dict[str, str] = {}
    for low, region in sorted(_entries(part_dir).items()):
        region_dir = os.path.join(part_dir, region)
        if not (low.startswith("dr") and os.path.isdir(region_dir)):
            continue
        for spk, name in _entries(region_dir).items():
            if os.path.isdir(os.path.join(region_dir, name)):
                out[spk] = os.path.join(region_dir, name)
    if not out:
        raise CorpusError(f"{part_dir}: no DR1..DR8/<speaker>/ directories found")
    return out


def speaker_utterances(spk_dir: str) -> dict[str, dict[str, str]]:
    """``utt (lower case) -> {"wav", "phn", "wrd"} paths`` of one speaker, SA sentences excluded."""
    found: dict[str, dict[str, str]] = {}
    for low, name in _entries(spk_dir).items():
        stem, _, ext = low.partition(".")
        if ext in ("wav", "phn", "wrd", "txt", "wav.wav") and not stem.startswith("sa"):
            kind = "wav" if ext.startswith("wav") else ext
            if kind not in found.setdefault(stem, {}) or ext == "wav":  # the SPHERE original wins
                found[stem][kind] = os.path.join(spk_dir, name)
    for files in found.values():
        for kind in ("wav", "phn", "wrd"):
            if kind not in files:
                sibling = os.path.basename(next(iter(files.values())))
                base, _, ext = sibling.partition(".")
                wanted = kind.upper() if ext.isupper() else kind
                raise CorpusError(f"{os.path.join(spk_dir, base)}.{wanted} not found: every TIMIT utterance "
                                  f"needs its .WAV, .PHN and .WRD files (is the copy complete?)")
    if not found:
        raise CorpusError(f"{spk_dir}: no SI/SX utterances (<utt>.WAV/.PHN/.WRD) found")
    return found


def read_segments(path: str) -> list[tuple[int, int, str]]:
    """``(start_sample, end_sample, label)`` lines of a .PHN or .WRD file."""
    out = [(int(start), int(end), label.lower()) for _, (start, end, label) in
           read_fields(path, 3, "`start_sample end_sample label`", CorpusError,
                       valid=lambda f: f[0].isdigit() and f[1].isdigit(), errors="replace")]
    if not out:
        raise CorpusError(f"{path} is empty")
    return out


def fold_segments(segments: list[tuple[int, int, str]], path: str = "?") -> list[tuple[int, int, str]]:
    """61 -> 39 phones; a ``q`` segment takes the folded phone before it (after it at the start)."""
    folded: list[tuple[int, int, str]] = []
    pending_q: list[tuple[int, int]] = []
    for start, end, phone in segments:
        if phone == DELETED:
            if folded:
                folded.append((start, end, folded[-1][2]))
            else:
                pending_q.append((start, end))
            continue
        if phone not in FOLD_61_TO_39:
            raise CorpusError(f"{path}: unknown TIMIT phone '{phone}' (expected one of the 61 phones of "
                              f"TIMIT's PHONCODE.DOC)")
        label = FOLD_61_TO_39[phone]
        folded.extend((s, e, label) for s, e in pending_q)
        pending_q = []
        folded.append((start, end, label))
    return folded


def frame_labels(segments: list[tuple[int, int, str]], num_samples: int) -> np.ndarray:
    """Phone id of each 10 ms frame at its centre sample; frames no segment covers are ``sil``."""
    num_frames = math.ceil(num_samples / FRAME_SHIFT_SAMPLES)
    labels = np.full(num_frames, PHONE_IDS["sil"], dtype=np.int32)
    for start, end, phone in segments:
        first = max(0, math.ceil((start - FRAME_SHIFT_SAMPLES // 2) / FRAME_SHIFT_SAMPLES))
        last = min(num_frames, math.ceil((end - FRAME_SHIFT_SAMPLES // 2) / FRAME_SHIFT_SAMPLES))
        labels[first:last] = PHONE_IDS[phone]
    return labels


def _num_samples(wav: str) -> int:
    try:
        info = soundfile.info(wav)
    except (RuntimeError, soundfile.LibsndfileError, OSError) as e:
        raise CorpusError(f"{wav}: cannot read the audio header ({e}); TIMIT audio is NIST SPHERE 16-bit PCM "
                          f"(a shorten-compressed copy must be decompressed first, e.g. with sph2pipe)") from None
    if info.samplerate != SAMPLE_RATE:
        raise CorpusError(f"{wav}: sample rate {info.samplerate} Hz, TIMIT is {SAMPLE_RATE} Hz")
    return info.frames


def split_of(part: str, speaker: str) -> str | None:
    """``train``/``dev``/``test`` for a speaker of TRAIN or TEST; None for the rest of TEST."""
    if part == "train":
        return "train"
    if speaker in DEV_SPEAKERS:
        return "dev"
    return "test" if speaker in CORE_TEST_SPEAKERS else None


def _write_set(out: str, utts: dict[str, dict[str, str]]) -> None:
    """One Kaldi dir: audio, words, speakers, durations and 10 ms phone labels."""
    os.makedirs(out, exist_ok=True)
    wav_scp, text, utt2spk, utt2dur, alignments = {}, {}, {}, {}, {}
    for utt in c_sorted(utts):
        files = utts[utt]
        samples = _num_samples(files["wav"])
        wav_scp[utt] = os.path.abspath(files["wav"])
        text[utt] = " ".join(w for _, _, w in read_segments(files["wrd"]))
        utt2spk[utt] = utt.split("_", 1)[0]
        utt2dur[utt] = f"{samples / SAMPLE_RATE:.4f}"
        alignments[utt] = frame_labels(fold_segments(read_segments(files["phn"]), files["phn"]), samples)
    _write_alignments(out, alignments)
    with atomic_open(os.path.join(out, "phones.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{phone} {i}\n" for i, phone in enumerate(PHONES_39))
    write_kv(os.path.join(out, "text"), text)
    write_kv(os.path.join(out, "utt2spk"), utt2spk)
    write_kv(os.path.join(out, "spk2utt"), spk2utt_from_utt2spk(utt2spk))
    write_kv(os.path.join(out, "utt2dur"), utt2dur)
    write_kv(os.path.join(out, "wav.scp"), wav_scp)


def _write_alignments(out: str, vectors: dict[str, np.ndarray]) -> None:
    """``ali.ark`` + ``ali.scp`` (absolute ark path), both replaced atomically."""
    ark, scp = os.path.join(os.path.abspath(out), "ali.ark"), os.path.join(os.path.abspath(out), "ali.scp")
    kaldiio.save_ark(ark + ".tmp", vectors, scp=scp + ".tmp")
    with open(scp + ".tmp", encoding="utf-8") as f:
        entries = {key: spec.strip().replace(ark + ".tmp", ark, 1)
                   for key, spec in (line.split(" ", 1) for line in f if line.strip())}
    os.replace(ark + ".tmp", ark)
    os.unlink(scp + ".tmp")
    write_kv(scp, entries)


def prepare_timit(db: str, out_dir: str) -> dict[str, int]:
    """Write ``out_dir/{train,dev,test}`` from the TIMIT release at ``db``; returns utterances per set."""
    root = corpus_root(db)
    top = _entries(root)
    sets: dict[str, dict[str, dict[str, str]]] = {"train": {}, "dev": {}, "test": {}}
    seen: set[str] = set()
    for part in ("train", "test"):
        for spk, spk_dir in sorted(_speaker_dirs(os.path.join(root, top[part])).items()):
            name = split_of(part, spk)
            if name is None:
                continue
            seen.add(spk)
            for utt, files in speaker_utterances(spk_dir).items():
                sets[name][f"{spk}_{utt}"] = files
    missing = sorted((DEV_SPEAKERS | CORE_TEST_SPEAKERS) - seen)
    if missing:
        raise CorpusError(f"{os.path.join(root, top['test'])}: {len(missing)} speakers of the dev/core test sets "
                          f"are missing (e.g. {', '.join(missing[:5])}); is the copy complete?")
    for name, utts in sets.items():
        _write_set(os.path.join(out_dir, name), utts)
    return {name: len(utts) for name, utts in sets.items()}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechbench.corpora.timit",
                                description="TIMIT -> Kaldi data dirs train/dev/test with 39-phone frame labels.")
    p.add_argument("--db", required=True, help="the TIMIT directory (holding TRAIN/ and TEST/) or its parent")
    p.add_argument("--out", required=True, help="output root; writes OUT/train, OUT/dev, OUT/test")
    a = p.parse_args(argv)

    def body() -> None:
        for name, n in prepare_timit(a.db, a.out).items():
            print(f"{os.path.join(a.out, name)}: {n} utterances")
    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
