"""WavLM (Chen et al., 2022) from the authors' checkpoints.

``-k`` takes ``WavLM-Base.pt``, ``WavLM-Base+.pt`` or ``WavLM-Large.pt`` as released with
microsoft/unilm: ``{"cfg": dict, "model": state_dict}`` (plain containers and tensors only:
it loads with ``torch.load(weights_only=True)`` and no allowed globals, memory-mapped).
Without ``-k`` a random WavLM Base is built (smoke tests only).

The architecture comes from ``cfg``: the conv front end in either extractor mode (``default``:
GroupNorm on the first conv, Base/Base+; ``layer_norm``: LayerNorm in every conv, Large),
pre- or post-LN layers, and the gated relative position bias (``relative_position_embedding``,
``num_buckets``, ``max_distance``, ``gru_rel_pos``; the first layer holds the bias table and
hands its bias on). ``cfg.normalize`` (Large) normalises each waveform on its own first.

Hidden states: the input of each transformer layer, then the encoder output (final layer
norm applied for pre-LN Large), as s3prl reports them: 13 of 768 (Base, Base+), 25 of 1024
(Large). 20 ms frames (downsample 320), ``T = 1 + (L - 400) // 320``.

Padding: the authors' code marks a frame as padding only if all its samples are padding
(HuBERT's rule) and runs the GroupNorm front end over the padded batch, so their batched
output depends on the batch. We run the front end per utterance and always use the
single-utterance frame count: batched features equal the authors' single-utterance output.

Options: none.
"""
from __future__ import annotations

from speechbench.upstream._modules.fairseq_checkpoint import FairseqCheckpoint
from speechbench.upstream._modules.wavlm_checkpoint import read_wavlm_checkpoint
from speechbench.upstream.wav2vec2.expert import UpstreamExpert as _Wav2Vec2Expert, base_config
from speechbench.upstream.wav2vec2.model import EncoderConfig


def wavlm_base_config(family: str) -> EncoderConfig:
    """WavLM Base: the wav2vec 2.0 Base encoder with the gated relative position bias."""
    return EncoderConfig(**{**vars(base_config(family)), "relative_buckets": 320, "relative_max_distance": 800,
                            "gated_relative_position": True})


class UpstreamExpert(_Wav2Vec2Expert):
    """Frozen WavLM encoder; see the module docstring for files, outputs and padding."""

    family = "wavlm"
    title = "WavLM"

    def read_checkpoint(self, path: str) -> FairseqCheckpoint:
        return read_wavlm_checkpoint(path, self.family, layout=f"{self.title} checkpoint")

    def random_config(self) -> EncoderConfig:
        return wavlm_base_config(self.family)
