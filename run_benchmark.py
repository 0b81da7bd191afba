#!/usr/bin/env python3
"""speechbench command line: train, resume or evaluate a downstream task on an upstream.

  python3 run_benchmark.py -m train -n NAME -u UPSTREAM -d DOWNSTREAM -c CONFIG
  python3 run_benchmark.py -m train -e EXPDIR_OR_CKPT        # resume
  python3 run_benchmark.py -m evaluate -e CKPT [-t test]      # score a split
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from speechbench.cli_benchmark import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
