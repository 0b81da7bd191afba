"""PASE+ encoder (Ravanelli et al., 2020; santi-pdp/pase ``WaveFe``) without the pase package.

Built from the authors' JSON ``.cfg`` (the keyword arguments of ``WaveFe``); parameter names
match ``FE_e199.ckpt``: ``blocks.{i}.conv`` (block 0 a SincNet layer: ``low_hz_``,
``band_hz_``), ``blocks.{i}.norm`` (BatchNorm1d), ``blocks.{i}.act`` (PReLU),
``denseskips.{i}`` (1x1 convs to ``emb_dim``), ``rnn`` (QRNN ``layers.0.linear`` or a
bidirectional LSTM/GRU), ``W`` (1x1 conv) and ``norm_out`` (BatchNorm1d without affine).

Each block reflect-pads its input ('SAME' padding) and the skip down-sampling factor depends
on the utterance length, so :meth:`PaseEncoder.forward` takes one utterance at a time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from speechbench import errors
from speechbench.upstream._modules.qrnn import QRNN
from speechbench.upstream._modules.sincnet import SincConv


class ConfigError(errors.ConfigError):
    """A PASE config we cannot build."""


@dataclass
class PaseConfig:
    """``WaveFe`` keyword arguments (defaults are pase's); see :meth:`from_json`."""

    kwidths: list = field(default_factory=lambda: [251, 10, 5, 5, 5, 5, 5, 5])
    strides: list = field(default_factory=lambda: [1, 10, 2, 1, 2, 1, 2, 2])
    dilations: list = field(default_factory=lambda: [1] * 8)
    fmaps: list = field(default_factory=lambda: [64, 64, 128, 128, 256, 256, 512, 512])
    norm_type: str | None = "bnorm"
    pad_mode: str = "reflect"
    sr: int = 16000
    emb_dim: int = 256
    rnn_pool: bool = False
    rnn_layers: int = 1
    rnn_type: str = "qrnn"
    norm_out: bool = False
    tanh_out: bool = False
    denseskips: bool = False
    densemerge: str = "sum"
    sincnet: bool = True

    # Keys pase accepts that must keep their default for the networks we build.
    FIXED = {"num_inputs": 1, "activation": None, "vq_K": None, "resblocks": False, "name": "WaveFe"}
    IGNORED = ("rnn_dropout", "vq_beta", "vq_gamma")  # training-only

    @classmethod
    def from_json(cls, raw: dict, where: str = "PASE config") -> "PaseConfig":
        """Validate the JSON dict of a PASE ``.cfg`` file; unknown or unsupported keys are errors."""
        own = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - own - set(cls.FIXED) - set(cls.IGNORED))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; a WaveFe config has "
                              f"{sorted(own | set(cls.FIXED) | set(cls.IGNORED))}")
        for key, fixed in cls.FIXED.items():
            value = raw.get(key, fixed)
            if value != fixed and not (key == "activation" and value == "prelu") and not (key == "vq_K" and value == 0):
                raise ConfigError(f"{where}: {key}={value!r} is not supported (only {fixed!r})")
        cfg = cls(**{k: v for k, v in raw.items() if k in own})
        n = len(cfg.kwidths)
        if not (len(cfg.strides) == len(cfg.fmaps) == len(cfg.dilations) == n):
            if "dilations" not in raw and len(cfg.strides) == len(cfg.fmaps) == n:
                cfg.dilations = [1] * n
            else:
                raise ConfigError(f"{where}: kwidths, strides, fmaps (and dilations) must have equal lengths")
        if cfg.norm_type not in ("bnorm", None):
            raise ConfigError(f"{where}: norm_type={cfg.norm_type!r}; supported are 'bnorm' and null")
        if cfg.rnn_type.lower() not in ("qrnn", "lstm", "gru"):
            raise ConfigError(f"{where}: rnn_type={cfg.rnn_type!r}; expected qrnn, lstm or gru")
        if cfg.densemerge != "sum":
            raise ConfigError(f"{where}: densemerge={cfg.densemerge!r}; only 'sum' is supported")
        if cfg.emb_dim % 2:
            raise ConfigError(f"{where}: emb_dim must be even (the RNN has emb_dim // 2 units per direction)")
        return cfg


class FeBlock(nn.Module):
    """'SAME'-padded conv (SincNet on block 0) -> BatchNorm -> PReLU."""

    def __init__(self, cfg: PaseConfig, i: int, in_dim: int) -> None:
        super().__init__()
        k, stride, dilation, fmaps = cfg.kwidths[i], cfg.strides[i], cfg.dilations[i], cfg.fmaps[i]
        self.sincnet = cfg.sincnet and i == 0
        if self.sincnet:
            self.conv = SincConv(fmaps, k, stride=stride, sample_rate=cfg.sr, pad_mode=cfg.pad_mode)
            self.pad = (0, 0)
        else:
            self.conv = nn.Conv1d(in_dim, fmaps, k, stride, dilation=dilation)
            if k <= 1:
                self.pad = (0, 0)
            elif stride > 1 or k % 2 == 0:
                if dilation > 1:
                    raise ConfigError(f"block {i}: pase cannot combine dilation with stride > 1 or an even kernel")
                self.pad = (k // 2 - 1, k // 2)
            else:
                p = (k // 2) * dilation
                self.pad = (p, p)
        if cfg.norm_type == "bnorm":
            self.norm = nn.BatchNorm1d(fmaps)
        self.act = nn.PReLU(fmaps, init=0)
        self.pad_mode = cfg.pad_mode

    def padding(self) -> tuple[int, int]:
        """Samples added left and right of the input."""
        return self.conv.pad_sizes() if self.sincnet else self.pad

    def out_length(self, t: int) -> int:
        """Output frames for ``t`` input frames."""
        left, right = self.padding()
        if self.sincnet:
            return (t + left + right - self.conv.kernel_size) // self.conv.stride + 1
        conv = self.conv
        return (t + left + right - conv.dilation[0] * (conv.kernel_size[0] - 1) - 1) // conv.stride[0] + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if max(self.padding()) >= x.shape[-1] and self.pad_mode == "reflect":
            raise ValueError(f"input of {x.shape[-1]} frames is too short for a reflect padding of {self.padding()}")
        if not self.sincnet and self.pad != (0, 0):
            x = F.pad(x, self.pad, mode=self.pad_mode)
        h = self.conv(x)
        if hasattr(self, "norm"):
            h = self.norm(h)
        return self.act(h)


class PaseEncoder(nn.Module):
    """``WaveFe``: conv blocks, dense skips into the embedding, RNN pooling, projection ``W``."""

    def __init__(self, cfg: PaseConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.blocks = nn.ModuleList()
        n = len(cfg.kwidths)
        if cfg.denseskips:
            self.denseskips = nn.ModuleList()
        in_dim = 1
        for i in range(n):
            self.blocks.append(FeBlock(cfg, i, in_dim))
            if cfg.denseskips and i < n - 1:
                self.denseskips.append(nn.Conv1d(cfg.fmaps[i], cfg.emb_dim, 1, bias=False))
            in_dim = cfg.fmaps[i]
        if cfg.rnn_pool:
            if cfg.rnn_type.lower() == "qrnn":
                self.rnn = QRNN(in_dim, cfg.emb_dim, cfg.rnn_layers, window=2)
            else:
                rnn = nn.LSTM if cfg.rnn_type.lower() == "lstm" else nn.GRU
                self.rnn = rnn(in_dim, cfg.emb_dim // 2, cfg.rnn_layers, bidirectional=True)
            self.W = nn.Conv1d(cfg.emb_dim, cfg.emb_dim, 1)
        else:
            self.W = nn.Conv1d(in_dim, cfg.emb_dim, 1)
        if cfg.norm_out:
            self.norm_out = nn.BatchNorm1d(cfg.emb_dim, affine=False)

    def frame_count(self, samples: int) -> int:
        """Output frames for an utterance of ``samples`` samples."""
        t = samples
        for block in self.blocks:
            t = block.out_length(t)
        return t

    @staticmethod
    def align(skip: torch.Tensor, frames: int) -> torch.Tensor:
        """Average ``skip`` over groups of ``skip_len // frames`` steps (pase's ``fuse_skip``)."""
        factor = skip.shape[-1] // frames
        if factor <= 1:
            return skip
        skip = skip[:, :, : frames * factor]
        return skip.reshape(skip.shape[0], skip.shape[1], frames, factor).mean(dim=3)

    def forward(self, wav: torch.Tensor) -> list[torch.Tensor]:
        """One utterance ``[L]`` -> 9 hidden states ``[T, emb_dim]`` for PASE+ (``W`` output, each
        dense skip averaged to the output rate, final embedding)."""
        h = wav.view(1, 1, -1)
        skips = []
        for i, block in enumerate(self.blocks):
            h = block(h)
            if hasattr(self, "denseskips") and i < len(self.blocks) - 1:
                skips.append(self.denseskips[i](h))
        if self.cfg.rnn_pool:
            h = self.rnn(h.permute(2, 0, 1))
            h = (h[0] if isinstance(h, tuple) else h).permute(1, 2, 0)
        y = self.W(h)
        states = [y]
        for skip in skips:
            aligned = self.align(skip, y.shape[-1])
            states.append(aligned)
            y = y + aligned
        if hasattr(self, "norm_out"):
            y = self.norm_out(y)
        if self.cfg.tanh_out:
            y = torch.tanh(y)
        states.append(y)
        return [s[0].transpose(0, 1) for s in states]
