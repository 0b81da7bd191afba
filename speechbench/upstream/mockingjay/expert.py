"""Mockingjay (Liu et al., 2020): a BERT-style transformer over log-mel frames.

TERA and Audio ALBERT use this same expert with other defaults (their ``expert.py`` subclass
it), as in s3prl, where all three share one builder.

``-k FILE`` loads s3prl's pretrain-runner files, both generations (see
:mod:`speechbench.upstream.mockingjay.checkpoint`), with ``weights_only=True``. Without a
file the released architecture is built with random weights (torch's global RNG, so
``torch.manual_seed`` fixes it); the size options below shrink it.

Features (as s3prl): per utterance, -25 dB level scaling, centred STFT, 80 mel bins,
``log(x + 1e-10)``, CMVN (or the Kaldi fbank front end when the file's ``audio`` section
says ``kaldi``); ``downsample_rate`` frames stacked when the file asks (Mockingjay's frame
stacking); the transformer; inputs longer than ``task.sequence_length`` (stacked) frames
are cut into equal chunks run separately and concatenated. Hidden states: the input
representation then every layer (N + 1). Frame rate: hop (160) x frames stacked.

Departures from s3prl, all so that batching changes nothing: s3prl runs the STFT (reflect
padding), deltas and its length estimate over the zero-padded batch, cuts every utterance
at the same chunk boundaries computed from the longest one, and takes the attention mask
from all-zero frames. We compute features and chunks per utterance and mask from the true
lengths. For a single utterance the result equals s3prl's. Padded frames of the outputs
are zero.

Options (no ``-k`` only; a file fixes the architecture): ``hidden_size``, ``num_layers``,
``num_heads``, ``intermediate_size`` (ints), ``stack_frames`` (int, frames per input
vector), ``sequence_length`` (int, chunk length in frames, 0 = no chunking).
"""
from __future__ import annotations

import copy
import math

import torch
from torch.nn.utils.rnn import pad_sequence

from speechbench.checkpoints.safe_load import CheckpointError, check_state_dict
from speechbench.contracts import SAMPLE_RATE
from speechbench.errors import ConfigError, InputTooShortError, OptionError
from speechbench.upstream._modules.mel_frontend import FrontEndConfigError, build_frontend
from speechbench.upstream._modules.transformer import (TransformerConfig, TransformerConfigError,
                                                       TransformerModel, stack_frames)
from speechbench.upstream.base import UpstreamBase, upstream_output
from speechbench.upstream.mockingjay.checkpoint import check_shared_layers, read_official

LOG_MEL_AUDIO = {
    "target_level": -25, "win_ms": 25, "hop_ms": 10, "n_freq": 201, "n_mels": 80, "n_mfcc": 13,
    "input": {"feat_type": "mel", "channel": 0, "log": True, "delta": 0, "cmvn": True},
}
TIME_MASKING = {
    "loss": "L1", "mask_proportion": 0.15, "mask_consecutive_min": 7, "mask_consecutive_max": 7,
    "mask_allow_overlap": True, "mask_bucket_ratio": 1.5, "mask_frequency": 0.0, "noise_proportion": 0.0,
}
BASE_TRANSFORMER = {
    "hidden_size": 768, "num_hidden_layers": 3, "num_attention_heads": 12, "intermediate_size": 3072,
    "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
    "initializer_range": 0.02, "layer_norm_eps": 1e-12, "share_layer": False, "pre_layer_norm": False,
}
_SIZE_OPTIONS = {"hidden_size": "hidden_size", "num_layers": "num_hidden_layers",
                 "num_heads": "num_attention_heads", "intermediate_size": "intermediate_size",
                 "stack_frames": "downsample_rate"}


class MaskedReconstructionExpert(UpstreamBase):
    """The shared expert; subclasses set ``NAME`` and ``DEFAULT_MODEL_CONFIG``."""

    NAME = "mockingjay"
    # mockingjay_origin: LinearLarge, 12 layers, 360 h, dropout 0.1, log-mel input / linear target.
    DEFAULT_MODEL_CONFIG: dict = {
        "transformer": {**BASE_TRANSFORMER, "num_hidden_layers": 12},
        "task": {"sequence_length": 500, **TIME_MASKING},
        "audio": {**LOG_MEL_AUDIO, "target": {"feat_type": "linear", "channel": 1, "log": True, "delta": 0,
                                              "cmvn": True}},
    }

    def __init__(self, ckpt: str | None = None, **options: object) -> None:
        super().__init__()
        state = None
        if ckpt:
            if options:
                raise OptionError(f"{self.NAME}: options {sorted(options)} cannot change the architecture of "
                                f"{ckpt}; drop them (they apply to randomly initialised models only)")
            official = read_official(ckpt)
            model_config, state, where = official.model_config, official.transformer, f"{ckpt}: "
        else:
            model_config, where = self.model_config_with(options), f"{self.NAME} options: "
        try:
            self.frontend = build_frontend(copy.deepcopy(model_config["audio"]), "input")
            self.config = TransformerConfig.from_dict(model_config["transformer"], where + "transformer config")
            self.sequence_length = int(model_config["task"].get("sequence_length", 0))
        except (FrontEndConfigError, TransformerConfigError) as err:
            raise (CheckpointError if ckpt else ConfigError)(f"{where}{err}") from None
        self.model_config = model_config
        self.model = TransformerModel(self.config, self.frontend.dim)
        self.downsample_rate = self.frontend.hop * self.config.downsample_rate
        if state is not None:
            if self.config.share_layer:
                check_shared_layers(state, self.config.num_hidden_layers, ckpt)
            check_state_dict(self.model, state, f"'Transformer' weights of {ckpt} (front end gives "
                                                f"{self.frontend.dim}-dim frames, "
                                                f"{self.config.downsample_rate} stacked)")

    @classmethod
    def model_config_with(cls, options: dict) -> dict:
        """The default MODEL config with size options (CLI strings or ints) applied."""
        unknown = sorted(set(options) - set(_SIZE_OPTIONS) - {"sequence_length"})
        if unknown:
            raise OptionError(f"{cls.NAME}: unknown options {unknown}; known: "
                            f"{', '.join(sorted([*_SIZE_OPTIONS, 'sequence_length']))}")
        config = copy.deepcopy(cls.DEFAULT_MODEL_CONFIG)
        for option, value in options.items():
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{cls.NAME}: option {option}={value!r} must be an integer") from None
            if option == "sequence_length":
                config["task"]["sequence_length"] = number
            else:
                config["transformer"][_SIZE_OPTIONS[option]] = number
        return config

    def features(self, wavs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Per-utterance input frames ``[T_i, D * stacked]`` (what the transformer reads)."""
        if not wavs:
            raise ValueError(f"{self.NAME}: empty batch")
        out = []
        for i, wav in enumerate(wavs):
            if wav.dim() != 1:
                raise ValueError(f"{self.NAME}: wav {i} has shape {tuple(wav.shape)}; upstreams take 1-D mono wavs")
            need = self.frontend.min_samples + (self.config.downsample_rate - 1) * self.frontend.hop
            if len(wav) < need:
                raise InputTooShortError(f"{self.NAME}: wav {i} has {len(wav)} samples; this model needs at least "
                                         f"{need} ({need / SAMPLE_RATE * 1000:.1f} ms at 16 kHz)", [i])
            out.append(stack_frames(self.frontend(wav.float()), self.config.downsample_rate))
        return out

    def _chunks(self, frames: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """s3prl's chunking of one utterance: ceil(T / sequence_length) near-equal pieces."""
        n = len(frames)
        if self.sequence_length <= 0 or n <= self.sequence_length:
            return (frames,)
        return torch.chunk(frames, math.ceil(n / self.sequence_length), dim=0)

    def forward(self, wavs: list[torch.Tensor]) -> dict:
        feats = self.features(wavs)
        pieces = [self._chunks(f) for f in feats]
        flat = [c for p in pieces for c in p]
        lengths = torch.tensor([len(c) for c in flat], device=flat[0].device)
        states = self.model(pad_sequence(flat, batch_first=True), lengths)
        utt_lengths = torch.tensor([len(f) for f in feats], device=flat[0].device)
        if len(flat) == len(feats):
            hidden = [s[:, :int(utt_lengths.max())] for s in states]
        else:
            hidden = []
            for s in states:
                rows, k = [], 0
                for p in pieces:
                    rows.append(torch.cat([s[k + j, :len(c)] for j, c in enumerate(p)], dim=0))
                    k += len(p)
                hidden.append(pad_sequence(rows, batch_first=True))
        return upstream_output(hidden, utt_lengths)


class UpstreamExpert(MaskedReconstructionExpert):
    """Mockingjay; defaults to the released ``mockingjay_origin`` architecture (12 x 768)."""

