"""What APC, VQ-APC and NPC pretraining share: fbank targets, an L1 loss on valid frames, the layout.

The ``objective:`` config is the official checkpoint config itself (``data.audio``,
``model.paras``, ``task``), so the file we write carries exactly what the loader reads.
"""
from __future__ import annotations

import torch

from speechbench.pretrain.objective import PretrainObjective
from speechbench.upstream._modules.apc_family_expert import build_network, official_checkpoint


class FbankPredictiveObjective(PretrainObjective):
    """Holds the front end and network of ``family``; subclasses define :meth:`loss`."""

    family = ""

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = config
        self.fbank, self.model = build_network(self.family, config, where=f"{self.family} objective config")

    def official_checkpoint(self) -> dict:
        return official_checkpoint(self.config, self.model)


def vq_perplexity(logits: list[torch.Tensor], valid: torch.Tensor) -> dict[str, float]:
    """``{'vq_ppl': ...}``: codebook perplexity of the argmax codes on valid frames, mean over groups.

    A value near 1 means the codebook collapsed to one code; near the codebook size, all are used.
    """
    if not logits:
        return {}
    values = []
    for lg in logits:
        counts = torch.bincount(lg.detach().argmax(-1)[valid], minlength=lg.shape[-1]).float()
        probs = counts / counts.sum().clamp(min=1)
        values.append(torch.exp(-(probs * torch.log(probs.clamp(min=1e-10))).sum()).item())
    return {"vq_ppl": sum(values) / len(values)}


def masked_l1(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the ``valid [B, T]`` frames (and every feature dimension)."""
    weights = valid.to(pred.dtype)[..., None]
    return ((pred - target).abs() * weights).sum() / (weights.sum().clamp(min=1) * pred.shape[-1])
