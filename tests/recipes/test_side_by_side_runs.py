"""Two runs of one task recipe started at once (two seeds, as the demo's parallel jobs and a user
with two GPUs start them): the shared stages (corpus, data dirs, the upstream's feature dump) run
once under a lock, the other run waits and finds them done, and both runs train."""
from __future__ import annotations

import os
import re
import subprocess

from testutil import REPO, quick_steps, recipe_lock


def _stage_lines(stderr: str, n: int) -> list[str]:
    return [line for line in stderr.splitlines() if re.search(rf" stage {n}: (?!done)", line)]


def test_two_seeds_side_by_side_share_the_data_and_feature_stages(tmp_path, tiny_corpus):
    expdir = tmp_path / "exp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmds = [["bash", "egs/phone/run.sh", "--mini-size", "tiny", "--mini-dir", tiny_corpus, "--expdir", str(expdir),
             "--nj", "1", "--data-tag", "tiny-side", "--extra-overrides", quick_steps(), "--seed", seed]
            for seed in ("1337", "1338")]
    scratch = ["rm", "-rf", "egs/phone/data/tiny-side", "egs/phone/data/tiny-side.lock", "egs/phone/dump/tiny-side"]
    with recipe_lock("phone/tiny-side"):
        subprocess.run(scratch, cwd=REPO, check=True)
        try:
            procs = [subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True) for cmd in cmds]
            errs = [p.communicate(timeout=600)[1] for p in procs]
        finally:
            subprocess.run(scratch, cwd=REPO, check=True)
    assert [p.returncode for p in procs] == [0, 0], errs[0][-2000:] + errs[1][-2000:]
    for n in (1, 2):
        lines = [line for err in errs for line in _stage_lines(err, n)]
        assert len(lines) == 2 and sum("done before with the same inputs" in line for line in lines) == 1, lines
    for name in ("baseline_ws", "baseline_ws_seed1338"):
        assert (expdir / "tiny-side" / name / "test_results.json").is_file(), name
    assert (expdir / ".done" / "tiny-side" / "shared" / "stage1").is_file()
    assert (expdir / ".done" / "tiny-side" / "shared" / "features" / "baseline" / "stage2").is_file()
