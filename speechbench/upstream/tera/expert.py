"""TERA (Liu et al., 2021): Mockingjay's transformer trained with time, frequency and magnitude alteration.

The architecture and feature extraction are Mockingjay's (see
:mod:`speechbench.upstream.mockingjay.expert` for the checkpoint layouts, features,
departures from s3prl and the options). Without ``-k`` the default is the released
``tera_logMelBase_T_F_M_AdamW_b32_1m_960hr_drop1`` architecture: 3 layers of 768, 80-dim
log-mel input and target, sequence_length 1500.
"""
from __future__ import annotations

from speechbench.upstream.mockingjay.expert import (BASE_TRANSFORMER, LOG_MEL_AUDIO, TIME_MASKING,
                                                   MaskedReconstructionExpert)


class UpstreamExpert(MaskedReconstructionExpert):
    """TERA; same model as Mockingjay, other defaults."""

    NAME = "tera"
    DEFAULT_MODEL_CONFIG = {
        "transformer": dict(BASE_TRANSFORMER),
        "task": {"sequence_length": 1500, **TIME_MASKING, "mask_frequency": 0.2, "noise_proportion": 0.15},
        "audio": {**LOG_MEL_AUDIO, "target": {**LOG_MEL_AUDIO["input"], "channel": 1}},
    }
