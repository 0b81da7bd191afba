"""Tiny fake corpora in the official IEMOCAP and Fluent Speech Commands layouts (short noise wavs)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def write_wav(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(len(str(path))).normal(0, 0.1, int(seconds * 16000))
    sf.write(path, noise.astype(np.float32), 16000, subtype="PCM_16")


EVAL_HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"


def iemocap_tree(root: Path, sessions: int = 2) -> Path:
    """``root/IEMOCAP_full_release``: two dialogs per session; labels neu, exc, fru, ang, hap, sad, xxx."""
    db = root / "IEMOCAP_full_release"
    for n in range(1, sessions + 1):
        s = db / f"Session{n}"
        for dialog, items in ((f"Ses0{n}F_impro01", [("F000", "neu"), ("M000", "exc"), ("F001", "fru")]),
                              (f"Ses0{n}M_script02_1", [("M000", "ang"), ("F000", "hap"), ("M001", "sad"),
                                                        ("F001", "xxx")])):
            lines = [EVAL_HEADER]
            for i, (turn, label) in enumerate(items):
                utt = f"{dialog}_{turn}"
                write_wav(s / "sentences/wav" / dialog / f"{utt}.wav", 0.5 + 0.25 * i)
                lines.append(f"[{i}.1000 - {i}.9000]\t{utt}\t{label}\t[2.5000, 3.0000, 2.0000]\n"
                             f"C-E1:\t{label};\t()\nA-E1:\tval 3; act 3; dom  3;\t()\n\n")
            (s / "dialog/EmoEvaluation").mkdir(parents=True, exist_ok=True)
            (s / "dialog/EmoEvaluation" / f"{dialog}.txt").write_text("".join(lines))
    return db


FSC_HEADER = ",path,speakerId,transcription,action,object,location\n"


def fsc_tree(root: Path) -> Path:
    """``root/fluent_speech_commands_dataset`` with 2 / 1 / 1 utterances in train / valid / test."""
    db = root / "fluent_speech_commands_dataset"
    rows = {"train": [("spkA", "a1", "Turn on the lights in the kitchen", "activate", "lights", "kitchen"),
                      ("spkB", "b1", "Switch to Chinese", "change language", "Chinese", "none")],
            "valid": [("spkA", "a2", "Bring me my socks", "bring", "socks", "none")],
            "test": [("spkC", "c1", "Volume up", "increase", "volume", "none")]}
    (db / "data").mkdir(parents=True)
    for split, items in rows.items():
        lines = [FSC_HEADER]
        for i, (spk, name, text, action, obj, loc) in enumerate(items):
            rel = f"wavs/speakers/{spk}/{name}.wav"
            write_wav(db / rel, 0.4)
            lines.append(f'{i},{rel},{spk},"{text}",{action},{obj},{loc}\n')
        (db / "data" / f"{split}_data.csv").write_text("".join(lines))
    return db
