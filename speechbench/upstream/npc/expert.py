"""NPC (Liu et al., 2021): convolution blocks with masked-centre convolutions, 10 ms frames.

``-k npc_360hr.ckpt`` loads a released (or our pretrained) checkpoint unchanged:
``{'config': {...}, 'model': state_dict}`` (``masked_convs.{i}.conv_mask`` is stored in the
file). Features: per-utterance Kaldi fbank + CMVN. Hidden states (9 for the released
4-block model), in s3prl's order: block 0, masked conv 0, block 1, masked conv 1, ...,
then the sum of the masked convs (the representation before VQ). Unlike the reference,
an utterance's features do not change with the padding of its batch: padded frames are
zeroed after every block.

Options (without ``-k``; random weights from torch's RNG):
  ``config``: YAML with an official-layout config, or a pretraining config (its
  ``objective:`` section); default: the released architecture.
  ``n_blocks``, ``hidden_size``, ``kernel_size``, ``mask_size`` (ints): override it.
"""
from __future__ import annotations

from speechbench.upstream._modules.apc_family_expert import APCFamilyExpert


class UpstreamExpert(APCFamilyExpert):
    family = "npc"
