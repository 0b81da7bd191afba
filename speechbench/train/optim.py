"""Optimizer and learning-rate schedule from the config's ``optimizer``/``scheduler`` sections."""
from __future__ import annotations

import torch

from speechbench.train.config import ConfigError

OPTIMIZERS = {"Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW, "SGD": torch.optim.SGD}
SCHEDULERS = ("none", "linear_warmup", "linear_warmup_decay", "cosine_warmup")


def build_optimizer(groups: list[dict], config: dict) -> torch.optim.Optimizer:
    """``config['name']`` one of Adam, AdamW, SGD; ``lr`` and ``weight_decay`` apply to all groups."""
    if config["name"] not in OPTIMIZERS:
        raise ConfigError(f"optimizer '{config['name']}' is not one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[config["name"]](groups, lr=float(config["lr"]), weight_decay=float(config["weight_decay"]))


def build_scheduler(optimizer: torch.optim.Optimizer, config: dict, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Learning-rate multiplier per step: constant, or linear warm-up then constant/linear/cosine decay."""
    name, warmup = config["name"], int(config["num_warmup_steps"])
    if name not in SCHEDULERS:
        raise ConfigError(f"scheduler '{name}' is not one of {SCHEDULERS}")

    def factor(step: int) -> float:
        if name == "none":
            return 1.0
        if step < warmup:
            return (step + 1) / warmup
        if name == "linear_warmup":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        if name == "linear_warmup_decay":
            return 1.0 - progress
        return 0.5 * (1.0 + torch.cos(torch.tensor(progress * torch.pi)).item())

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
