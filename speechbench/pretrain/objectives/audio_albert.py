"""Audio ALBERT: time masking with one transformer layer shared across depth, L1 on log-mel.

The objective is :mod:`speechbench.pretrain.masked_reconstruction`; defaults are the released
MODEL config of :class:`speechbench.upstream.audio_albert.expert.UpstreamExpert`.
"""
from __future__ import annotations

from speechbench.pretrain.masked_reconstruction import MaskedReconstructionObjective, build
from speechbench.upstream.audio_albert.expert import UpstreamExpert


def build_objective(config: dict) -> MaskedReconstructionObjective:
    """The objective from the YAML ``objective:`` section (transformer/task/audio overrides)."""
    return build("audio_albert", config, UpstreamExpert.DEFAULT_MODEL_CONFIG)
