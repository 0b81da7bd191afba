"""VQ-APC pretraining: the APC loss, predicted through the Gumbel-softmax codebooks of the last layer."""
from __future__ import annotations

from speechbench.pretrain.objectives.apc import APCObjective


class VQAPCObjective(APCObjective):
    family = "vq_apc"


def build_objective(config: dict) -> VQAPCObjective:
    return VQAPCObjective(config)
