"""Mini slot-filling corpus: spoken commands with slots, in the audio SNIPS layout.

Sentences come from the mini corpus's command templates (``text.INTENTS``: action, object,
location), whose object and location words become slots (``object``, ``language`` for the
language commands, ``location``); some commands get a person (``for <name>``) and a time
(``on monday``, ``after lunch``, ...) as further slots, so values have one or several words.
The main speakers make the training set, the held-out speakers valid and test (split in two),
as SNIPS splits by speaker. Written as ``OUT/SNIPS/`` (``all.iob.snips.txt``,
``{train,valid,test}/<speaker>-snips-<split>-<n>.wav``) for ``speechbench.corpora.snips``
with ``--{train,valid,test}-speakers all``.

    python -m speechbench.corpora.mini.sf --size mini --out downloads/mini-mini-sf --nj 2
"""
from __future__ import annotations

import os
import sys

import numpy as np

from speechbench.corpora.mini import SIZES, VERSION
from speechbench.corpora.mini import text as T
from speechbench.corpora.mini.extra import build_once, synthesis_main, synthesise
from speechbench.corpora.mini.plan import Plan, UttSpec, make_plan
from speechbench.errors import ConfigError

SF_VERSION = 1
SF_SIZES = {"tiny": (24, 6, 6), "mini": (800, 100, 100)}  # utterances in train, valid, test
SPLITS = ("train", "valid", "test")
P_PERSON, P_TIME = 0.3, 0.35


def slot_command(rng: np.random.Generator) -> tuple[list[str], list[str], str]:
    """A command's words, the slot type of each word (``O``: none) and its intent (the action)."""
    intent = T.INTENTS[int(rng.integers(len(T.INTENTS)))]
    action, obj, location = intent
    words = T.command(rng, intent)
    object_type = "language" if action == "change_language" else "object"
    types = [object_type if w == obj else "location" if w == location else "O" for w in words]
    if rng.random() < P_PERSON:
        words += ["for", T.NAMES[int(rng.integers(len(T.NAMES)))]]
        types += ["O", "person"]
    if rng.random() < P_TIME:
        phrase = T.TIMES[int(rng.integers(len(T.TIMES)))].split()
        words += phrase
        types += ["time"] * len(phrase)
    return words, types, action


def make_sf_plan(size: str, seed: int) -> tuple[Plan, dict[str, str]]:
    """The utterances and each one's ``all.iob.snips.txt`` line."""
    spec = SIZES[size]
    speakers = make_plan(size, seed).speakers
    heldout = speakers[spec.main_speakers:]
    pools = {"train": speakers[:spec.main_speakers], "valid": heldout[:len(heldout) // 2],
             "test": heldout[len(heldout) // 2:]}
    rng = np.random.default_rng([seed, 13])
    plan, lines = Plan(speakers=speakers), {}
    for split, count in zip(SPLITS, SF_SIZES[size]):
        for k in range(count):
            spk = pools[split][k % len(pools[split])]
            words, types, intent = slot_command(rng)
            utt = f"{spk.spk_id}-snips-{split}-{k}"
            plan.utts[utt] = UttSpec(utt, spk, "neutral", (tuple(words),))
            plan.sets.setdefault(split, []).append(utt)
            lines[utt] = f"{utt} BOS {' '.join(words)} EOS\tO {' '.join(types)} {intent}"
    return plan, lines


def prepare_mini_sf(out_dir: str, size: str = "mini", seed: int = 0, nj: int = 1) -> str:
    """Build (or reuse) the corpus; returns ``OUT/SNIPS``."""
    if size not in SF_SIZES:
        raise ConfigError(f"unknown size '{size}' (choose one of: {', '.join(SF_SIZES)})")
    plan, lines = make_sf_plan(size, seed)

    def build(work: str, tree: str) -> None:
        synthesise(plan, seed, work, nj)
        root = os.path.join(tree, "SNIPS")
        for split, utts in plan.sets.items():
            os.makedirs(os.path.join(root, split))
            for utt in utts:
                os.replace(os.path.join(work, "wav", f"{utt}.wav"), os.path.join(root, split, f"{utt}.wav"))
        with open(os.path.join(root, "all.iob.snips.txt"), "w", encoding="utf-8") as f:
            f.writelines(f"{lines[u]}\n" for u in sorted(lines))

    build_once(out_dir, {"task": "sf", "size": size, "seed": seed, "version": [VERSION, SF_VERSION]}, build)
    return os.path.join(os.path.abspath(out_dir), "SNIPS")


def main(argv: list[str] | None = None) -> int:
    return synthesis_main("python -m speechbench.corpora.mini.sf", __doc__, SF_SIZES, prepare_mini_sf, argv)


if __name__ == "__main__":
    sys.exit(main())
