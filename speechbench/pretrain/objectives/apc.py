"""APC pretraining: predict the fbank frame ``n_future`` steps ahead, L1 loss (Chung et al., 2019).

``n_future`` is ``task.n_future`` of the config (5 in the released model). The target is the
same normalised fbank the network reads; only positions whose future frame lies inside the
utterance count.
"""
from __future__ import annotations

import torch

from speechbench.errors import ConfigError, DataError
from speechbench.pretrain.objectives._fbank_predictive import FbankPredictiveObjective, masked_l1, vq_perplexity
from speechbench.upstream.base import frame_mask


class APCObjective(FbankPredictiveObjective):
    family = "apc"

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        self.n_future = int((config.get("task") or {}).get("n_future", 5))
        if self.n_future < 1:
            raise ConfigError(f"{self.family} objective config: task.n_future must be >= 1, got {self.n_future}")

    def loss(self, wavs: list[torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        feats, lengths = self.fbank(wavs)
        n = self.n_future
        if feats.shape[1] <= n:
            raise DataError(f"batch of {feats.shape[1]} frames: APC with n_future={n} needs longer utterances")
        pred, logits = self.model.predict(self.model(feats, lengths)[-1])
        valid = frame_mask(lengths - n, feats.shape[1] - n)
        stats = vq_perplexity(logits, frame_mask(lengths, feats.shape[1]))
        return masked_l1(pred[:, :-n], feats[:, n:], valid), stats


def build_objective(config: dict) -> APCObjective:
    return APCObjective(config)
