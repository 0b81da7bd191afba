"""The upstream template: copy this folder to add an upstream.

Contract (see ``speechbench/upstream/base.py``):

* ``UpstreamExpert(ckpt=None, **options)`` builds the model; ``ckpt`` is what the user passes
  with ``-k`` (the authors' checkpoint file). Load it with
  ``speechbench.checkpoints.load_checkpoint`` (``weights_only=True``), never plain pickle.
* ``downsample_rate``: input samples per output frame.
* ``forward(wavs)``: ``wavs`` is a list of 1-D float tensors at 16 kHz, unpadded. Return
  ``upstream_output(hidden_states, feature_lengths)``: every layer as ``[B, T, D]`` plus the
  valid frame count of each utterance. Padding must not change an utterance's features.
  Inputs too short for the model raise ``InputTooShortError`` with their batch positions
  (the runner names the utterances); a bad ``-k`` file raises ``CheckpointError``.

This example is a small random network over log-mel frames: a projection then ``num_layers``
layers, all exposed as hidden states (10 ms frames).
With ``-k FILE`` it loads ``{"config": {...}, "model": state_dict}``.

Options: ``hidden_size`` (int, default 64), ``num_layers`` (int, default 2).
"""
from __future__ import annotations

import torch
import torchaudio
from torch import nn

from speechbench.checkpoints import load_checkpoint
from speechbench.checkpoints.safe_load import check_state_dict
from speechbench.contracts import SAMPLE_RATE
from speechbench.errors import CheckpointError, InputTooShortError, OptionError
from speechbench.upstream.base import UpstreamBase, upstream_output

N_MELS = 40
N_FFT = 400


class UpstreamExpert(UpstreamBase):
    downsample_rate = 160

    def __init__(self, ckpt: str | None = None, hidden_size: int | str = 64, num_layers: int | str = 2,
                 **unused: object) -> None:
        super().__init__()
        if unused:
            raise OptionError(f"example upstream: unknown options {sorted(unused)}; known: hidden_size, num_layers")
        state = None
        if ckpt:
            file = load_checkpoint(ckpt, layout="example upstream checkpoint")
            if not isinstance(file, dict) or not {"config", "model"} <= set(file):
                raise CheckpointError(f"{ckpt}: an example upstream checkpoint is a dict with 'config' and 'model' "
                                      f"(what UpstreamExpert.checkpoint() returns)")
            hidden_size, num_layers = file["config"]["hidden_size"], file["config"]["num_layers"]
            state = file["model"]
        self.config = {"hidden_size": int(hidden_size), "num_layers": int(num_layers)}
        self.mel = torchaudio.transforms.MelSpectrogram(SAMPLE_RATE, n_fft=N_FFT, hop_length=160, n_mels=N_MELS)
        hidden = self.config["hidden_size"]
        self.input_proj = nn.Linear(N_MELS, hidden)
        self.layers = nn.ModuleList(nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh())
                                    for _ in range(self.config["num_layers"]))
        if state is not None:
            check_state_dict(self, state, f"example checkpoint {ckpt}")

    def forward(self, wavs: list[torch.Tensor]) -> dict:
        short = [i for i, w in enumerate(wavs) if len(w) <= N_FFT // 2]
        if short:
            raise InputTooShortError(f"example upstream: wav(s) {short} are shorter than {N_FFT // 2 + 1} samples, "
                                     f"which the STFT's reflect padding needs", short)
        # Per utterance, so the STFT's centre padding never sees another utterance's zeros.
        feats = [torch.log(self.mel(w) + 1e-6).transpose(0, 1) for w in wavs]
        lengths = torch.tensor([len(f) for f in feats], device=feats[0].device)
        x = nn.utils.rnn.pad_sequence(feats, batch_first=True)
        hidden = [self.input_proj(x)]
        for layer in self.layers:
            hidden.append(layer(hidden[-1]))
        return upstream_output(hidden, lengths)

    def checkpoint(self) -> dict:
        """This model in its own checkpoint layout (what ``-k`` loads)."""
        return {"config": dict(self.config), "model": self.state_dict()}
