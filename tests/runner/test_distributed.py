"""torchrun with 2 CPU processes on gloo: one set of checkpoints, a model that learns, resumable."""
import json
import os
import subprocess
import sys

import pytest
import torch

from testutil import REPO, run_cli

OVERRIDES = "config.runner.total_steps=40,,config.runner.eval_step=20,,config.runner.save_step=20"


def _torchrun(tmp_path, *args, script: str = os.path.join(REPO, "run_benchmark.py")) -> subprocess.CompletedProcess:
    """Two CPU processes; ``--standalone`` rendezvous on a free local port (tests may run side by side)."""
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    env = {**os.environ, "PYTHONPATH": REPO, "OMP_NUM_THREADS": "1"}
    return subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", script, *args],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_two_process_gloo_training(tmp_path):
    done = _torchrun(tmp_path, "-m", "train", "-n", "ddp", "-u", "example", "-d", "example", "-o", OVERRIDES)
    assert done.returncode == 0, done.stderr[-2000:]
    expdir = tmp_path / "result/downstream/ddp"
    assert sorted(p.name for p in expdir.glob("states-*.ckpt")) == ["states-20.ckpt", "states-40.ckpt"]
    assert done.stderr.count("training done") == 1  # rank 0 logs, rank 1 stays quiet
    # resume the distributed run for 20 more steps
    done = _torchrun(tmp_path, "-m", "train", "-e", str(expdir / "states-40.ckpt"), "-o", "config.runner.total_steps=60")
    assert done.returncode == 0, done.stderr[-2000:]
    state = torch.load(expdir / "states-60.ckpt", weights_only=True)
    assert state["Step"] == 60
    done = run_cli(["-m", "evaluate", "-e", str(expdir / "states-60.ckpt")], cwd=str(tmp_path))
    assert done.returncode == 0
    assert json.loads((expdir / "test_results.json").read_text())["metrics"]["test-acc"] > 0.6


@pytest.mark.slow
def test_gradients_are_synchronised_across_processes(tmp_path):
    """Each rank trains on its own half of the batches; equal weights afterwards mean DDP averaged the gradients."""
    done = _torchrun(tmp_path, str(tmp_path / "exp"), str(tmp_path), "6",
                     script=os.path.join(REPO, "tests", "runner", "ddp_ranks.py"))
    assert done.returncode == 0, done.stderr[-2000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    trained = [k for k, v in ranks[0]["after"].items() if not torch.equal(v, ranks[0]["before"][k])]
    assert "expert.model.0.weight" in trained and "featurizer.weights" in trained
    for key, value in ranks[0]["after"].items():
        assert torch.equal(value, ranks[1]["after"][key]), f"{key} differs between the two processes"


def test_each_rank_takes_its_share_of_the_batches():
    from speechbench.data.loader import LengthBucketBatchSampler

    lengths = [1.0 + 0.01 * i for i in range(22)]  # 6 batches of 4 (the last of 2)

    def shares(train: bool) -> list[list[list[int]]]:
        samplers = [LengthBucketBatchSampler(lengths, 4, shuffle=train, seed=3, rank=r, world_size=4) for r in range(4)]
        return [list(s) for s in samplers]

    train = shares(True)  # 6 batches over 4 ranks: one each, the rest dropped so every rank steps together
    assert [len(s) for s in train] == [1, 1, 1, 1]
    evaluation = shares(False)  # every batch scored once, by one rank
    assert [len(s) for s in evaluation] == [2, 2, 1, 1]
    assert sorted(i for s in evaluation for b in s for i in b) == list(range(22))
    assert not set(map(tuple, train[0])) & set(map(tuple, train[1]))
