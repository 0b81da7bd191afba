"""egs/pretrain end to end on the tiny corpus: the checkpoint it writes loads as an upstream."""
from __future__ import annotations

import os
import subprocess

import pytest
import torch

from speechbench.corpora.mini import prepare_mini
from speechbench.registry import expert_class
from testutil import REPO

pytestmark = pytest.mark.slow


def test_pretrain_recipe_writes_a_checkpoint_in_the_authors_layout(tmp_path):
    torch.set_num_threads(1)
    mini = tmp_path / "mini"
    prepare_mini(str(mini), size="tiny", seed=0, nj=1)
    cmd = ["bash", "egs/pretrain/run.sh", "--upstream", "apc", "--mini-size", "tiny", "--mini-dir", str(mini),
           "--expdir", str(tmp_path / "exp"), "--steps", "3", "--batch-size", "2", "--num-threads", "1"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "audio: 28 files opened, 0 unusable" in proc.stdout
    ckpt = tmp_path / "exp" / "apc" / "apc.ckpt"
    assert f"(use: --upstream apc --upstream-ckpt {ckpt})" in proc.stderr
    expert = expert_class("upstream", "apc")(ckpt=str(ckpt)).eval()
    with torch.no_grad():
        hidden = expert([torch.randn(3200) * 0.1])["hidden_states"]
    assert len(hidden) == 3 and hidden[0].shape[1] == 1 + (3200 - 400) // 160
