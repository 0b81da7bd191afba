"""What a pretraining objective is, and how the loop finds one by upstream name.

An objective lives in ``speechbench/pretrain/objectives/<upstream>.py`` and exposes
``build_objective(config: dict) -> PretrainObjective``; its small default config is
``speechbench/pretrain/conf/<upstream>.yaml``. Nothing is registered by hand, so adding
an objective touches only those two files.
"""
from __future__ import annotations

import importlib
import os

import torch
from torch import nn

from speechbench.errors import ConfigError

_OBJECTIVES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "objectives")
CONF_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conf")


class PretrainObjective(nn.Module):
    """An upstream model plus its self-supervised loss.

    Subclasses implement :meth:`loss` and :meth:`official_checkpoint`; they may override
    :meth:`make_optimizer` when the authors used something other than Adam.
    """

    def loss(self, wavs: list[torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """Scalar loss on a batch of 1-D 16 kHz waveforms, plus floats worth logging."""
        raise NotImplementedError

    def official_checkpoint(self) -> dict:
        """The dict to ``torch.save`` in the authors' released layout (tensors on CPU)."""
        raise NotImplementedError

    def make_optimizer(self, lr: float, total_steps: int
                       ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
        """Optimizer and optional per-step LR scheduler; Adam with a constant LR by default."""
        return torch.optim.Adam(self.parameters(), lr=lr), None


def available() -> list[str]:
    """Upstream names that have a pretraining objective."""
    return sorted(f[:-3] for f in os.listdir(_OBJECTIVES_DIR)
                  if f.endswith(".py") and not f.startswith("_"))


def build_objective(name: str, config: dict) -> PretrainObjective:
    """Import ``speechbench.pretrain.objectives.<name>`` and build its objective."""
    names = available()
    if name not in names:
        raise ConfigError(f"no pretraining objective for upstream '{name}'; available: {', '.join(names)}")
    module = importlib.import_module(f"speechbench.pretrain.objectives.{name}")
    objective = module.build_objective(config)
    if not isinstance(objective, PretrainObjective):
        raise TypeError(f"speechbench/pretrain/objectives/{name}.py: build_objective returned "
                        f"{type(objective).__name__}, not a PretrainObjective")
    return objective


def default_config_path(name: str) -> str:
    """``speechbench/pretrain/conf/<name>.yaml``."""
    return os.path.join(CONF_DIR, f"{name}.yaml")
