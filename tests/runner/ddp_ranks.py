"""Run under torchrun by test_distributed.py: train the example task, then save this rank's weights.

Usage: torchrun --standalone --nproc_per_node 2 ddp_ranks.py EXPDIR OUT_DIR STEPS
"""
import os
import sys

import torch

from speechbench.registry import expert_dir
from speechbench.runner import Runner
from speechbench.train.config import apply_overrides, load_config

expdir, out, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
args = {"expname": "ddp", "expdir": expdir, "upstream": "example", "upstream_ckpt": None, "upstream_options": None,
        "upstream_trainable": False, "upstream_feature_selection": "hidden_states", "layer": None,
        "downstream": "example", "feature_cache": None, "seed": 1337, "device": "cpu", "verbose": False}
config = apply_overrides(load_config(os.path.join(expert_dir("downstream", "example"), "config.yaml")),
                         f"config.runner.total_steps={steps},,config.runner.eval_step={steps},,"
                         f"config.runner.save_step={steps},,config.runner.log_step={steps}")
runner = Runner(args, config)
before = {k: v.clone() for k, v in runner.pipeline.state_dict().items()}
runner.train()
torch.save({"before": before, "after": runner.pipeline.state_dict()}, os.path.join(out, f"rank{runner.rank}.pt"))
