"""Audio ALBERT (Chi et al., 2021): Mockingjay's transformer with one layer shared by every depth.

The architecture and feature extraction are Mockingjay's (see
:mod:`speechbench.upstream.mockingjay.expert` for the checkpoint layouts, features,
departures from s3prl and the options); ``share_layer: True`` makes every
``encoder.layer.{i}`` the same module, so a file stores the same tensors under each index
(checked on load). Without ``-k`` the default follows the released
``audio_albert_logMelBase_T_share_AdamW_b32_1m_960hr_drop1``: a 768-wide layer applied 3
times (as in s3prl's Audio ALBERT pretraining config), 80-dim log-mel, sequence_length 1500;
the released file's own config decides when ``-k`` is given.
"""
from __future__ import annotations

from speechbench.upstream.mockingjay.expert import (BASE_TRANSFORMER, LOG_MEL_AUDIO, TIME_MASKING,
                                                   MaskedReconstructionExpert)


class UpstreamExpert(MaskedReconstructionExpert):
    """Audio ALBERT; Mockingjay with cross-layer parameter sharing."""

    NAME = "audio_albert"
    DEFAULT_MODEL_CONFIG = {
        "transformer": {**BASE_TRANSFORMER, "share_layer": True},
        "task": {"sequence_length": 1500, **TIME_MASKING},
        "audio": {**LOG_MEL_AUDIO, "target": {**LOG_MEL_AUDIO["input"], "channel": 1}},
    }
