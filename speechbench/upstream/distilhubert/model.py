"""DistilHuBERT's student: the wav2vec 2.0 encoder parts plus its layer-prediction heads.

The s3prl distiller (``DistillerModel``) differs from the wav2vec 2.0 encoder in two places:
no LayerNorm on the conv features before ``post_extract_proj``, and an output head that
predicts ``n_tasks`` teacher layers from the last hidden state: ``Linear(D, inter * N) ->
GELU -> SplitLinear`` (one ``inter x final`` matrix per task, stored as ``[N, inter, final]``
with a ``[1, 1, N, final]`` bias).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from speechbench.checkpoints.safe_load import CheckpointError


class PredictionHeads(nn.Module):
    """``[B, T, D] -> N x [B, T, final]``: the distiller's ``output_layer`` (expand-last)."""

    def __init__(self, dim: int, inter_dim: int, tasks: int, final_dim: int) -> None:
        super().__init__()
        self.tasks, self.inter_dim = tasks, inter_dim
        self.expand = nn.Linear(dim, inter_dim * tasks)
        self.weight = nn.Parameter(torch.empty(tasks, inter_dim, final_dim).uniform_(-inter_dim ** -0.5,
                                                                                     inter_dim ** -0.5))
        self.bias = nn.Parameter(torch.zeros(1, 1, tasks, final_dim))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = F.gelu(self.expand(x)).view(*x.shape[:2], self.tasks, self.inter_dim)
        out = torch.einsum("btni,nio->btno", h, self.weight) + self.bias
        return list(out.unbind(2))


def heads_state_dict(state: dict[str, torch.Tensor], path: str) -> dict[str, torch.Tensor]:
    """The file's ``output_layer.*`` tensors under :class:`PredictionHeads` names.

    With one task s3prl's ``SplitLinear`` is a plain ``Linear`` (``output_layer.2.layer``).
    """
    out = {}
    for key, value in state.items():
        if key.startswith("output_layer.0."):
            out["expand." + key.removeprefix("output_layer.0.")] = value
        elif key in ("output_layer.2.weight", "output_layer.2.bias"):
            out[key.removeprefix("output_layer.2.")] = value
        elif key == "output_layer.2.layer.weight":
            out["weight"] = value.t()[None]
        elif key == "output_layer.2.layer.bias":
            out["bias"] = value[None, None, None]
        elif key.startswith("output_layer."):
            raise CheckpointError(f"{path}: unexpected prediction-head key '{key}'")
    return out
