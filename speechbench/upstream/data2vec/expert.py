"""data2vec audio (Baevski et al., 2022) from the authors' fairseq checkpoints.

``-k`` takes ``audio_base_ls.pt`` (Base, LibriSpeech 960 h) or ``vox_pretrained.pt`` (Large,
Libri-Light 60k h) as fairseq's ``examples/data2vec`` releases them: hydra era,
``{'args': None, 'cfg': {'model': {'_name': 'data2vec_audio', ...}, 'task': {...}}, 'model',
...}``, loaded without fairseq (the globals a fairseq file pickles load as inert stubs, see
``_modules/fairseq_checkpoint.py``; anything else is refused), or their CTC fine-tuned
versions, or s3prl's converted ``{task_cfg, model_cfg, model_weight}`` form. The EMA
teacher's weights (``model['_ema']``) and the regression head are not used. Without ``-k`` a
random Base model is built.

The encoder is wav2vec 2.0's (``upstream/wav2vec2/model.py``) with data2vec's positional
embedding: ``pos_conv_depth`` (5) convs of kernel ``max(3, conv_pos // depth)`` (19), each
followed by a LayerNorm without weights and GELU. ``task.normalize`` (set in the released
files) normalises each waveform first. Hidden states: the input of each transformer layer,
then the encoder output: 13 of 768 (Base), 25 of 1024 (Large); 20 ms frames,
``T = 1 + (L - 400) // 320``. Padding follows the conv output lengths as in fairseq, and the
front end runs per utterance, so batching changes nothing.

Options: none.
"""
from __future__ import annotations

from speechbench.upstream.wav2vec2.expert import UpstreamExpert as _Wav2Vec2Expert, base_config
from speechbench.upstream.wav2vec2.model import EncoderConfig


class UpstreamExpert(_Wav2Vec2Expert):
    """Frozen data2vec audio encoder; see the module docstring for files and outputs."""

    family = "data2vec"
    title = "data2vec audio"

    def random_config(self) -> EncoderConfig:
        """data2vec audio Base: LayerNorm front end, post-LN, 5 positional convs of kernel 19."""
        return EncoderConfig(**{**vars(base_config(self.family)), "extractor_mode": "layer_norm",
                                "conv_pos": 19, "pos_conv_depth": 5, "normalize": True})
