"""Baseline upstream: classic acoustic features, the reference every SSL model must beat.

Features (all from torchaudio, one utterance at a time so batching changes nothing):

* ``fbank`` (default): Kaldi-compatible log mel filterbank, ``num_mel_bins`` (80).
* ``mfcc``: Kaldi-compatible MFCC, ``num_ceps`` (13) from ``num_mel_bins`` (23).
* ``mel``: log mel spectrogram (torchaudio ``MelSpectrogram``, centred frames).
* ``linear``: log power spectrogram (``n_fft`` 400: 201 bins).

Common options: ``delta`` (0, 1 or 2 orders of deltas appended), ``cmvn`` (per-utterance
mean/variance normalisation, default false: it zeroes the utterance mean, so a mean-pooling
head such as SUPERB's speaker-ID head sees the same vector for every utterance, which is why
SUPERB's first FBANK SID number was at chance), ``dither`` (Kaldi features, default 0 for
reproducibility). 25 ms windows, 10 ms shift (``downsample_rate`` 160). Options come from
``-k file.yaml`` (a mapping of these keys) or ``--upstream_options k=v,...``; the latter wins.
There is one hidden state: the feature matrix.
"""
from __future__ import annotations

from typing import Any

import torch
import torchaudio
from torchaudio.compliance import kaldi

from speechbench.config_sections import load_config
from speechbench.contracts import SAMPLE_RATE
from speechbench.errors import ConfigError, InputTooShortError, OptionError
from speechbench.upstream.base import UpstreamBase, upstream_output
from speechbench.upstream.options import as_bool

FEATURES = ("fbank", "mfcc", "mel", "linear")
DEFAULTS: dict[str, Any] = {"feature": "fbank", "num_mel_bins": 80, "num_ceps": 13, "delta": 0,
                            "cmvn": False, "dither": 0.0}


class UpstreamExpert(UpstreamBase):
    downsample_rate = 160

    def __init__(self, ckpt: str | None = None, **options: Any) -> None:
        super().__init__()
        config = dict(DEFAULTS)
        if options.get("feature") == "mfcc" and "num_mel_bins" not in options:
            config["num_mel_bins"] = 23
        if ckpt:
            config.update(load_config(ckpt))
        config.update(options)
        unknown = sorted(set(config) - set(DEFAULTS))
        if unknown:
            raise OptionError(f"baseline upstream: unknown options {unknown}; known: {sorted(DEFAULTS)}")
        if config["feature"] not in FEATURES:
            raise ConfigError(f"baseline upstream: feature '{config['feature']}' is not one of {FEATURES}")
        config.update(num_mel_bins=int(config["num_mel_bins"]), num_ceps=int(config["num_ceps"]),
                      delta=int(config["delta"]), cmvn=as_bool(config["cmvn"]), dither=float(config["dither"]))
        if config["delta"] not in (0, 1, 2):
            raise ConfigError("baseline upstream: delta must be 0, 1 or 2")
        self.config = config
        if config["feature"] == "mel":
            self.transform = torchaudio.transforms.MelSpectrogram(SAMPLE_RATE, n_fft=400, hop_length=160,
                                                                  n_mels=config["num_mel_bins"])
        elif config["feature"] == "linear":
            self.transform = torchaudio.transforms.Spectrogram(n_fft=400, hop_length=160)

    def _features(self, wav: torch.Tensor) -> torch.Tensor:
        """``[T, D]`` features of one utterance."""
        c = self.config
        if c["feature"] in ("fbank", "mfcc"):
            if c["feature"] == "fbank":
                x = kaldi.fbank(wav[None], num_mel_bins=c["num_mel_bins"], dither=c["dither"], sample_frequency=SAMPLE_RATE)
            else:
                x = kaldi.mfcc(wav[None], num_mel_bins=c["num_mel_bins"], num_ceps=c["num_ceps"],
                               dither=c["dither"], sample_frequency=SAMPLE_RATE)
        else:
            x = torch.log(self.transform(wav) + 1e-10).transpose(0, 1)
        if c["delta"]:
            orders = [x.transpose(0, 1)]
            for _ in range(c["delta"]):
                orders.append(torchaudio.functional.compute_deltas(orders[-1]))
            x = torch.cat(orders, dim=0).transpose(0, 1)
        if c["cmvn"]:
            x = (x - x.mean(0, keepdim=True)) / (x.std(0, keepdim=True, unbiased=False) + 1e-5)
        return x

    def forward(self, wavs: list[torch.Tensor]) -> dict:
        need = 400 if self.config["feature"] in ("fbank", "mfcc") else 201  # a 25 ms window; the STFT's padding
        short = [i for i, w in enumerate(wavs) if len(w) < need]
        if short:
            raise InputTooShortError(f"baseline upstream: utterance of {len(wavs[short[0]])} samples is shorter than "
                                     f"{'one 25 ms window' if need == 400 else f'{need} samples'}", short)
        feats = [self._features(w) for w in wavs]
        lengths = torch.tensor([len(f) for f in feats], device=feats[0].device)
        padded = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)
        return upstream_output([padded], lengths)
