"""Where hidden states come from: the upstream run on the fly, or the feature cache.

Both sources have one interface, so the runner and term detection never ask which one they
hold: ``source(utt_ids, wavs, device)`` gives ``(hidden_states: list of [B, T, D], lengths[B])``,
and each source says what it gives (``layers``, ``dims``, ``downsample_rate``), whether it needs
the audio, which of its parameters train, and which of its weights an experiment checkpoint
must keep. :func:`build_feature_source` is the one place a source (and so an upstream) is made.
"""
from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from speechbench import registry
from speechbench.contracts import SAMPLE_RATE, check_upstream_output
from speechbench.errors import ConfigError, DataError, InputTooShortError
from speechbench.features.cache import FeatureCache


class LayerError(ConfigError):
    """A layer index the upstream or the cache does not have."""


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
    short = [f"'{utt_ids[i]}' ({len(wavs[i]) / SAMPLE_RATE:.3f} s)" for i in err.indices if i < len(utt_ids)]
    what = f"utterance {', '.join(short)}" if short else f"one of the utterances {utt_ids}"
    return InputTooShortError(f"{what} is too short for this upstream ({err}); remove its line from the data "
                              f"dir's wav.scp, then `python -m speechbench.data.validate DIR --fix` drops it from "
                              f"the other files", err.indices)


class FeatureSource(nn.Module):
    """What every source provides; see the module docstring."""

    downsample_rate: int  # input samples per frame
    layers: list[int]  # upstream layer index of each hidden state given
    dims: list[int]  # size of each hidden state given
    needs_audio: bool  # True: computed from the audio; False: read from disk (datasets skip decoding audio)

    def layer_position(self, layer: int) -> int:
        """Index into the given hidden states of upstream layer ``layer`` (negative: from the last)."""
        raise NotImplementedError

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Parameters the optimiser updates (a fine-tuned upstream); none by default."""
        return []

    def state_to_save(self) -> dict | None:
        """Weights an experiment checkpoint must keep because no file rebuilds them."""
        return None

    def load_saved_state(self, state: dict) -> None:
        """Inverse of :meth:`state_to_save`."""


class UpstreamSource(FeatureSource):
    """Runs the upstream; frozen by default (eval mode, ``torch.inference_mode``)."""

    needs_audio = True

    def __init__(self, upstream: nn.Module, selection: str = "hidden_states", trainable: bool = False,
                 from_file: bool = True) -> None:
        super().__init__()
        self.upstream = upstream
        self.selection = selection
        self.trainable = trainable
        self.from_file = from_file
        self.downsample_rate = upstream.downsample_rate
        if not trainable:
            self.upstream.requires_grad_(False)
        self.dims = self._probe_dims()
        self.layers = list(range(len(self.dims)))

    def _probe_dims(self) -> list[int]:
        """Sizes of the selected hidden states, from one second of silence."""
        tensor = next(self.upstream.parameters(), None)
        if tensor is None:
            tensor = next(self.upstream.buffers(), None)
        device = tensor.device if tensor is not None else torch.device("cpu")
        self.upstream.eval()
        with torch.inference_mode():
            out = self.upstream([torch.zeros(SAMPLE_RATE, device=device)])
        check_upstream_output(out, 1, f"upstream {type(self.upstream).__module__}")
        return [h.shape[-1] for h in select_feature(out, self.selection)]

    def layer_position(self, layer: int) -> int:
        n = len(self.dims)
        if not -n <= layer < n:
            raise LayerError(f"layer {layer} does not exist: the upstream has {n} hidden states (0..{n - 1})")
        return layer

    def train(self, mode: bool = True) -> "UpstreamSource":
        super().train(mode)
        if not self.trainable:
            self.upstream.eval()
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        return list(self.upstream.parameters()) if self.trainable else []

    def state_to_save(self) -> dict | None:
        return self.upstream.state_dict() if self.trainable or not self.from_file else None

    def load_saved_state(self, state: dict) -> None:
        self.upstream.load_state_dict(state)

    def forward(self, utt_ids: list[str], wavs: list[torch.Tensor],
                device: torch.device) -> tuple[list[torch.Tensor], torch.Tensor]:
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


class CacheSource(FeatureSource):
    """Reads hidden states from finished feature-extraction dumps (one ``FeatureCache`` per data dir)."""

    needs_audio = False

    def __init__(self, caches: list[FeatureCache]) -> None:
        super().__init__()
        self.caches = caches
        first = caches[0].meta
        for cache in caches[1:]:
            if (cache.meta["layers"], cache.meta["dims"]) != (first["layers"], first["dims"]):
                raise DataError(f"feature caches {caches[0].dump_dir} and {cache.dump_dir} hold different layers; "
                                f"extract every set with the same --layers")
        self.downsample_rate = first["downsample_rate"]
        self.layers = list(first["layers"])
        self.dims = list(first["dims"])

    def layer_position(self, layer: int) -> int:
        if layer not in self.layers:
            dirs = ", ".join(c.dump_dir for c in self.caches)
            raise LayerError(f"layer {layer} is not in the feature cache {dirs} (cached layers: {self.layers}); "
                             f"extract it with --layers all")
        return self.layers.index(layer)

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


def build_feature_source(upstream: str, upstream_ckpt: str | None = None, upstream_options: dict[str, Any] | None = None,
                         cache_dirs: list[str] | None = None, selection: str = "hidden_states",
                         trainable: bool = False, device: str | torch.device = "cpu") -> FeatureSource:
    """The feature caches in ``cache_dirs`` (checked against the upstream asked for), else the upstream itself."""
    if cache_dirs:
        return CacheSource([FeatureCache(d, upstream=upstream, upstream_ckpt=upstream_ckpt,
                                         upstream_options=upstream_options) for d in cache_dirs])
    model = registry.build_upstream(upstream, upstream_ckpt, upstream_options, device=device)
    return UpstreamSource(model, selection, trainable=trainable, from_file=bool(upstream_ckpt))
