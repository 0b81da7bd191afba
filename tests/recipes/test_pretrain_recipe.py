"""egs/pretrain end to end on the tiny corpus: the checkpoint it writes loads as an upstream."""
from __future__ import annotations

import re

import pytest
import torch

from speechbench.registry import expert_class
from testutil import run_in_repo

pytestmark = pytest.mark.slow


def test_pretrain_recipe_writes_a_checkpoint_in_the_authors_layout(tiny_corpus, tmp_path):
    cmd = ["bash", "egs/pretrain/run.sh", "--upstream", "apc", "--mini-size", "tiny", "--mini-dir", tiny_corpus,
           "--expdir", str(tmp_path / "exp"), "--steps", "3", "--batch-size", "2", "--num-threads", "1"]
    proc = run_in_repo(cmd, ())  # writes only into --expdir
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "audio: 28 files opened, 0 unusable" in proc.stdout
    ckpt = tmp_path / "exp" / "apc" / "apc.ckpt"
    assert f"(use: --upstream apc --upstream-ckpt {ckpt})" in proc.stderr
    written = ckpt.stat().st_mtime_ns
    again = run_in_repo(cmd, ())
    assert again.returncode == 0, again.stderr[-3000:]
    assert re.search(r"stage 2: pretrain apc -> \S+ \(done before with the same inputs", again.stderr), again.stderr
    assert ckpt.stat().st_mtime_ns == written, "a re-run must not rewrite the checkpoint (the recipes' features hash it)"
    expert = expert_class("upstream", "apc")(ckpt=str(ckpt)).eval()
    with torch.no_grad():
        hidden = expert([torch.randn(3200) * 0.1])["hidden_states"]
    assert len(hidden) == 3 and hidden[0].shape[1] == 1 + (3200 - 400) // 160
