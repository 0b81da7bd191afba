"""VQ-APC (Chung et al., 2020): APC with Gumbel-softmax vector quantisation on the last GRU layer.

``-k vq_apc_360hr.ckpt`` loads a released (or our pretrained) checkpoint unchanged:
``{'config': {...}, 'model': state_dict}`` with ``model.paras.vq = {codebook_size: [..],
code_dim: [..], gumbel_temperature}``; the codebooks split the last layer's output into
groups. The quantised codes feed only the prediction postnet, so the hidden states (one per
GRU layer) are taken before quantisation, as s3prl serves them. Features: per-utterance
Kaldi fbank + CMVN, 10 ms frames.

Options (without ``-k``; random weights from torch's RNG):
  ``config``: YAML with an official-layout config, or a pretraining config (its
  ``objective:`` section); default: the released architecture (3 x 512, one 512-code book).
  ``num_layers``, ``hidden_size``, ``codebook_size`` (ints): override the architecture.
"""
from __future__ import annotations

from speechbench.upstream._modules.apc_family_expert import APCFamilyExpert


class UpstreamExpert(APCFamilyExpert):
    family = "vq_apc"
