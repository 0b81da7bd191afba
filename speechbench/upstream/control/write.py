"""Write a control feature cache (see ``expert.py``) for one data dir of one task.

    python -m speechbench.upstream.control.write --task intent --kind ceiling --data-dir data/mini/train --out dump/mini/control_kind_ceiling/train

Frames are 10 ms (160 samples) over the utterance's duration. ``chance`` writes one constant value
per frame. ``ceiling`` writes the gold answer, each label value as a fixed pseudo-random +-1
vector of ``DIM`` (seeded by the value's name, so train, dev and test agree without a shared
vocabulary, and unseen values, such as new speakers, still get their own):

- utterance labels (``ks``, ``speaker``, ``asv``, ``emotion``, ``intent``): the label on every frame
  (intent: one vector per slot, concatenated);
- ``phone``: the aligned phone of each frame;
- sequences (``pr`` phones, ``asr`` characters, ``sf`` characters and slot tags): the units spread
  evenly over the frames, in order, each share its first frame, continuation frames and a silence frame;
- ``sd``: each speaker's activity (0/1) per frame, speakers in order of first turn;
- ``qa``: 1 inside the answer span, 0 outside;
- ``std``: documents, the word spoken at each frame (``words.ctm``), a silence vector between words;
  queries (dirs with ``ground_truth``), their term over all frames; a word is its four quarters in order.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from typing import Callable, Sequence

import kaldiio
import numpy as np

from speechbench.data.audio import compute_utt2dur
from speechbench.data.kaldi_dir import DataDir, DataDirError, read_kv, write_kv
from speechbench.metrics.diarization import read_rttm
from speechbench.upstream.control.expert import KINDS
from speechbench.utils_io import atomic_open

RATE = 160
SAMPLE_RATE = 16000
DIM = 64
SILENCE = "<sil>"
UTTERANCE_LABELS = {"ks": "utt2label", "speaker": "utt2spk", "asv": "utt2spk", "emotion": "utt2emotion",
                    "intent": "utt2intent"}


def value_vector(value: str, dim: int = DIM) -> np.ndarray:
    """The fixed +-1 vector of a label value (the same on every machine and in every split)."""
    seed = int.from_bytes(hashlib.sha256(value.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=dim).astype(np.float32)


def _frames(duration: float) -> int:
    return max(1, int(round(duration * SAMPLE_RATE)) // RATE)


def _frame_times(n: int) -> np.ndarray:
    return (np.arange(n) * RATE + RATE / 2) / SAMPLE_RATE


def _spread(units: Sequence[str], n: int) -> np.ndarray:
    """Units in order, each over an equal share of ``n`` frames: the unit on its first frame, a
    continuation vector of it (``unit~``) after, and silence on the last frame, so a repeated unit
    (``d d``) stays two. The distinct first frame lets a per-frame CTC head emit the unit once and
    blank elsewhere (on identical frames it spreads the unit thinly and greedy decoding drops it);
    the continuation keeps the unit in every frame a downsampling head stacks."""
    out = np.tile(value_vector(SILENCE), (n, 1))
    if not units:
        return out
    index = (np.arange(n) * len(units)) // n
    first = np.r_[True, index[1:] != index[:-1]]
    last = np.r_[index[1:] != index[:-1], True] & ~first
    for t in np.flatnonzero(~last):
        unit = units[index[t]]
        out[t] = value_vector(unit if first[t] else f"{unit}~")
    return out


def _word_parts(word: str, n: int, parts: int = 4) -> np.ndarray:
    """A word over ``n`` frames as its ``parts`` quarters in order (``word#0`` ... ``word#3``): subsequence
    DTW min-max normalises each query frame's costs per document, so a constant query matches anything;
    the order of the parts is what only the spoken word has."""
    return np.stack([value_vector(f"{word}#{i}") for i in (np.arange(n) * parts) // max(n, 1)]).reshape(n, DIM)


def _slot_units(text: str) -> list[str]:
    """Characters of the words and a space between them; slot tags (``B-x``, ``E-x``) stay whole."""
    units: list[str] = []
    for word in text.split():
        if units:
            units.append(" ")
        units.extend([word] if word[:2] in ("B-", "E-") else list(word))
    return units


def ceiling_encoder(task: str, data: DataDir) -> Callable[[str, int], np.ndarray]:
    """``(utt, frames) -> [frames, D]`` gold features of ``task`` from the files of ``data``."""
    if task in UTTERANCE_LABELS:
        labels = data.file(UTTERANCE_LABELS[task], needed_for=f"the {task} ceiling control")
        return lambda utt, n: np.tile(np.concatenate([value_vector(f"{i}:{v}") for i, v in
                                                      enumerate(labels[utt].split())]), (n, 1))
    if task == "phone":
        ali = data.int_vectors("ali.scp" if data.has("ali.scp") else "ali", needed_for="the phone ceiling control")
        return lambda utt, n: np.stack([value_vector(str(p)) for p in ali[utt]])
    if task in ("pr", "asr", "sf"):
        name = {"pr": "text.phn", "asr": "text", "sf": "text.slot"}[task]
        text = data.file(name, needed_for=f"the {task} ceiling control")
        units = {"pr": str.split, "asr": lambda t: list(" ".join(t.split())), "sf": _slot_units}[task]
        return lambda utt, n: _spread(units(text[utt]), n)
    if task == "sd":
        turns = read_rttm(os.path.join(data.path, "rttm"))

        def activity(utt: str, n: int) -> np.ndarray:
            order = sorted({t.speaker for t in turns[utt]}, key=lambda s: min(t.start for t in turns[utt]
                                                                               if t.speaker == s))
            times, out = _frame_times(n), np.zeros((n, max(2, len(order))), np.float32)
            for t in turns[utt]:
                out[(times >= t.start) & (times < t.end), order.index(t.speaker)] = 1.0
            return out
        return activity
    if task == "qa":
        spans = data.file("utt2answer", needed_for="the qa ceiling control")

        def answer(utt: str, n: int) -> np.ndarray:
            start, end = (float(x) for x in spans[utt].split()[:2])
            times = _frame_times(n)
            return ((times >= start) & (times < end)).astype(np.float32)[:, None]
        return answer
    if task == "std":
        if data.has("ground_truth"):  # queries: the term alone, as a query trimmed to its speech
            terms = data.file("text", needed_for="the std ceiling control of the queries")
            return lambda utt, n: _word_parts(" ".join(terms[utt].split()), n)
        words: dict[str, list[tuple[float, float, str]]] = {}
        ctm = os.path.join(data.path, "words.ctm")
        if not data.has("words.ctm"):
            raise DataDirError(f"{ctm} not found: the std ceiling control of the documents needs the time of each word")
        with open(ctm, encoding="utf-8") as f:
            for line in f:
                utt, _, start, dur, word = line.split()[:5]
                words.setdefault(utt, []).append((float(start), float(start) + float(dur), word))

        def spoken(utt: str, n: int) -> np.ndarray:
            times, out = _frame_times(n), np.tile(value_vector(SILENCE), (n, 1))
            for start, end, word in words.get(utt, []):
                inside = (times >= start) & (times < end)
                if inside.any():  # a word shorter than a frame has no frame of its own
                    out[inside] = _word_parts(word, int(inside.sum()))
            return out
        return spoken
    raise DataDirError(f"no ceiling control is defined for task '{task}' (known: "
                       f"{', '.join(sorted([*UTTERANCE_LABELS, 'phone', 'pr', 'asr', 'sf', 'sd', 'qa', 'std']))})")


def write_control(task: str, kind: str, data_dir: str, out: str) -> dict:
    """Write ``feats.scp``/``feats.ark``, ``utt2num_frames`` and ``meta.json`` as stage 2 does."""
    if kind not in KINDS:
        raise DataDirError(f"control kind must be one of {', '.join(KINDS)}, got '{kind}'")
    data = DataDir(data_dir)
    durations = {u: float(d) for u, d in read_kv(os.path.join(data_dir, "utt2dur")).items()} \
        if data.has("utt2dur") else compute_utt2dur(data_dir)
    encode = ceiling_encoder(task, data) if kind == "ceiling" else (lambda utt, n: np.ones((n, 1), np.float32))
    os.makedirs(out, exist_ok=True)
    frames, dim = {}, None
    ark, scp = os.path.join(out, "feats.ark"), os.path.join(out, "feats.scp")
    with kaldiio.WriteHelper(f"ark,scp:{ark}.tmp,{scp}.tmp") as writer:
        for utt in data.utts:
            feats = np.ascontiguousarray(encode(utt, _frames(durations[utt])), dtype=np.float32)
            dim = feats.shape[1]
            frames[utt] = len(feats)
            writer(utt, feats)
    os.replace(f"{ark}.tmp", ark)
    with open(f"{scp}.tmp", encoding="utf-8") as f:
        entries = read_kv(f"{scp}.tmp")
    write_kv(scp, {u: p.replace(f"{ark}.tmp", ark) for u, p in entries.items()})
    os.remove(f"{scp}.tmp")
    write_kv(os.path.join(out, "utt2num_frames"), frames)
    meta = {"upstream": "control", "upstream_ckpt": None, "upstream_options": {"kind": kind}, "layers": [0],
            "dims": [dim], "num_layers_total": 1, "downsample_rate": RATE, "dtype": "float32",
            "num_utterances": len(frames), "hours_of_audio": sum(durations[u] for u in frames) / 3600}
    with atomic_open(os.path.join(out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    return meta


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechbench.upstream.control.write", description=__doc__.split("\n\n")[0])
    p.add_argument("--task", required=True, help="the downstream task whose labels the ceiling encodes")
    p.add_argument("--kind", required=True, choices=KINDS)
    p.add_argument("--data-dir", required=True, nargs="+", help="data dir(s) whose labels the features encode")
    p.add_argument("--out", required=True, nargs="+", help="dump dir to write, one per --data-dir (read back with "
                                                           "--feature_cache)")
    a = p.parse_args(argv)
    if len(a.data_dir) != len(a.out):
        p.error(f"{len(a.data_dir)} --data-dir but {len(a.out)} --out: give one dump dir per data dir")
    for data_dir, out in zip(a.data_dir, a.out):
        try:
            meta = write_control(a.task, a.kind, data_dir, out)
        except (DataDirError, OSError, KeyError) as e:
            print(f"error: {data_dir}: {e}", file=sys.stderr)
            return 2
        print(f"control: {out}: {a.kind} features of {meta['num_utterances']} utterances, dim {meta['dims'][0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
