"""Where hidden states come from: the upstream run on the fly, or the feature cache.

Experts never know which; both give ``(hidden_states: list of [B, T, D], lengths[B])``.
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from speechbench.errors import ConfigError, DataError, InputTooShortError


def select_feature(output: dict, selection: str) -> list[torch.Tensor]:
    """Pick ``hidden_states`` (all layers) or another named output of an upstream."""
    if selection not in output:
        names = sorted(k for k, v in output.items() if k != "feature_lengths")
        raise ConfigError(f"upstream output has no '{selection}'; available: {', '.join(names)}")
    value = output[selection]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _name_short_utterances(err: InputTooShortError, utt_ids: list[str],
                           wavs: list[torch.Tensor]) -> InputTooShortError:
    """The upstream's error about batch positions, restated with the utterance ids."""
    short = [f"'{utt_ids[i]}' ({len(wavs[i]) / 16000:.3f} s)" for i in err.indices if i < len(utt_ids)]
    what = f"utterance {', '.join(short)}" if short else f"one of the utterances {utt_ids}"
    return InputTooShortError(f"{what} is too short for this upstream ({err}); remove its line from the data "
                              f"dir's wav.scp, then `python -m speechbench.data.validate DIR --fix` drops it from "
                              f"the other files", err.indices)


class UpstreamSource(nn.Module):
    """Runs the upstream; frozen by default (eval mode, ``torch.inference_mode``)."""

    def __init__(self, upstream: nn.Module, selection: str = "hidden_states", trainable: bool = False) -> None:
        super().__init__()
        self.upstream = upstream
        self.selection = selection
        self.trainable = trainable
        if not trainable:
            self.upstream.requires_grad_(False)

    def train(self, mode: bool = True) -> "UpstreamSource":
        super().train(mode)
        if not self.trainable:
            self.upstream.eval()
        return self

    def forward(self, utt_ids: list[str], wavs: list[torch.Tensor], device: torch.device) -> tuple[list[torch.Tensor], torch.Tensor]:
        wavs = [w.to(device) for w in wavs]
        grad = self.trainable and self.training
        with contextlib.nullcontext() if grad else torch.inference_mode():
            try:
                out = self.upstream(wavs)
            except InputTooShortError as err:
                raise _name_short_utterances(err, utt_ids, wavs) from None
            hidden = select_feature(out, self.selection)
            lengths = out["feature_lengths"]
        if not grad:  # inference tensors cannot enter autograd (the featurizer weights need them)
            hidden, lengths = [h.clone() for h in hidden], lengths.clone()
        return hidden, lengths.to(device)


class CacheSource(nn.Module):
    """Reads hidden states from finished feature-extraction dumps (one ``FeatureCache`` per data dir)."""

    def __init__(self, caches: list) -> None:
        super().__init__()
        self.caches = caches
        first = caches[0].meta
        for cache in caches[1:]:
            if (cache.meta["layers"], cache.meta["dims"]) != (first["layers"], first["dims"]):
                raise DataError(f"feature caches {caches[0].dump_dir} and {cache.dump_dir} hold different layers; "
                                 f"extract every set with the same --layers")
        self.downsample_rate = first["downsample_rate"]

    def _load(self, utt: str) -> list[torch.Tensor]:
        for cache in self.caches:
            if utt in cache:
                return cache.load(utt)
        dirs = ", ".join(c.dump_dir for c in self.caches)
        raise DataError(f"utterance '{utt}' is in none of the feature caches ({dirs}); rerun the extraction stage")

    def forward(self, utt_ids: list[str], wavs: list, device: torch.device) -> tuple[list[torch.Tensor], torch.Tensor]:
        per_utt = [self._load(u) for u in utt_ids]
        lengths = torch.tensor([layers[0].shape[0] for layers in per_utt], device=device)
        hidden = [pad_sequence([layers[i] for layers in per_utt], batch_first=True).to(device)
                  for i in range(len(per_utt[0]))]
        return hidden, lengths
