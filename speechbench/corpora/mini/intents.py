"""The mini corpus's slot values (its command set), for the intent task's ``datarc.classes``.

The tiny corpus has fewer training utterances than intents, so dev/test hold values train
never shows; the corpus's own command set fixes each slot's classes instead (such
utterances are then scored as errors rather than refused).

    python -m speechbench.corpora.mini.intents --out data/classes.yaml
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

import yaml

from speechbench.corpora.mini.text import INTENTS
from speechbench.utils_io import atomic_open

SLOTS = ("action", "object", "location")


def mini_classes() -> dict[str, list[str]]:
    """Sorted values of each slot over every intent of the mini corpus."""
    return {slot: sorted({intent[i] for intent in INTENTS}) for i, slot in enumerate(SLOTS)}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speechbench.corpora.mini.intents",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="YAML file to write (slot -> values)")
    a = p.parse_args(argv)
    with atomic_open(a.out, "w", encoding="utf-8") as f:
        yaml.safe_dump(mini_classes(), f, sort_keys=False)
    print(f"wrote the mini corpus slot values to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
