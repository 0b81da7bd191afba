"""Per-layer features of a data dir for QbE scoring: from the upstream on the fly, or a feature cache.

STD trains nothing, so features never pass through the runner's featurizer: a hidden state is
taken as is, one layer at a time.
"""
from __future__ import annotations

import torch
from torch import nn

from speechbench.data.audio import AudioReader
from speechbench.data.kaldi_dir import DataDir
from speechbench.errors import ConfigError
from speechbench.features.cache import FeatureCache
from speechbench.features.extract import make_batches


class LayerError(ConfigError):
    """A layer index the upstream or the cache does not have."""


class UpstreamFeatures:
    """Runs the upstream once per data dir (``inference_mode``, length-sorted batches) and keeps every
    hidden state in memory as float16: fine for QUESST's English subset on one layer; sweep all
    layers of a large upstream from the feature cache instead (``CacheFeatures``)."""

    def __init__(self, upstream: nn.Module, device: str = "cpu", batch_seconds: float = 60.0) -> None:
        self.upstream = upstream.to(device).eval()
        self.device, self.batch_seconds = device, batch_seconds
        self._store: dict[str, list[list[torch.Tensor]]] = {}
        self.num_layers: int | None = None

    def _run(self, data_dir: str) -> list[list[torch.Tensor]]:
        reader = AudioReader(data_dir)
        data = DataDir(data_dir)
        utts = data.utts
        if data.has("utt2dur"):
            keep = set(utts)
            durations = {u: float(d) for u, d in data.file("utt2dur").items() if u in keep}
        else:
            durations = {u: reader.duration(u) for u in utts}
        per_utt: dict[str, list[torch.Tensor]] = {}
        with torch.inference_mode():
            for batch in make_batches(durations, self.batch_seconds):
                out = self.upstream([reader[u].to(self.device) for u in batch])
                hidden, lengths = out["hidden_states"], out["feature_lengths"].tolist()
                for i, utt in enumerate(batch):
                    per_utt[utt] = [h[i, : lengths[i]].to("cpu", torch.float16) for h in hidden]
        self.num_layers = len(next(iter(per_utt.values())))
        return [[per_utt[u][layer] for u in utts] for layer in range(self.num_layers)]

    def layers(self, data_dir: str) -> list[int]:
        if data_dir not in self._store:
            self._store[data_dir] = self._run(data_dir)
        return list(range(len(self._store[data_dir])))

    def load(self, data_dir: str, layer: int) -> list[torch.Tensor]:
        """``[T, D]`` float32 features at ``layer`` of every utterance, in ``DataDir(data_dir).utts`` order."""
        available = self.layers(data_dir)
        if layer not in available:
            raise LayerError(f"layer {layer} does not exist: the upstream has hidden states 0..{available[-1]}")
        return [f.float() for f in self._store[data_dir][layer]]


class CacheFeatures:
    """Reads one layer at a time from the feature caches of stage 2 (``FeatureCache`` per data dir)."""

    def __init__(self, caches: dict[str, FeatureCache]) -> None:
        self.caches = caches

    def layers(self, data_dir: str) -> list[int]:
        return self.caches[data_dir].layers

    def load(self, data_dir: str, layer: int) -> list[torch.Tensor]:
        cache = self.caches[data_dir]
        if layer not in cache.layers:
            raise LayerError(f"layer {layer} is not in the feature cache {cache.dump_dir} (cached layers: "
                             f"{cache.layers}); extract it with --layers all")
        index = cache.layers.index(layer)
        return [cache.load(u)[index] for u in DataDir(data_dir).utts]
