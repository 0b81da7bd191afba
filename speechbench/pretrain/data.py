"""Unlabelled audio of a Kaldi data directory, served in batches of similar length.

Pretraining needs only ``wav.scp`` (``segments`` and ``utt2dur`` are honoured). Batches
group utterances of similar duration (less padding); which utterances share a batch and the
batch order change every epoch but are fixed by ``(seed, epoch)``, so a resumed run sees the
same batches as an uninterrupted one.
"""
from __future__ import annotations

import os
import random

import torch

from speechbench.data.audio import AudioReader
from speechbench.errors import DataError, MissingFileError

_POOL_BATCHES = 50  # batches per sorting pool: large enough to group lengths, small enough to mix


class PretrainCorpus:
    """The utterances of ``data_dir`` lasting ``min_seconds`` or more, loadable one by one."""

    def __init__(self, data_dir: str | os.PathLike, min_seconds: float = 0.0) -> None:
        self.data_dir = os.fspath(data_dir)
        if not os.path.isfile(os.path.join(self.data_dir, "wav.scp")):
            raise MissingFileError(f"{self.data_dir} has no wav.scp; pretraining reads the audio listed there")
        self.reader = AudioReader(self.data_dir)
        self.durations = {u: self.reader.duration(u) for u in self.reader.keys()}
        self.ids = [u for u, d in self.durations.items() if d >= min_seconds]
        self.dropped = len(self.durations) - len(self.ids)
        if not self.ids:
            raise DataError(f"{self.data_dir} lists no utterances of at least {min_seconds} s")

    def load(self, utt: str) -> torch.Tensor:
        """The waveform of ``utt``: 1-D float32, 16 kHz mono (converted on read)."""
        return self.reader[utt]

    def batches(self, batch_size: int, seed: int, epoch: int) -> list[list[str]]:
        """One epoch of batches: shuffle, sort pools of utterances by length, chunk, shuffle batches."""
        rng = random.Random(seed * 100003 + epoch)
        ids = self.ids[:]
        rng.shuffle(ids)
        pool = batch_size * _POOL_BATCHES
        out: list[list[str]] = []
        for start in range(0, len(ids), pool):
            chunk = sorted(ids[start:start + pool], key=lambda u: self.durations[u])
            out.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
        rng.shuffle(out)
        return out


def random_crop(wav: torch.Tensor, max_samples: int, generator: torch.Generator) -> torch.Tensor:
    """A random window of at most ``max_samples`` (the whole wav when shorter)."""
    if max_samples <= 0 or len(wav) <= max_samples:
        return wav
    start = int(torch.randint(0, len(wav) - max_samples + 1, (1,), generator=generator))
    return wav[start:start + max_samples]
