"""APC (Chung et al., 2019): stacked unidirectional GRUs over 80-d fbank, 10 ms frames.

``-k apc_360hr.ckpt`` loads a released (or ``python -m speechbench.pretrain --upstream apc``)
checkpoint unchanged: ``{'config': {...}, 'model': state_dict}``. Features are the authors':
per-utterance Kaldi fbank (hamming, 25/10 ms) and CMVN. Hidden states (one per GRU layer, 3
for the released model): each layer's output, plus its input from layer 1 on (residual),
the order and values s3prl reports.

Options (without ``-k``; random weights from torch's RNG):
  ``config``: YAML with an official-layout config (``data.audio``, ``model.paras``), or a
  pretraining config (its ``objective:`` section); default: the released architecture.
  ``num_layers`` (int), ``hidden_size`` (int): override the architecture.
"""
from __future__ import annotations

from speechbench.upstream._modules.apc_family_expert import APCFamilyExpert


class UpstreamExpert(APCFamilyExpert):
    family = "apc"
