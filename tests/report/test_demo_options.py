"""``tools/demo.sh`` rejects bad options before doing any work."""
from __future__ import annotations

import subprocess

from testutil import REPO


def _demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "tools/demo.sh", *args], cwd=REPO, capture_output=True, text=True, timeout=60)


def test_bad_size_and_unknown_option_fail_fast():
    proc = _demo("--size", "huge")
    assert proc.returncode == 1 and "--size must be mini or tiny, got 'huge'" in proc.stderr
    proc = _demo("--sizes", "tiny")
    assert proc.returncode != 0 and "sizes" in proc.stderr


def test_help_lists_the_options():
    proc = _demo("--help")
    for option in ("--size", "--upstreams", "--tasks", "--pretrain-steps", "--train-steps", "--lr-sweep", "--out",
                   "--seeds", "--controls", "--task-steps", "--jobs"):
        assert option in proc.stdout + proc.stderr


def test_seeds_must_be_a_positive_number():
    proc = _demo("--seeds", "0")
    assert proc.returncode == 1 and "--seeds must be a positive number, got '0'" in proc.stderr


def test_jobs_must_be_a_positive_number():
    proc = _demo("--jobs", "two")
    assert proc.returncode == 1 and "--jobs must be a positive number, got 'two'" in proc.stderr
