"""Mini keyword-spotting corpus: one-word utterances of the TTS speakers in the Speech Commands layout.

The ten SUPERB keywords and words the keyword task calls ``_unknown_`` (Speech Commands'
twenty auxiliary words) are spoken in isolation by the mini corpus's speakers, rendered like
every mini utterance (pauses, reverberation, noise, gain); ``_background_noise_`` holds white,
pink and babble noise recordings to cut silence from. The main speakers make the training
set, the held-out speakers dev and test (split in two), so the lists split by speaker as the
real ones do. Written as ``OUT/speech_commands/`` (``<word>/<speaker>_nohash_<n>.wav``,
``_background_noise_/*.wav``, ``validation_list.txt``, ``testing_list.txt``) for
``speechbench.corpora.speech_commands``.

    python -m speechbench.corpora.mini.ks --size mini --out downloads/mini-mini-ks --nj 2
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from speechbench.corpora.mini import SIZES, VERSION
from speechbench.corpora.mini.extra import build_once, synthesis_main, synthesise
from speechbench.corpora.mini.plan import Plan, UttSpec, make_plan
from speechbench.errors import ConfigError

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
AUXILIARY = ("bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin", "nine", "one",
             "seven", "sheila", "six", "three", "tree", "two", "wow", "zero")
NOISES = ("white", "pink", "babble")
NOISE_LEVEL = 0.05  # RMS of the background noise recordings
KS_VERSION = 1


@dataclass(frozen=True)
class KsSize:
    """Per speaker: each keyword ``keyword_reps`` times and ``unknown`` auxiliary words."""

    keyword_reps: int
    unknown: int
    noise_seconds: float


KS_SIZES = {"tiny": KsSize(keyword_reps=1, unknown=2, noise_seconds=20.0),
            "mini": KsSize(keyword_reps=2, unknown=5, noise_seconds=60.0)}


def make_ks_plan(size: str, seed: int) -> tuple[Plan, dict[str, str], dict[str, str]]:
    """The utterances, each one's word, and each one's file in the Speech Commands tree."""
    spec, ks = SIZES[size], KS_SIZES[size]
    speakers = make_plan(size, seed).speakers
    heldout = speakers[spec.main_speakers:]
    split_of = {s.spk_id: "train" for s in speakers[:spec.main_speakers]}
    split_of.update({s.spk_id: "dev" if k < len(heldout) // 2 else "test" for k, s in enumerate(heldout)})
    rng = np.random.default_rng([seed, 11])
    plan, words, files = Plan(speakers=speakers), {}, {}
    for spk in speakers:
        said = [w for w in KEYWORDS for _ in range(ks.keyword_reps)]
        said += [AUXILIARY[int(i)] for i in rng.choice(len(AUXILIARY), ks.unknown, replace=False)]
        for n, word in enumerate(said):
            utt = f"{spk.spk_id}-k{n:03d}"
            plan.utts[utt] = UttSpec(utt, spk, "neutral", ((word,),))
            plan.sets.setdefault(split_of[spk.spk_id], []).append(utt)
            words[utt] = word
            files[utt] = f"{word}/{spk.spk_id}_nohash_{said[:n].count(word)}.wav"
    return plan, words, files


def _noise(kind: str, seconds: float, rng: np.random.Generator, babble: np.ndarray) -> np.ndarray:
    from speechbench.corpora.mini.audio import SAMPLE_RATE, add_noise

    silent = np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)
    return add_noise(silent, kind, 0.0, NOISE_LEVEL ** 2, rng, babble)


def _write_tree(plan: Plan, files: dict[str, str], size: str, seed: int, work: str, tree: str) -> None:
    from speechbench.corpora.mini.audio import SAMPLE_RATE, to_int16

    root = os.path.join(tree, "speech_commands")
    for utt, rel in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        os.replace(os.path.join(work, "wav", f"{utt}.wav"), os.path.join(root, rel))
    babble = np.load(os.path.join(work, "babble.npy"))
    os.makedirs(os.path.join(root, "_background_noise_"))
    for k, kind in enumerate(NOISES):
        x = _noise(kind, KS_SIZES[size].noise_seconds, np.random.default_rng([seed, 12, k]), babble)
        sf.write(os.path.join(root, "_background_noise_", f"{kind}_noise.wav"), to_int16(x), SAMPLE_RATE,
                 format="WAV", subtype="PCM_16")
    for split, name in (("dev", "validation_list.txt"), ("test", "testing_list.txt")):
        with open(os.path.join(root, name), "w", encoding="utf-8") as f:
            f.writelines(f"{files[u]}\n" for u in sorted(plan.sets[split], key=files.get))


def prepare_mini_ks(out_dir: str, size: str = "mini", seed: int = 0, nj: int = 1) -> str:
    """Build (or reuse) the corpus; returns ``OUT/speech_commands``."""
    if size not in KS_SIZES:
        raise ConfigError(f"unknown size '{size}' (choose one of: {', '.join(KS_SIZES)})")
    plan, _, files = make_ks_plan(size, seed)

    def build(work: str, tree: str) -> None:
        synthesise(plan, seed, work, nj)
        _write_tree(plan, files, size, seed, work, tree)

    build_once(out_dir, {"task": "ks", "size": size, "seed": seed, "version": [VERSION, KS_VERSION]}, build)
    return os.path.join(os.path.abspath(out_dir), "speech_commands")


def main(argv: list[str] | None = None) -> int:
    return synthesis_main("python -m speechbench.corpora.mini.ks", __doc__, KS_SIZES, prepare_mini_ks, argv)


if __name__ == "__main__":
    sys.exit(main())
