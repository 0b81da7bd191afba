"""CLI: ``python -m speechbench.corpora.mini --size tiny|mini --out DIR [--seed 0] [--nj 2]``."""
from __future__ import annotations

import argparse
import logging
import sys

from speechbench.corpora.mini.build import prepare_mini
from speechbench.corpora.mini.plan import SIZES
from speechbench.errors import SpeechbenchError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m speechbench.corpora.mini",
        description="Build the seeded synthetic espeak-ng corpus (skipped when already built).")
    parser.add_argument("--size", choices=sorted(SIZES), default="mini",
                        help="tiny: seconds, for tests; mini: a few minutes, for demos")
    parser.add_argument("--out", required=True, help="output directory (DIR/data, DIR/wav)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed")
    parser.add_argument("--nj", type=int, default=1, help="parallel synthesis processes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        data = prepare_mini(args.out, size=args.size, seed=args.seed, nj=args.nj)
    except SpeechbenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
