"""The acoustic front ends of s3prl's Mockingjay/TERA/Audio ALBERT files, one utterance at a time.

A checkpoint's ``audio`` section selects one of two front ends, as in s3prl:

* online (no ``kaldi`` key): scale the wav to ``target_level`` dB, STFT (hann window,
  ``center=True``, reflect padding), then per feature spec (``input``/``target`` sections)
  ``feat_type`` mel | linear | mfcc, optional ``log(x + 1e-10)``, ``delta`` orders of
  deltas stacked on the feature axis, and per-utterance CMVN (unbiased std, ``+1e-10``).
  ``T = 1 + L // hop``.
* kaldi (``kaldi: {feat_type: fbank, fbank: {...}}``): ``torchaudio.compliance.kaldi``
  features without level scaling, deltas (``delta: {order: 2}`` by default) and the
  ``cmvn: {use_cmvn: ...}`` switch.

Why per utterance: s3prl runs the STFT and the deltas over the zero-padded batch and
derives each utterance's length from the batch shape, so an utterance's features change
with its batch mates. Computing each utterance alone gives exactly what s3prl gives for
that utterance by itself, whatever the batch.
"""
from __future__ import annotations

from typing import Any

import torch
import torchaudio
from torch import nn

from speechbench.contracts import SAMPLE_RATE
from speechbench.errors import ConfigError

EPS = 1e-10
_FEAT_TYPES = ("mel", "linear", "mfcc")


class FrontEndConfigError(ConfigError):
    """The ``audio`` section of a checkpoint asks for something this front end cannot do."""


def normalize_decibel(wav: torch.Tensor, target_level: float) -> torch.Tensor:
    """Scale ``wav`` so its RMS is ``target_level`` dB (full scale 1.0), as s3prl does."""
    rms = wav.pow(2).mean().sqrt()
    return wav * (10 ** (target_level / 20) / (rms + EPS))


def cmvn(feat: torch.Tensor) -> torch.Tensor:
    """Per-utterance mean/variance normalisation over time of ``[T, D]`` (unbiased std)."""
    return (feat - feat.mean(dim=0, keepdim=True)) / (feat.std(dim=0, keepdim=True) + EPS)


def add_deltas(feat: torch.Tensor, order: int, win_length: int = 5) -> torch.Tensor:
    """``[T, D]`` -> ``[T, D * (order + 1)]``: the feature, its delta, delta-delta, ..."""
    feats = [feat]
    for _ in range(order):
        feats.append(torchaudio.functional.compute_deltas(feats[-1].T, win_length=win_length).T)
    return torch.cat(feats, dim=-1)


def _check_spec(spec: Any, where: str) -> dict:
    if not isinstance(spec, dict) or "feat_type" not in spec:
        raise FrontEndConfigError(f"audio config: '{where}' must be a mapping with a feat_type, got {spec!r}")
    if spec["feat_type"] not in _FEAT_TYPES:
        raise FrontEndConfigError(f"audio config: {where}.feat_type '{spec['feat_type']}' is not supported "
                                  f"as a transformer input (supported: {', '.join(_FEAT_TYPES)})")
    return {"feat_type": spec["feat_type"], "log": bool(spec.get("log", False)),
            "delta": int(spec.get("delta", 0)), "cmvn": bool(spec.get("cmvn", False))}


class OnlineFrontEnd(nn.Module):
    """s3prl's ``OnlinePreprocessor`` for one feature spec, applied per utterance."""

    def __init__(self, audio: dict, which: str = "input") -> None:
        super().__init__()
        if which not in audio:
            raise FrontEndConfigError(f"audio config has no '{which}' section (keys: {sorted(audio)})")
        self.spec = _check_spec(audio[which], which)
        target_level = audio.get("target_level", -25)
        self.target_level = None if target_level in (None, "None") else float(target_level)
        rate = int(audio.get("sample_rate", SAMPLE_RATE))
        if rate != SAMPLE_RATE:
            raise FrontEndConfigError(f"audio config: sample_rate {rate}; only {SAMPLE_RATE} Hz is supported")
        win = round(float(audio.get("win_ms", 25)) * rate / 1000)
        self.hop = round(float(audio.get("hop_ms", 10)) * rate / 1000)
        self.n_fft = (int(audio.get("n_freq", 201)) - 1) * 2
        self.win = win
        self.register_buffer("window", torch.hann_window(win), persistent=False)
        if self.spec["feat_type"] == "mel":
            self.mel = torchaudio.transforms.MelScale(n_mels=int(audio.get("n_mels", 40)), sample_rate=rate,
                                                      n_stft=self.n_fft // 2 + 1)
        if self.spec["feat_type"] == "mfcc":
            self.mfcc = torchaudio.transforms.MFCC(
                sample_rate=rate, n_mfcc=int(audio.get("n_mfcc", 13)), log_mels=True,
                melkwargs={"n_fft": self.n_fft, "hop_length": self.hop, "win_length": win})
        base = {"mel": int(audio.get("n_mels", 40)), "linear": self.n_fft // 2 + 1,
                "mfcc": int(audio.get("n_mfcc", 13))}[self.spec["feat_type"]]
        self.dim = base * (self.spec["delta"] + 1)
        self.min_samples = self.n_fft // 2 + 1  # reflect padding needs more samples than it pads

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """One 1-D wav -> ``[T, dim]``."""
        if self.target_level is not None:
            wav = normalize_decibel(wav, self.target_level)
        if self.spec["feat_type"] == "mfcc":
            feat = self.mfcc(wav)
        else:
            spec = torch.stft(wav, n_fft=self.n_fft, hop_length=self.hop, win_length=self.win, window=self.window,
                              center=True, pad_mode="reflect", normalized=False, onesided=True,
                              return_complex=True).abs().pow(2)
            feat = self.mel(spec) if self.spec["feat_type"] == "mel" else spec
        if self.spec["log"]:
            feat = (feat + EPS).log()
        feat = add_deltas(feat.T, self.spec["delta"])
        return cmvn(feat) if self.spec["cmvn"] else feat


class KaldiFrontEnd(nn.Module):
    """s3prl's kaldi ``extracter``: compliance.kaldi features, deltas, optional CMVN."""

    def __init__(self, audio: dict) -> None:
        super().__init__()
        kaldi = dict(audio["kaldi"])
        self.feat_type = kaldi.pop("feat_type", "fbank")
        if self.feat_type not in ("fbank", "mfcc", "spectrogram"):
            raise FrontEndConfigError(f"audio config: kaldi.feat_type '{self.feat_type}' is not a "
                                      f"torchaudio.compliance.kaldi feature (fbank, mfcc, spectrogram)")
        self.kwargs = dict(kaldi.get(self.feat_type, {}))
        delta = dict(audio.get("delta", {}))
        self.order = int(delta.pop("order", 2))
        self.delta_win = int(delta.pop("win_length", 5))
        if "cmvn" not in audio or "use_cmvn" not in audio["cmvn"]:
            raise FrontEndConfigError("audio config with a 'kaldi' section needs 'cmvn: {use_cmvn: true|false}'")
        self.use_cmvn = bool(audio["cmvn"]["use_cmvn"])
        shift = float(self.kwargs.get("frame_shift", 10.0))
        length = float(self.kwargs.get("frame_length", 25.0))
        self.hop = round(shift * SAMPLE_RATE / 1000)
        self.win = round(length * SAMPLE_RATE / 1000)
        self.min_samples = self.win + (self.hop if self.use_cmvn else 0)  # CMVN needs two frames
        try:
            self.dim = self.forward(torch.zeros(SAMPLE_RATE)).shape[-1]
        except (TypeError, ValueError, RuntimeError, AssertionError) as err:
            raise FrontEndConfigError(f"audio config: kaldi.{self.feat_type} options {self.kwargs} or delta "
                                      f"{audio.get('delta')} rejected by torchaudio: {err}") from None

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """One 1-D wav -> ``[T, dim]``."""
        extract = getattr(torchaudio.compliance.kaldi, self.feat_type)
        feat = extract(wav[None], sample_frequency=SAMPLE_RATE, **self.kwargs)
        feat = add_deltas(feat, self.order, self.delta_win)
        return cmvn(feat) if self.use_cmvn else feat


def build_frontend(audio: dict, which: str = "input") -> OnlineFrontEnd | KaldiFrontEnd:
    """The front end an ``audio`` config section describes (``which``: input or target)."""
    if not isinstance(audio, dict):
        raise FrontEndConfigError(f"audio config must be a mapping, got {type(audio).__name__}")
    if "kaldi" in audio:
        return KaldiFrontEnd(audio)
    if which == "target" and "target" not in audio:
        which = "input"  # s3prl: the target defaults to the input features
    return OnlineFrontEnd(audio, which)

