"""The Runner used from Python: progress has its own state, so evaluate() after train() reports the trained step."""
from __future__ import annotations

import json
import os

import torch

from speechbench.checkpoints.experiment import load_experiment
from speechbench.registry import expert_dir
from speechbench.runner import Runner
from speechbench.train.config import apply_overrides, load_config


def _runner(expdir: str, steps: int) -> Runner:
    args = {"expname": "api", "expdir": expdir, "upstream": "example", "upstream_ckpt": None,
            "upstream_options": None, "upstream_trainable": False, "upstream_feature_selection": "hidden_states",
            "layer": None, "downstream": "example", "feature_cache": None, "seed": 1337, "device": "cpu",
            "verbose": False}
    config = apply_overrides(load_config(os.path.join(expert_dir("downstream", "example"), "config.yaml")),
                             f"config.runner.total_steps={steps},,config.runner.eval_step=4,,"
                             f"config.runner.save_step={steps},,config.runner.log_step=4")
    return Runner(args, config)


def test_evaluate_after_train_reports_the_trained_step(tmp_path):
    torch.set_num_threads(1)
    runner = _runner(str(tmp_path / "exp"), 8)
    runner.train()
    result = runner.evaluate("test", None)
    assert result["step"] == 8
    assert json.loads((tmp_path / "exp" / "test_results.json").read_text())["step"] == 8


def test_the_best_dev_value_is_kept_by_the_runner(tmp_path):
    torch.set_num_threads(1)
    _runner(str(tmp_path / "exp"), 8).train()
    best = load_experiment(str(tmp_path / "exp" / "best-states-dev.ckpt"))
    last = load_experiment(str(tmp_path / "exp" / "states-8.ckpt"))
    assert best.best is not None and last.best >= best.best  # acc: higher is better, never lost
    assert "best_dev" not in best.downstream  # the experts keep no copy of it
