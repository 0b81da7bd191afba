#!/usr/bin/env bash
# Builds the synthetic espeak-ng corpus every recipe uses by default (skipped when built).
# Usage: tools/make_mini_corpus.sh --out DIR [--size tiny|mini] [--seed N] [--nj N]
# See speechbench/corpora/mini/README.md for the layout.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="$root/.venv/bin/python"
[ -x "$py" ] || py=python3
exec "$py" -m speechbench.corpora.mini "$@"
