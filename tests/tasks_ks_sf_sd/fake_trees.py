"""Tiny fake corpora in the official Speech Commands v0.01, audio SNIPS and Libri2Mix layouts."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def write_wav(path: Path, seconds: float, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(len(str(path))).normal(0, 0.1, int(seconds * rate))
    sf.write(path, noise.astype(np.float32), rate, subtype="PCM_16")


def speech_commands_tree(root: Path) -> Path:
    """``root/speech_commands_v0.01``: yes, no and bed by 3 speakers; two noise recordings.

    Speaker ``bbbb0002`` is in validation_list.txt, ``cccc0003`` in testing_list.txt.
    """
    db = root / "speech_commands_v0.01"
    for word in ("yes", "no", "bed"):
        for spk in ("aaaa0001", "bbbb0002", "cccc0003"):
            for n in range(2 if spk == "aaaa0001" else 1):
                write_wav(db / word / f"{spk}_nohash_{n}.wav", 0.8 + 0.05 * n)
    write_wav(db / "_background_noise_" / "white_noise.wav", 12.0)
    write_wav(db / "_background_noise_" / "running_tap.wav", 5.5)
    (db / "_background_noise_" / "README.md").write_text("not audio\n")
    (db / "validation_list.txt").write_text("".join(f"{w}/bbbb0002_nohash_0.wav\n" for w in ("yes", "no", "bed")))
    (db / "testing_list.txt").write_text("".join(f"{w}/cccc0003_nohash_0.wav\n" for w in ("yes", "no", "bed")))
    return db


def speech_commands_test_tree(root: Path) -> Path:
    """``root/speech_commands_test_set_v0.01``: yes, _unknown_ and _silence_ folders."""
    db = root / "speech_commands_test_set_v0.01"
    write_wav(db / "yes" / "dddd0004_nohash_0.wav", 1.0)
    write_wav(db / "_unknown_" / "dddd0004_nohash_0.wav", 1.0)
    write_wav(db / "_unknown_" / "eeee0005_nohash_1.wav", 1.0)
    write_wav(db / "_silence_" / "silence_0.wav", 1.0)
    return db


SNIPS_LINES = [
    "Ivy-snips-train-0 BOS play the beatles on spotify EOS\tO O artist artist O service PlayMusic",
    "Joanna-snips-train-1 BOS what is the weather ? EOS\tO O O O O O GetWeather",
    "Zed-snips-train-2 BOS play rock & roll EOS\tO O genre genre genre PlayMusic",
    "Aditi-snips-valid-0 BOS play rock & roll by beyoncé EOS\tO O genre genre genre O artist PlayMusic",
    "Brian-snips-test-0 BOS book a table for two EOS\tO O O O O party_size_number BookRestaurant",
]


def snips_tree(root: Path) -> Path:
    """``root/SNIPS``: the transcripts and one wav per line (``Zed`` is not a SUPERB speaker)."""
    db = root / "SNIPS"
    db.mkdir(parents=True)
    (db / "all.iob.snips.txt").write_text("\n".join(SNIPS_LINES) + "\n", encoding="utf-8")
    for line in SNIPS_LINES:
        utt = line.split()[0]
        split = utt.split("-")[2]
        sub = "part1" if utt.startswith("Ivy") else ""  # audio may sit in sub-folders
        write_wav(db / split / sub / f"{utt}.wav", 1.2)
    return db


LIBRIMIX_MIXTURES = {
    "train-100": [("19-198-0001", "26-495-0004", 3.0), ("103-1240-0005", "19-198-0002", 2.5)],
    "dev": [("84-121-0001", "251-136-0002", 2.0)],
    "test": [("61-70968-0000", "121-121726-0001", 2.2)],
}
# source turns (start, end) in seconds; keyed by chapter-utterance like the s3prl LibriMix fork
SOURCE_TURNS = {
    "19-198-0001": [(0.2, 1.4), (1.8, 2.9)], "26-495-0004": [(0.5, 2.0)],
    "103-1240-0005": [(0.1, 2.4)], "19-198-0002": [(0.3, 1.0)],
    "84-121-0001": [(0.0, 1.5)], "251-136-0002": [(1.0, 1.9)],
    "61-70968-0000": [(0.4, 2.1)], "121-121726-0001": [(0.0, 0.8), (1.2, 2.2)],
}


def librimix_tree(root: Path, mix: str = "clean") -> tuple[Path, Path]:
    """``(root/Libri2Mix/wav16k/max, root/LibriMix/metadata/LibriSpeech)`` for the given mixture kind."""
    db = root / "Libri2Mix" / "wav16k" / "max"
    (db / "metadata").mkdir(parents=True)
    for split, items in LIBRIMIX_MIXTURES.items():
        rows = ["mixture_ID,mixture_path,source_1_path,source_2_path,length"]
        for s1, s2, seconds in items:
            mixture = f"{s1}_{s2}"
            write_wav(db / split / f"mix_{mix}" / f"{mixture}.wav", seconds)
            rows.append(f"{mixture},/gone/{mixture}.wav,/gone/s1.wav,/gone/s2.wav,{int(seconds * 16000)}")
        (db / "metadata" / f"mixture_{split}_mix_{mix}.csv").write_text("\n".join(rows) + "\n")
    rttm_dir = root / "LibriMix" / "metadata" / "LibriSpeech"
    rttm_dir.mkdir(parents=True)
    lines = []
    for source, turns in SOURCE_TURNS.items():
        spk, rest = source.split("-", 1)
        for a, b in turns:  # file id without the speaker, as in the fork's RTTMs
            lines.append(f"SPEAKER {rest} 1 {a} {round(b - a, 3)} <NA> <NA> {spk} <NA> <NA>")
    (rttm_dir / "all.rttm").write_text("\n".join(lines) + "\n")
    return db, rttm_dir
