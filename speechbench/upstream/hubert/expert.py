"""HuBERT (Hsu et al., 2021) from the authors' fairseq checkpoints.

``-k`` takes ``hubert_base_ls960.pt``, ``hubert_large_ll60k.pt``, ``hubert_xtralarge_ll60k.pt``
(or their CTC fine-tuned versions; the head is dropped), hydra or argparse era, or the
pickle-free converted ``{task_cfg, model_cfg, model_weight, dictionaries_symbols}`` form.
The ``fairseq.data.dictionary.Dictionary`` objects pickled in ``task_state`` load as inert
stubs; only their symbols are kept. Without ``-k`` a random Base model is built.

The encoder is the wav2vec 2.0 one (shared code in ``upstream/wav2vec2/model.py``): hidden
states are the input of each transformer layer, then the encoder output (13 Base, 25 Large),
20 ms frames (downsample 320), ``T = 1 + (L - 400) // 320``.

Padding: fairseq's HuBERT marks a frame as padding only if *all* the samples it is cut from
(``padded_length // T`` of them) are padding, so in a padded batch a short utterance keeps
one or two frames that partly cover padding and sees them in attention. That depends on the
batch. Run alone, no frame is padding and the utterance has exactly ``1 + (L - 400) // 320``
frames: we use that count in every batch, so batched features equal the single-utterance
output of fairseq/s3prl (the fidelity target), not their batched output.

Options: none.
"""
from __future__ import annotations

from speechbench.upstream.wav2vec2.expert import UpstreamExpert as _Wav2Vec2Expert


class UpstreamExpert(_Wav2Vec2Expert):
    """Frozen HuBERT encoder; see the module docstring for files, outputs and padding."""

    family = "hubert"
    title = "HuBERT"
