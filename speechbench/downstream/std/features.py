"""Per-layer features of a data dir for QbE scoring, from the runner's feature sources.

STD trains nothing, so features never pass through the featurizer: a hidden state is taken as
is, one layer at a time. A source that computes features (the upstream) runs once per data dir
and every hidden state is kept in memory as float16 (fine for QUESST's English subset); a
source that reads them (the feature cache) is read again for each layer asked, so sweeping all
layers of a large upstream from the cache never holds more than one layer.
"""
from __future__ import annotations

from typing import Callable

import torch

from speechbench.data.audio import AudioReader
from speechbench.data.kaldi_dir import DataDir
from speechbench.features.extract import make_batches
from speechbench.features.source import FeatureSource


class LayerFeatures:
    """``layers(data_dir)`` and ``load(data_dir, layer)`` over the source of each data dir."""

    def __init__(self, source_of: Callable[[str], FeatureSource], device: str = "cpu",
                 batch_seconds: float = 60.0) -> None:
        self.source_of = source_of
        self.device, self.batch_seconds = torch.device(device), batch_seconds
        self._kept: dict[str, list[list[torch.Tensor]]] = {}

    def layers(self, data_dir: str) -> list[int]:
        return list(self.source_of(data_dir).layers)

    def load(self, data_dir: str, layer: int) -> list[torch.Tensor]:
        """``[T, D]`` float32 features at ``layer`` of every utterance, in ``DataDir(data_dir).utts`` order."""
        source = self.source_of(data_dir)
        position = source.layer_position(layer)
        if not source.needs_audio:
            return self._pass(source, data_dir, position)[0]
        if data_dir not in self._kept:
            self._kept[data_dir] = self._pass(source, data_dir, None)
        return [f.float() for f in self._kept[data_dir][position]]

    def _pass(self, source: FeatureSource, data_dir: str, position: int | None) -> list[list[torch.Tensor]]:
        """One run over the dir: the hidden state at ``position`` (float32), or all of them (float16)."""
        utts = DataDir(data_dir).utts
        reader = AudioReader(data_dir) if source.needs_audio else None
        per_utt: dict[str, list[torch.Tensor]] = {}
        with torch.inference_mode():
            for batch in self._batches(data_dir, utts, reader):
                wavs = [reader[u] for u in batch] if reader is not None else [None] * len(batch)
                hidden, lengths = source(batch, wavs, self.device)
                chosen = hidden if position is None else [hidden[position]]
                for i, (utt, n) in enumerate(zip(batch, lengths.tolist())):
                    per_utt[utt] = [h[i, :n].to("cpu", torch.float16 if position is None else torch.float32)
                                    for h in chosen]
        return [[per_utt[u][k] for u in utts] for k in range(len(per_utt[utts[0]]))]

    def _batches(self, data_dir: str, utts: list[str], reader: AudioReader | None) -> list[list[str]]:
        """Length-sorted batches for the upstream; single utterances for a cache (no audio is read)."""
        if reader is None:
            return [[u] for u in utts]
        data = DataDir(data_dir)
        if data.has("utt2dur"):
            keep = set(utts)
            durations = {u: float(d) for u, d in data.file("utt2dur").items() if u in keep}
        else:
            durations = {u: reader.duration(u) for u in utts}
        return make_batches(durations, self.batch_seconds)
