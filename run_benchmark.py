#!/usr/bin/env python3
"""speechbench command line: train, resume or evaluate a downstream task on an upstream.

  python3 run_benchmark.py -m train -n NAME -u UPSTREAM -d DOWNSTREAM -c CONFIG
  python3 run_benchmark.py -m train -e EXPDIR_OR_CKPT        # resume
  python3 run_benchmark.py -m evaluate -e CKPT [-t test]      # score a split

Run with any python3: when the project's dependencies are missing from it, the command
re-runs itself with the project environment (`.venv`, made by `make install`).
"""
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, ROOT)

try:
    import torch  # noqa: F401
except ImportError:
    venv_python = os.path.join(ROOT, ".venv", "bin", "python")
    if os.path.exists(venv_python) and os.path.realpath(sys.executable) != os.path.realpath(venv_python):
        os.execv(venv_python, [venv_python, *sys.argv])
    sys.exit("error: speechbench's dependencies are not installed: run `make install` in " + ROOT)

from speechbench.cli_benchmark import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
