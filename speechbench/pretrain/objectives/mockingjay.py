"""Mockingjay: time masking (15% of frames in 7-frame spans, 80/10/10), L1 on a linear-spectrogram target.

The objective is :mod:`speechbench.pretrain.masked_reconstruction`; defaults are the released
MODEL config of :class:`speechbench.upstream.mockingjay.expert.UpstreamExpert`.
"""
from __future__ import annotations

from speechbench.pretrain.masked_reconstruction import MaskedReconstructionObjective, build
from speechbench.upstream.mockingjay.expert import UpstreamExpert


def build_objective(config: dict) -> MaskedReconstructionObjective:
    """The objective from the YAML ``objective:`` section (transformer/task/audio overrides)."""
    return build("mockingjay", config, UpstreamExpert.DEFAULT_MODEL_CONFIG)
