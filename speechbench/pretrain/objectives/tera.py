"""TERA: time + frequency masking + Gaussian magnitude noise, L1 on the log-mel target.

The objective is :mod:`speechbench.pretrain.masked_reconstruction`; defaults are the released
MODEL config of :class:`speechbench.upstream.tera.expert.UpstreamExpert`.
"""
from __future__ import annotations

from speechbench.pretrain.masked_reconstruction import MaskedReconstructionObjective, build
from speechbench.upstream.tera.expert import UpstreamExpert


def build_objective(config: dict) -> MaskedReconstructionObjective:
    """The objective from the YAML ``objective:`` section (transformer/task/audio overrides)."""
    return build("tera", config, UpstreamExpert.DEFAULT_MODEL_CONFIG)
