"""NPC pretraining: reconstruct each fbank frame from its context with the centre masked, L1 loss.

The masked convolutions never see the target frame (nor its ``mask_size`` neighbourhood),
and the prediction goes through the VQ codebooks. Each batch is cut to its shortest
utterance (a random window of each longer one), so BatchNorm's batch statistics never
include padding.
"""
from __future__ import annotations

import torch

from speechbench.pretrain.objectives._fbank_predictive import FbankPredictiveObjective, masked_l1, vq_perplexity
from speechbench.upstream.base import frame_mask


class NPCObjective(FbankPredictiveObjective):
    family = "npc"

    def loss(self, wavs: list[torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        size = min(len(w) for w in wavs)
        starts = [int(torch.randint(0, len(w) - size + 1, (1,))) for w in wavs]
        feats, lengths = self.fbank([w[s:s + size] for w, s in zip(wavs, starts)])
        pred, logits = self.model.predict(self.model(feats, lengths)[-1])
        valid = frame_mask(lengths, feats.shape[1])
        return masked_l1(pred, feats, valid), vq_perplexity(logits, valid)


def build_objective(config: dict) -> NPCObjective:
    return NPCObjective(config)
