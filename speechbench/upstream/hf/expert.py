"""Any local Hugging Face wav2vec 2.0-family model directory: ``-u hf -k DIR``.

``-k`` takes the directory ``save_pretrained`` wrote (``config.json`` plus
``model.safetensors`` or ``pytorch_model.bin``) or that weights file itself (``config.json``
must sit next to it). Model types: ``wav2vec2``, ``hubert`` (with or without
``feat_proj_layer_norm``: DistilHuBERT's HF port has none), ``wavlm``, ``data2vec-audio``;
base models and task models (``...ForCTC``, ``...ForPreTraining``: heads dropped). The
architecture is built from our own modules (``upstream/wav2vec2/model.py``, the same code
as the authors' layouts) and filled through a key map; ``transformers`` is not needed.
``.safetensors`` files are read with the ``safetensors`` package (no pickle at all),
``.bin`` with the project's safe loader. Sharded weights are refused with a hint.

Hidden states, as ``transformers``' ``output_hidden_states=True``: the input of each layer,
then the encoder output (``num_hidden_layers + 1``). For pre-LN ("stable layer norm")
models our last one is the encoder output with the final LayerNorm applied (the others are
not normed): transformers' ``last_hidden_state``, and what transformers 4.x, s3prl and our
authors'-file upstreams put last. (transformers 5 puts the last layer's raw output in
``hidden_states[-1]``; ours differs from that entry only.) Frames: from the conv
specs (20 ms, ``T = 1 + (L - 400) // 320`` for the usual specs).

Padding. transformers masks padded frames from the conv output lengths when given an
``attention_mask``. Ours is better defined in three places, and equals transformers'
single-utterance output in all of them:

* ``feat_extract_norm="group"`` models (wav2vec2/HuBERT/WavLM Base): transformers' GroupNorm
  normalises over the padded time axis, so a padded utterance's features change (and its
  docs advise no attention mask for them, which lets padded frames into attention); we run
  the front end per utterance and always mask;
* ``data2vec-audio``: its stacked positional convs see the earlier convs' output on padded
  frames; we zero padding between them;
* padded frames of every hidden state are zero in ours, arbitrary in transformers'.

Option ``normalize`` (true/false): per-utterance zero-mean unit-variance waveform
normalisation as transformers' feature extractor does it (variance + 1e-7). Default: the
directory's ``preprocessor_config.json`` ``do_normalize``, false when there is none.
"""
from __future__ import annotations

import torch

from speechbench.errors import OptionError
from speechbench.upstream.base import UpstreamBase, upstream_output
from speechbench.upstream.hf import directory
from speechbench.upstream.wav2vec2.expert import base_config
from speechbench.upstream.wav2vec2.model import check_inputs, extract_hidden_states, load_weights, new_encoder


def normalize_wave(wav: torch.Tensor) -> torch.Tensor:
    """transformers' ``zero_mean_unit_var_norm`` for one unpadded waveform."""
    return (wav - wav.mean()) / torch.sqrt(wav.var(unbiased=False) + 1e-7)


class UpstreamExpert(UpstreamBase):
    """Frozen encoder of a Hugging Face directory; see the module docstring."""

    def __init__(self, ckpt: str | None = None, normalize: bool | str | None = None, **unused: object) -> None:
        super().__init__()
        if unused:
            raise OptionError(f"hf upstream: unknown options {sorted(unused)}; known: normalize")
        if normalize is not None and str(normalize).lower() not in ("true", "false", "1", "0"):
            raise OptionError(f"hf upstream: normalize must be true or false, not '{normalize}'")
        if ckpt:
            found = directory.locate(ckpt)
            self.model_type, self.config = directory.encoder_config(found.config_path)
            state = directory.torchaudio_state_dict(directory.read_weights(found.weights_path), self.model_type)
            self.model = load_weights(self.config, state, f"{found.weights_path} ({self.model_type} weights)")
            default = bool(found.normalize)
        else:  # a random wav2vec 2.0 Base (smoke tests only)
            self.model_type, self.config = "wav2vec2", base_config("hf")
            self.model, default = new_encoder(self.config), False
        self.normalize = default if normalize is None else str(normalize).lower() in ("true", "1")
        self.model.requires_grad_(False)
        self.downsample_rate = self.config.downsample_rate

    def forward(self, wavs: list[torch.Tensor]) -> dict:
        check_inputs(wavs, self.config, f"hf ({self.model_type})")
        if self.normalize:
            wavs = [normalize_wave(w) for w in wavs]
        hidden, frames = extract_hidden_states(self.model, wavs)
        return upstream_output(hidden, frames)
