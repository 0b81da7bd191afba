"""Fixtures: a fake egs/ tree of finished experiments (results, config, events, checkpoint)."""
from __future__ import annotations

import json
import os

import pytest
import torch
import yaml

from speechbench.checkpoints.experiment import ExperimentCheckpoint


def _write_experiment(egs: str, recipe: str, name: str, task: str, upstream: str, metrics: dict,
                      data_tag: str = "mini", lr: float = 1e-3, dev: dict | None = None,
                      layer_logits: list[float] | None = None, curve: dict | None = None,
                      split: str = "test", upstream_ckpt: str | None = None, seed: int = 1337) -> str:
    """One experiment dir as a recipe leaves it; returns its path."""
    expdir = os.path.join(egs, recipe, "exp", *([data_tag] if data_tag else []), name)
    os.makedirs(expdir, exist_ok=True)
    ckpt = os.path.join(expdir, "best-states-dev.ckpt")
    with open(os.path.join(expdir, f"{split}_results.json"), "w") as f:
        json.dump({"split": split, "metrics": metrics, "checkpoint": ckpt, "step": 10, "upstream": upstream,
                   "downstream": task, "layer": None, "upstream_ckpt": upstream_ckpt}, f)
    with open(os.path.join(expdir, "config.yaml"), "w") as f:
        yaml.safe_dump({"optimizer": {"name": "AdamW", "lr": lr}}, f)
    with open(os.path.join(expdir, "args.yaml"), "w") as f:
        json.dump({"seed": seed, "upstream": upstream}, f)
    with open(os.path.join(expdir, "RESULTS.md"), "w") as f:
        f.write("# fake\n")
    if dev is not None:
        with open(os.path.join(expdir, "dev_results.json"), "w") as f:
            json.dump({"split": "dev", "metrics": dev, "checkpoint": ckpt, "upstream": upstream,
                       "downstream": task}, f)
    if layer_logits is not None:
        ExperimentCheckpoint(featurizer={"weights": torch.tensor(layer_logits)}, step=10).save(ckpt)
    if curve:
        from torch.utils.tensorboard import SummaryWriter

        w = SummaryWriter(expdir)
        for tag, points in curve.items():
            for step, value in points:
                w.add_scalar(tag, value, step)
        w.close()
    return expdir


@pytest.fixture
def make_exp(tmp_path):
    """``make_exp(recipe, name, task, upstream, metrics, **kw)`` under ``tmp_path/egs``."""
    egs = str(tmp_path / "egs")

    def make(*args, **kwargs) -> str:
        return _write_experiment(egs, *args, **kwargs)

    make.egs = egs
    return make


@pytest.fixture
def board_tree(make_exp):
    """fbank, apc and tera on phone (acc, higher better) and pr (PER, lower better).

    phone: fbank .50, apc .70, tera .60 -> apc 1000, tera 500
    pr:    fbank .50, apc .45, tera .30 -> apc 250, tera 1000
    overall: tera 750, apc 625, fbank 0
    """
    make_exp("phone", "baseline_ws", "phone", "baseline", {"test-acc": 0.5, "test-loss": 2.0},
             curve={"dev-acc": [(5, 0.4), (10, 0.5)], "train-loss": [(5, 3.0), (10, 2.0)]})
    make_exp("phone", "apc_apc_ws", "phone", "apc", {"test-acc": 0.7, "test-loss": 1.0},
             upstream_ckpt="/x/apc.ckpt", layer_logits=[0.0, 1.0, 2.0, 0.0],
             curve={"dev-acc": [(5, 0.6), (10, 0.7)], "train-loss": [(5, 2.0), (10, 1.0)]})
    make_exp("phone", "tera_tera_ws", "phone", "tera", {"test-acc": 0.6}, upstream_ckpt="/x/tera.ckpt",
             layer_logits=[0.0, 0.0, 0.0, 0.0])
    make_exp("pr", "baseline_ws", "pr", "baseline", {"test-per": 0.5})
    make_exp("pr", "apc_apc_ws", "pr", "apc", {"test-per": 0.45}, upstream_ckpt="/x/apc.ckpt",
             layer_logits=[3.0, 0.0, 0.0, 0.0])
    make_exp("pr", "tera_tera_ws", "pr", "tera", {"test-per": 0.3}, upstream_ckpt="/x/tera.ckpt")
    return make_exp.egs
