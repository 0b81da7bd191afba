#!/usr/bin/env python
"""``make bench``: run every ``bench/bench_*.py`` with short settings, one after the other.

Each script prints its own table; this runner adds the CPU seconds each one took (children's
user + system time: the machine may be shared, so wall time says little) and exits non-zero
if any script failed. Scripts without an entry in ``SHORT`` run with their defaults. The
full-size commands and their results are in ``docs/bench.md`` and ``docs/cache_size.md``.

    python bench/run_all.py [--only bench_cache]
"""
from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys

from benchutil import REPO, children_cpu

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
SHORT = {
    "bench_wav2vec2": ["--seconds", "2", "3", "--repeats", "1"],
    "bench_ssl_upstreams": ["--seconds", "2", "3", "--repeats", "1"],
    "bench_cache": ["--utts", "48", "--repeats", "1"],
    "bench_cache_size": ["--seconds", "20"],
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="+", default=None, help="script names (without .py) to run")
    a = p.parse_args(argv)
    scripts = sorted(os.path.basename(path)[:-3] for path in glob.glob(os.path.join(BENCH_DIR, "bench_*.py")))
    if a.only:
        unknown = sorted(set(a.only) - set(scripts))
        if unknown:
            p.error(f"unknown bench scripts {unknown}; available: {', '.join(scripts)}")
        scripts = [s for s in scripts if s in a.only]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([REPO, BENCH_DIR]), "OMP_NUM_THREADS": "1"}
    failed = []
    for name in scripts:
        cmd = [sys.executable, os.path.join(BENCH_DIR, f"{name}.py"), *SHORT.get(name, [])]
        print(f"== {' '.join(['python', f'bench/{name}.py', *SHORT.get(name, [])])}", flush=True)
        before = children_cpu()
        code = subprocess.run(cmd, env=env, cwd=REPO).returncode
        print(f"== {name}: {'ok' if code == 0 else f'FAILED (exit {code})'}, "
              f"{children_cpu() - before:.1f} CPU s\n", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
