"""The extraction CLI end to end with a real upstream, its jobs run by egs/utils/run_jobs.sh."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from speechbench.features.cache import FeatureCache

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # four Python processes importing torch: 10-20 s on a busy machine
def test_baseline_through_the_job_runner(tmp_path, data_dir, utt_lengths):
    out = tmp_path / "dump"
    cmd = [sys.executable, "-m", "speechbench.features.extract", "--upstream", "baseline",
           "--upstream-options", "num_mel_bins=40", "--data-dir", str(data_dir), "--out", str(out),
           "--nj", "2", "--num-threads", "1", "--cmd", f"{REPO}/egs/utils/run_jobs.sh --max-parallel 2"]
    env = {"PATH": f"{REPO}/.venv/bin:/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "per hour of audio" in done.stdout
    for job in (1, 2):
        assert (out / f"log/extract.{job}.log").read_text().splitlines()[-1].startswith("# Ended (code 0)")
    meta = json.loads((out / "meta.json").read_text())
    assert meta["dims"] == [40] and meta["layers"] == [0] and meta["upstream_options"] == {"num_mel_bins": 40}
    cache = FeatureCache(out, upstream="baseline", upstream_options={"num_mel_bins": 40})
    # Kaldi fbank: 25 ms windows every 10 ms, no padding.
    assert {u: cache.num_frames(u) for u in cache} == {u: 1 + (n - 400) // 160 for u, n in utt_lengths.items()}
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert again.returncode == 0
    assert "job 1/2 finished in a previous run" in again.stderr
    # A finished job whose output was lost runs again, although its log says it succeeded.
    for name in ("meta.2.json", "feats.2.ark", "feats.2.scp"):
        (out / name).unlink()
    third = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert third.returncode == 0, third.stderr
    assert (out / "meta.2.json").exists() and len(FeatureCache(out)) == len(utt_lengths)
