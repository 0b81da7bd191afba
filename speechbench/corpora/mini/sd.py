"""Mini diarization corpus: two-speaker mixtures of mini-corpus utterances, in the Libri2Mix layout.

Each mixture adds two utterances of different speakers of the built mini corpus, the second
starting at a seeded 25-75 % of the first's length and scaled by a seeded -3..+3 dB, so every
mixture has a stretch of one speaker, an overlap, and a stretch of the other. A speaker's
turns are the utterance's word times (``words.ctm``) with pauses under 0.25 s bridged,
shifted to where the utterance sits in the mixture. Training mixtures come from
``read/train``, dev from ``read/dev``, test from ``asv/test`` (speakers unseen in training, as
Libri2Mix's test speakers are).

Written as ``OUT/Libri2Mix/wav16k/max/{train,dev,test}/mix_clean/<s1>_<s2>.wav`` with
``metadata/mixture_<split>_mix_clean.csv``, and ``OUT/metadata/LibriSpeech/<split>.rttm`` with
the source turns (keyed by source utterance, already in mixture time: unlike Libri2Mix
``max`` mixtures, the second source does not start at 0) for ``speechbench.corpora.librimix
--mix clean --splits train,dev,test``. Deterministic: the bytes depend on the mini corpus
and the seed only.

    python -m speechbench.corpora.mini.sd --base downloads/mini-mini --out downloads/mini-mini-sd
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import soundfile as sf

from speechbench.corpora.errors import CorpusBuildError, CorpusError
from speechbench.corpora.mini.extra import build_once
from speechbench.corpora.mini.phones import SAMPLE_RATE
from speechbench.data.kaldi_dir import read_kv
from speechbench.errors import ConfigError, run_command
from speechbench.metrics.diarization import Turn, write_rttm

SD_VERSION = 1
SOURCES = {"train": "read/train", "dev": "read/dev", "test": "asv/test"}
SD_SIZES = {"tiny": {"train": 12, "dev": 4, "test": 6}, "mini": {"train": 400, "dev": 80, "test": 64}}
OFFSET = (0.25, 0.75)   # second source's start, as a fraction of the first source's length
GAIN_DB = (-3.0, 3.0)   # level of the second source relative to the first
BRIDGE = 0.25           # pauses shorter than this (seconds) stay inside a turn


def source_turns(ctm_path: str) -> dict[str, list[tuple[float, float]]]:
    """Speech of each utterance: its word spans, pauses under ``BRIDGE`` bridged."""
    words: dict[str, list[tuple[float, float]]] = {}
    with open(ctm_path, encoding="utf-8") as f:
        for line in f:
            utt, _, start, dur, _ = line.split()
            words.setdefault(utt, []).append((float(start), float(start) + float(dur)))
    out = {}
    for utt, spans in words.items():
        merged = [list(spans[0])]
        for a, b in sorted(spans)[1:]:
            if a - merged[-1][1] < BRIDGE:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        out[utt] = [(a, b) for a, b in merged]
    return out


def pair_utterances(utt2spk: dict[str, str], count: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """Up to ``count`` disjoint pairs of utterances by different speakers, in a seeded order."""
    ordered = sorted(utt2spk)
    pool = [ordered[int(i)] for i in rng.permutation(len(ordered))]
    pairs = []
    while pool and len(pairs) < count:
        first = pool.pop(0)
        other = next((u for u in pool if utt2spk[u] != utt2spk[first]), None)
        if other is None:
            break
        pool.remove(other)
        pairs.append((first, other))
    return pairs


def _read(path: str) -> np.ndarray:
    x, rate = sf.read(path, dtype="float64")
    if rate != SAMPLE_RATE:
        raise CorpusError(f"{path}: {rate} Hz, the mini corpus is {SAMPLE_RATE} Hz")
    return x


def _mix_split(base_data: str, split: str, count: int, seed: int, tree: str) -> None:
    from speechbench.corpora.mini.audio import to_int16

    src = os.path.join(base_data, SOURCES[split])
    wavs, utt2spk = read_kv(os.path.join(src, "wav.scp")), read_kv(os.path.join(src, "utt2spk"))
    speech = source_turns(os.path.join(src, "words.ctm"))
    rng = np.random.default_rng([seed, 14, list(SOURCES).index(split)])
    root = os.path.join(tree, "Libri2Mix", "wav16k", "max")
    os.makedirs(os.path.join(root, split, "mix_clean"))
    rows, turns = ["mixture_ID,mixture_path,source_1_path,source_2_path,length"], []
    for first, second in pair_utterances(utt2spk, count, rng):
        s1, s2 = _read(wavs[first]), _read(wavs[second])
        start = int(len(s1) * rng.uniform(*OFFSET))
        s2 = s2 * 10 ** (rng.uniform(*GAIN_DB) / 20)
        mix = np.zeros(max(len(s1), start + len(s2)))
        mix[:len(s1)] += s1
        mix[start:start + len(s2)] += s2
        mixture = f"{first}_{second}"
        path = os.path.join(root, split, "mix_clean", f"{mixture}.wav")
        sf.write(path, to_int16(mix), SAMPLE_RATE, format="WAV", subtype="PCM_16")
        rows.append(f"{mixture},{split}/mix_clean/{mixture}.wav,{wavs[first]},{wavs[second]},{len(mix)}")
        for utt, shift in ((first, 0.0), (second, start / SAMPLE_RATE)):
            turns += [Turn(utt, utt2spk[utt], a + shift, b + shift) for a, b in speech[utt]]
    os.makedirs(os.path.join(root, "metadata"), exist_ok=True)
    with open(os.path.join(root, "metadata", f"mixture_{split}_mix_clean.csv"), "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    write_rttm(os.path.join(tree, "metadata", "LibriSpeech", f"{split}.rttm"), turns)


def prepare_mini_sd(base_dir: str, out_dir: str, seed: int = 0) -> str:
    """Build (or reuse) the mixtures of the mini corpus in ``base_dir``; returns ``OUT``."""
    try:
        with open(os.path.join(base_dir, ".done"), encoding="utf-8") as f:
            base = json.load(f)
    except (OSError, ValueError):
        raise CorpusBuildError(f"{base_dir} is not a built mini corpus (no .done): build it first with "
                           f"python -m speechbench.corpora.mini --out {base_dir}") from None
    sizes = SD_SIZES.get(base.get("size"))
    if sizes is None:
        raise ConfigError(f"no mixture sizes for a '{base.get('size')}' mini corpus (known: {', '.join(SD_SIZES)})")
    data = os.path.join(os.path.abspath(base_dir), "data")

    def build(work: str, tree: str) -> None:
        for split, count in sizes.items():
            _mix_split(data, split, count, seed, tree)

    build_once(out_dir, {"task": "sd", "base": base, "base_dir": data, "seed": seed, "version": SD_VERSION}, build)
    return os.path.abspath(out_dir)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechbench.corpora.mini.sd", description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True, help="a built mini corpus (python -m speechbench.corpora.mini)")
    p.add_argument("--out", required=True, help="output directory (OUT/Libri2Mix, OUT/metadata)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    return run_command(lambda: print(prepare_mini_sd(a.base, a.out, a.seed)))


if __name__ == "__main__":
    sys.exit(main())
