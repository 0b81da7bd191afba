"""Kaldi log-mel filterbanks with per-utterance CMVN: the front end of APC, VQ-APC and NPC.

The authors (and s3prl) compute, for each utterance on its own,
``torchaudio.compliance.kaldi.fbank(wav[None], num_mel_bins, sample_frequency=16000,
window_type='hamming', **rest)`` where ``rest`` are the remaining keys of the checkpoint's
``config['data']['audio']`` (``frame_length``, ``frame_shift`` in ms), then normalise each
mel bin over time: ``(x - mean) / (1e-10 + std)`` with the unbiased std. Utterances are
zero-padded only afterwards, so batching cannot change an utterance's features.
"""
from __future__ import annotations

import inspect

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from torchaudio.compliance import kaldi

from speechbench.contracts import SAMPLE_RATE
from speechbench.errors import ConfigError, InputTooShortError

WINDOW_TYPE = "hamming"
CMVN_EPS = 1e-10

# Keys of config['data']['audio'] that the authors' code interprets itself.
_OWN_KEYS = {"feat_type", "feat_dim", "decode_wav", "cmvn"}
# kaldi.fbank arguments fixed by the authors' code (a config cannot override them).
_FIXED = {"waveform", "num_mel_bins", "sample_frequency", "window_type"}
_FBANK_KWARGS = set(inspect.signature(kaldi.fbank).parameters) - _FIXED


def utterance_cmvn(feats: torch.Tensor) -> torch.Tensor:
    """``[T, D]`` -> zero mean, unit (unbiased) std per dimension over time."""
    return (feats - feats.mean(0, keepdim=True)) / (CMVN_EPS + feats.std(0, keepdim=True))


class KaldiFbank(nn.Module):
    """Waveforms -> padded ``[B, T, D]`` fbank features and frame counts.

    Built from the ``config['data']['audio']`` dict of an APC/VQ-APC/NPC checkpoint, e.g.
    ``{feat_type: fbank, feat_dim: 80, frame_length: 25, frame_shift: 10, decode_wav: False,
    cmvn: True}``. ``where`` names the config in error messages.
    """

    def __init__(self, audio_config: dict, where: str = "config['data']['audio']") -> None:
        super().__init__()
        feat_type = audio_config.get("feat_type", "fbank")
        if feat_type != "fbank":
            raise ConfigError(f"{where}: feat_type '{feat_type}' is not supported; the authors' code "
                             f"(and s3prl) only implement 'fbank'")
        if "feat_dim" not in audio_config:
            raise ConfigError(f"{where}: missing 'feat_dim' (number of mel bins, 80 in the released files)")
        unknown = sorted(set(audio_config) - _OWN_KEYS - _FBANK_KWARGS)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; besides "
                             f"{', '.join(sorted(_OWN_KEYS))} only torchaudio.compliance.kaldi.fbank "
                             f"arguments are allowed ({', '.join(sorted(_FBANK_KWARGS))})")
        self.feat_dim = int(audio_config["feat_dim"])
        self.apply_cmvn = bool(audio_config.get("cmvn", True))
        self.fbank_kwargs = {k: v for k, v in audio_config.items() if k in _FBANK_KWARGS}
        frame_length = float(self.fbank_kwargs.get("frame_length", 25.0))
        frame_shift = float(self.fbank_kwargs.get("frame_shift", 10.0))
        self.window_samples = int(SAMPLE_RATE * frame_length / 1000)
        self.hop_samples = int(SAMPLE_RATE * frame_shift / 1000)
        # Two frames at least: the unbiased std of a single frame is undefined.
        self.min_samples = self.window_samples + self.hop_samples

    def one(self, wav: torch.Tensor) -> torch.Tensor:
        """Features ``[T, D]`` of one 1-D waveform in [-1, 1] at 16 kHz."""
        feats = kaldi.fbank(wav[None], num_mel_bins=self.feat_dim, sample_frequency=SAMPLE_RATE,
                            window_type=WINDOW_TYPE, **self.fbank_kwargs)
        return utterance_cmvn(feats) if self.apply_cmvn else feats

    def forward(self, wavs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded features ``[B, T, D]`` (zeros past each end) and frame counts ``[B]``."""
        if not wavs:
            raise ValueError("upstream got an empty batch")
        for i, wav in enumerate(wavs):
            if wav.dim() != 1:
                raise ValueError(f"wav {i} has shape {tuple(wav.shape)}; upstreams take 1-D mono waveforms")
            if len(wav) < self.min_samples:
                raise InputTooShortError(f"wav {i} has {len(wav)} samples; this fbank front end needs at least "
                                         f"{self.min_samples} ({1000 * self.min_samples / SAMPLE_RATE:.0f} ms at "
                                         f"16 kHz) to give two frames for per-utterance normalisation", [i])
        feats = [self.one(w) for w in wavs]
        lengths = torch.tensor([len(f) for f in feats], dtype=torch.long, device=feats[0].device)
        return pad_sequence(feats, batch_first=True), lengths
