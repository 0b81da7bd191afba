"""wav2vec 2.0 (Baevski et al., 2020) from the authors' fairseq checkpoints.

``-k`` takes any released file: Base, Large, LV-60 (pretrained or CTC fine-tuned; the CTC
head is dropped), of either fairseq era (argparse ``args`` with legacy serialization, or
hydra ``cfg``), or the pickle-free converted ``{task_cfg, model_cfg, model_weight}`` form
(s3prl's, or ours from ``tools/convert_checkpoint.py``). Nothing in the file is imported or
run. Without ``-k`` a randomly initialised Base model is built (smoke tests only).

The architecture (``extractor_mode`` default/layer_norm, pre/post-LN, sizes) and
``task.normalize`` (per-utterance waveform normalisation, the LV-60 files) come from the
file. Hidden states: the input of each transformer layer, then the encoder output (final
layer norm applied for pre-LN models): 13 for Base, 25 for Large. 20 ms frames
(downsample 320), ``T = 1 + (L - 400) // 320``; inputs shorter than 400 samples are refused.

Batching never changes an utterance's features: the conv extractor (whose ``default``
GroupNorm spans time) runs per utterance and padded frames are masked in the transformer.
fairseq/s3prl normalise over the padded batch, so their batched outputs differ slightly;
ours equal their single-utterance outputs.

Options: none.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from speechbench.checkpoints import CheckpointError
from speechbench.errors import OptionError
from speechbench.upstream._modules.fairseq_checkpoint import FairseqCheckpoint, read_fairseq_checkpoint
from speechbench.upstream.base import UpstreamBase, upstream_output
from speechbench.upstream.wav2vec2.model import (
    DEFAULT_CONV_LAYERS, EncoderConfig, check_inputs, extract_hidden_states, load_encoder, new_encoder,
    parse_conv_layers,
)


def base_config(family: str) -> EncoderConfig:
    """The Base architecture (what is built without a checkpoint)."""
    return EncoderConfig(
        family=family, finetuned=False, extractor_mode="default",
        conv_layers=tuple(parse_conv_layers(DEFAULT_CONV_LAYERS)), conv_bias=False,
        encoder_embed_dim=768, encoder_layers=12, encoder_attention_heads=12, encoder_ffn_embed_dim=3072,
        layer_norm_first=False, conv_pos=128, conv_pos_groups=16, normalize=False)


class UpstreamExpert(UpstreamBase):
    """Frozen wav2vec 2.0 encoder; see the module docstring for files, outputs and options."""

    family = "wav2vec2"
    title = "wav2vec 2.0"

    def __init__(self, ckpt: str | None = None, **unused: object) -> None:
        super().__init__()
        if unused:
            raise OptionError(f"{self.family} upstream: unknown options {sorted(unused)}; it takes none")
        if ckpt:
            self.model, self.config = load_encoder(self.read_checkpoint(ckpt))
            if self.config.family != self.family:
                raise CheckpointError(f"{ckpt}: this is a {self.config.family} checkpoint; "
                                      f"use -u {self.config.family} instead of -u {self.family}")
        else:
            self.config = self.random_config()
            self.model = new_encoder(self.config)
        self.model.requires_grad_(False)
        self.downsample_rate = self.config.downsample_rate

    def read_checkpoint(self, path: str) -> FairseqCheckpoint:
        """The file in plain form; subclasses for other layouts override this."""
        return read_fairseq_checkpoint(path, layout=f"{self.title} checkpoint")

    def random_config(self) -> EncoderConfig:
        """The architecture built without ``-k`` (the Base model)."""
        return base_config(self.family)

    def forward(self, wavs: list[torch.Tensor]) -> dict:
        check_inputs(wavs, self.config, self.family)
        if self.config.normalize:
            wavs = [F.layer_norm(w, w.shape) for w in wavs]
        hidden, frames = extract_hidden_states(self.model, wavs)
        return upstream_output(hidden, frames)
