"""UniSpeech-SAT (Chen et al., 2022) from the authors' checkpoints.

``-k`` takes the Base, Base+ and Large files as microsoft/UniSpeech releases them: fairseq
files of its fork (``cfg.model._name == 'unispeech_sat'``, any era, loaded without fairseq:
the globals such files pickle load as inert stubs, anything else is refused), or the same
weights in the WavLM ``{"cfg": dict, "model": state_dict}`` layout that s3prl converted
them to (no globals at all). Pretraining-only parts (``final_proj``, ``label_embs_concat``,
the speaker projection ``spk_proj``, the quantiser, ``encoder.layer_norm_for_extract``) are
dropped. Without ``-k`` a random Base model is built.

Same family as WavLM: the wav2vec 2.0 encoder, with the optional (gated) relative position
bias of the fork when the config turns it on (``relative_position_embedding``; the fork
names the gate ``gate_ur_linear``/``eco_a``, WavLM ``grep_linear``/``grep_a``). Conformer
layers and ``expand_attention_head_size`` are refused. Hidden states: the input of each
layer, then the encoder output: 13 of 768 (Base, Base+), 25 of 1024 (Large); 20 ms frames,
``T = 1 + (L - 400) // 320``. Padding: as WavLM (single-utterance frame counts, front end
per utterance), so batched features equal the authors' single-utterance output.

Options: none.
"""
from __future__ import annotations

from speechbench.upstream._modules.fairseq_checkpoint import (
    FairseqCheckpoint, fairseq_checkpoint_from, safe_load_fairseq,
)
from speechbench.upstream._modules.wavlm_checkpoint import is_wavlm_layout, wavlm_layout_checkpoint
from speechbench.upstream.wav2vec2.expert import UpstreamExpert as _Wav2Vec2Expert


class UpstreamExpert(_Wav2Vec2Expert):
    """Frozen UniSpeech-SAT encoder; see the module docstring for files and outputs."""

    family = "unispeech_sat"
    title = "UniSpeech-SAT"

    def read_checkpoint(self, path: str) -> FairseqCheckpoint:
        layout = f"{self.title} checkpoint"
        raw = safe_load_fairseq(path, layout)
        if is_wavlm_layout(raw):
            return wavlm_layout_checkpoint(str(path), raw, self.family)
        return fairseq_checkpoint_from(str(path), raw, layout)
