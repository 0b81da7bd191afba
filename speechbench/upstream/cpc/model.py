"""Modified CPC (Rivière et al., 2020; CPC_audio ``cpc/model.py``) without CPC_audio.

Parameter names follow CPC_audio's ``CPCModel``: ``gEncoder.conv{0..4}``,
``gEncoder.batchNorm{0..4}`` (ChannelNorm in the default ``layerNorm`` mode) and
``gAR.baseNet`` (the recurrent context network), so released files load strictly.

Batching: the encoder zeroes frames past each utterance's end after every layer, so the next
conv's right padding sees the zeros it would see on the utterance alone; ChannelNorm is per
frame and the recurrent net is causal. Features are therefore independent of the batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from speechbench import errors

# CPC_audio's argparse defaults for the fields that shape the network.
DEFAULTS: dict = {"hiddenEncoder": 256, "hiddenGar": 256, "arMode": "LSTM", "nLevelsGRU": 1,
                  "normMode": "layerNorm", "encoder_type": "cpc", "cpc_mode": None,
                  "samplingType": "samespeaker", "nPredicts": 12, "negativeSamplingExt": 128,
                  "rnnMode": "transformer", "sizeWindow": 20480}
CONV_LAYERS = ((10, 5, 3), (8, 4, 2), (4, 2, 1), (4, 2, 1), (4, 2, 1))  # kernel, stride, padding


class ConfigError(errors.ConfigError):
    """A CPC config we cannot build a network from."""


@dataclass
class CPCConfig:
    """The CPC_audio fields that shape the feature network."""

    hidden_encoder: int = 256
    hidden_gar: int = 256
    ar_mode: str = "LSTM"
    n_levels: int = 1
    norm_mode: str = "layerNorm"

    @classmethod
    def from_cpc_audio(cls, raw: dict) -> "CPCConfig":
        """Merge a CPC_audio config dict over its defaults; refuse variants we do not build."""
        c = {**DEFAULTS, **{k: v for k, v in raw.items() if v is not None}}
        if c["encoder_type"] != "cpc":
            raise ConfigError(f"encoder_type={c['encoder_type']!r}: only the convolutional 'cpc' encoder is supported")
        if c["cpc_mode"] == "reverse":
            raise ConfigError("cpc_mode='reverse' (a right-to-left context network) is not supported")
        if c["arMode"] not in ("LSTM", "GRU", "RNN", "no_ar"):
            raise ConfigError(f"arMode={c['arMode']!r}: supported are LSTM, GRU, RNN and no_ar")
        if c["normMode"] not in ("layerNorm", "batchNorm", "ID"):
            raise ConfigError(f"normMode={c['normMode']!r}: supported are layerNorm (ChannelNorm), batchNorm "
                              "and ID (instanceNorm spans time and is not supported)")
        return cls(int(c["hiddenEncoder"]), int(c["hiddenGar"]), str(c["arMode"]), int(c["nLevelsGRU"]),
                   str(c["normMode"]))

    def to_cpc_audio(self) -> dict:
        """Back to CPC_audio's field names (a released file's ``config``)."""
        return {**DEFAULTS, "hiddenEncoder": self.hidden_encoder, "hiddenGar": self.hidden_gar,
                "arMode": self.ar_mode, "nLevelsGRU": self.n_levels, "normMode": self.norm_mode}


class ChannelNorm(nn.Module):
    """Per-frame normalisation over channels (unbiased variance, eps 1e-5), affine."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, channels, 1))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, keepdim=True)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


def _norm(mode: str, channels: int) -> nn.Module:
    if mode == "layerNorm":
        return ChannelNorm(channels)
    if mode == "batchNorm":
        return nn.BatchNorm1d(channels)
    return nn.Identity()


class CPCEncoder(nn.Module):
    """Five strided convs, each followed by a norm and ReLU: 160 samples per frame."""

    def __init__(self, hidden: int, norm_mode: str) -> None:
        super().__init__()
        for i, (k, stride, pad) in enumerate(CONV_LAYERS):
            setattr(self, f"conv{i}", nn.Conv1d(1 if i == 0 else hidden, hidden, k, stride=stride, padding=pad))
            setattr(self, f"batchNorm{i}", _norm(norm_mode, hidden))

    @staticmethod
    def frame_counts(lengths: torch.Tensor) -> torch.Tensor:
        """Valid output frames for inputs of ``lengths`` samples (``L // 160``)."""
        for k, stride, pad in CONV_LAYERS:
            lengths = torch.div(lengths + 2 * pad - k, stride, rounding_mode="floor") + 1
        return lengths

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, L]`` zero-padded samples -> ``[B, T, hidden]`` and valid frame counts."""
        x = wav.unsqueeze(1)
        for i, (k, stride, pad) in enumerate(CONV_LAYERS):
            x = F.relu(getattr(self, f"batchNorm{i}")(getattr(self, f"conv{i}")(x)))
            lengths = torch.div(lengths + 2 * pad - k, stride, rounding_mode="floor") + 1
            x = x * (torch.arange(x.shape[-1], device=x.device)[None, :] < lengths[:, None]).unsqueeze(1)
        return x.transpose(1, 2), lengths


class CPCAR(nn.Module):
    """The context network: a causal recurrent net over encoder frames (``baseNet``)."""

    def __init__(self, cfg: CPCConfig) -> None:
        super().__init__()
        rnn = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}[cfg.ar_mode]
        self.baseNet = rnn(cfg.hidden_encoder, cfg.hidden_gar, num_layers=cfg.n_levels, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.baseNet(x)[0]


class CPCModel(nn.Module):
    """Encoder + context network; returns ``(encoded, context, frame counts)``."""

    def __init__(self, cfg: CPCConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.gEncoder = CPCEncoder(cfg.hidden_encoder, cfg.norm_mode)
        self.gAR = CPCAR(cfg) if cfg.ar_mode != "no_ar" else nn.Identity()

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        encoded, frames = self.gEncoder(wav, lengths)
        return encoded, self.gAR(encoded), frames
