"""IEMOCAP data prep: one Kaldi data dir per session with four emotion classes.

Reads the official release layout::

    IEMOCAP_full_release/Session{1..5}/sentences/wav/<dialog>/<utt>.wav
    IEMOCAP_full_release/Session{1..5}/dialog/EmoEvaluation/<dialog>.txt

where each evaluation file has one summary line per utterance,
``[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]``. The
SUPERB/s3prl protocol keeps neutral, happy merged with excited, angry and sad (5,531
utterances); every other label (frustrated, surprised, xxx, ...) is dropped. Output:
``OUT/session{n}/{wav.scp,utt2spk,spk2utt,utt2emotion,utt2dur}`` with labels ``neu``, ``hap``,
``ang``, ``sad``. The speaker is the session plus the gender letter of the utterance's last
field (``Ses01F_impro01_M000`` is spoken by ``Ses01M``); utterance ids are prefixed with it.

    python -m speechbench.corpora.iemocap --db /data/IEMOCAP_full_release --out data
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Sequence

from speechbench.corpora.cli import run_prep
from speechbench.corpora.errors import CorpusError
from speechbench.data.audio import compute_utt2dur
from speechbench.data.kaldi_dir import spk2utt_from_utt2spk, write_kv
from speechbench.errors import ConfigError

LABELS = {"neu": "neu", "hap": "hap", "exc": "hap", "ang": "ang", "sad": "sad"}
SUMMARY = re.compile(r"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\s+(\S+)\s+(\S+)\s+\[")
SESSIONS = (1, 2, 3, 4, 5)



def _need_dir(path: str, what: str) -> str:
    if not os.path.isdir(path):
        raise CorpusError(f"{path} not found: expected {what} (is --db the IEMOCAP_full_release directory?)")
    return path


def read_evaluations(session_dir: str) -> dict[str, str]:
    """``utterance -> raw label`` from every ``dialog/EmoEvaluation/*.txt`` of one session."""
    eval_dir = _need_dir(os.path.join(session_dir, "dialog", "EmoEvaluation"), "the emotion evaluation files")
    files = sorted(f for f in os.listdir(eval_dir) if f.endswith(".txt") and not f.startswith("."))
    if not files:
        raise CorpusError(f"{eval_dir} holds no <dialog>.txt evaluation files")
    labels: dict[str, str] = {}
    for name in files:
        with open(os.path.join(eval_dir, name), encoding="utf-8", errors="replace") as f:
            for line in f:
                match = SUMMARY.match(line)
                if match:
                    labels[match.group(1)] = match.group(2)
    return labels


def speaker_of(utt: str) -> str:
    """``Ses01F_impro01_M000`` -> ``Ses01M`` (session + gender of the utterance's speaker)."""
    parts = utt.split("_")
    if len(parts) < 3 or parts[-1][:1] not in ("F", "M") or len(parts[0]) < 5:
        raise CorpusError(f"utterance id '{utt}' is not in the IEMOCAP form SesNN[F|M]_<dialog>_[F|M]NNN")
    return parts[0][:5] + parts[-1][0]


def prepare_session(db: str, session: int, out_dir: str) -> int:
    """Write the data dir of one session; returns the number of utterances kept."""
    session_dir = _need_dir(os.path.join(db, f"Session{session}"), f"session {session} of IEMOCAP")
    wav_root = _need_dir(os.path.join(session_dir, "sentences", "wav"), "the per-utterance audio")
    wav_scp, utt2spk, utt2emotion = {}, {}, {}
    missing = []
    for utt, raw in read_evaluations(session_dir).items():
        if raw not in LABELS:
            continue
        dialog = utt.rsplit("_", 1)[0]
        path = os.path.abspath(os.path.join(wav_root, dialog, f"{utt}.wav"))
        if not os.path.isfile(path):
            missing.append(path)
            continue
        spk = speaker_of(utt)
        key = f"{spk}-{utt}"
        wav_scp[key], utt2spk[key], utt2emotion[key] = path, spk, LABELS[raw]
    if missing:
        raise CorpusError(f"{len(missing)} labelled utterances of session {session} have no audio, e.g. "
                          f"{sorted(missing)[0]} not found (incomplete copy of the corpus?)")
    if not wav_scp:
        raise CorpusError(f"{session_dir}: no utterance labelled {sorted(LABELS)} in its EmoEvaluation files")
    os.makedirs(out_dir, exist_ok=True)
    write_kv(os.path.join(out_dir, "wav.scp"), wav_scp)
    write_kv(os.path.join(out_dir, "utt2spk"), utt2spk)
    write_kv(os.path.join(out_dir, "spk2utt"), spk2utt_from_utt2spk(utt2spk))
    write_kv(os.path.join(out_dir, "utt2emotion"), utt2emotion)
    compute_utt2dur(out_dir)
    return len(wav_scp)


def prepare_iemocap(db: str, out_dir: str, sessions: Sequence[int] = SESSIONS) -> dict[str, int]:
    """``OUT/session{n}`` for each session; returns utterances per data dir name."""
    _need_dir(db, "the IEMOCAP_full_release directory")
    counts = {}
    for n in sessions:
        counts[f"session{n}"] = prepare_session(db, n, os.path.join(out_dir, f"session{n}"))
    return counts


def parse_sessions(text: str) -> list[int]:
    """``--sessions 1,2,3`` -> [1, 2, 3]; anything else is a :class:`ConfigError` naming the option."""
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--sessions '{text}': expected comma-separated session numbers from "
                          f"{SESSIONS[0]} to {SESSIONS[-1]}, e.g. --sessions 1,2,3") from None


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechbench.corpora.iemocap", description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True, help="the IEMOCAP_full_release directory")
    p.add_argument("--out", required=True, help="parent of the session{n} data dirs (e.g. data)")
    p.add_argument("--sessions", default="1,2,3,4,5", help="comma-separated session numbers")
    a = p.parse_args(argv)
    return run_prep(lambda: prepare_iemocap(a.db, a.out, parse_sessions(a.sessions)), "utterances")


if __name__ == "__main__":
    sys.exit(main())
