"""Data loaders every downstream uses: batches by length, resumable, sharded over processes.

Items are ``(utt_id, wav_or_None, *labels)``; a batch is ``(utt_ids, wavs, *labels)``
with each field a list, so experts see the same shapes whether the runner feeds the
upstream on the fly or reads cached features (then ``wav`` is None).
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
from torch.utils.data import DataLoader, Dataset, Sampler

from speechbench.errors import ConfigError


def collate_utterances(items: list[tuple]) -> tuple[list, ...]:
    """``[(utt, wav, *labels), ...]`` -> ``(utts, wavs, *labels)``, each a list."""
    return tuple(list(field) for field in zip(*items))


class LengthBucketBatchSampler(Sampler[list[int]]):
    """Batches of similar length (less padding), shuffled per epoch with a fixed seed.

    ``batch_size`` caps utterances per batch; ``max_seconds`` (optional) caps the padded
    batch duration. Process ``rank`` of ``world_size`` (as in ``DistributedSampler``; the runner
    sets them with :meth:`shard`) takes every ``world_size``-th batch: in training the same
    number on every rank, so their steps stay in lockstep; in evaluation every batch, each once.
    ``set_epoch`` fixes the order of an epoch and ``skip`` drops its first batches without
    loading them, so a resumed run continues exactly where it stopped.
    """

    def __init__(self, lengths: Sequence[float], batch_size: int, shuffle: bool, seed: int = 0,
                 max_seconds: float | None = None, drop_last: bool = False, rank: int = 0,
                 world_size: int = 1) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self.lengths = np.asarray(lengths, dtype=np.float64)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.max_seconds = max_seconds
        self.drop_last = drop_last
        self.epoch = 0
        self.start = 0
        self.shard(rank, world_size)

    def shard(self, rank: int, world_size: int) -> None:
        """Take this process's share of the batches: every ``world_size``-th from ``rank``."""
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
        self.rank, self.world_size = rank, world_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.start = 0

    def skip(self, num_batches: int) -> None:
        """Start the current epoch after its first ``num_batches`` batches."""
        self.start = num_batches

    def _batches(self) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        keys = self.lengths * (1 + 0.1 * rng.random(len(self.lengths))) if self.shuffle else self.lengths
        order = np.argsort(keys, kind="stable")
        batches: list[list[int]] = []
        current: list[int] = []
        longest = 0.0
        for idx in order:
            longest = max(longest, self.lengths[idx])
            too_long = self.max_seconds is not None and current and longest * (len(current) + 1) > self.max_seconds
            if len(current) == self.batch_size or too_long:
                batches.append(current)
                current = []
                longest = self.lengths[idx]
            current.append(int(idx))
        if current and not (self.drop_last and len(current) < self.batch_size):
            batches.append(current)
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        usable = len(batches) - len(batches) % self.world_size if self.shuffle else len(batches)
        return batches[self.rank:usable:self.world_size]

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._batches()[self.start:]

    def __len__(self) -> int:
        return max(0, len(self._batches()) - self.start)


def make_dataloader(dataset: Dataset, lengths: Sequence[float], batch_size: int, train: bool,
                    seed: int = 0, max_seconds: float | None = None, num_workers: int = 0,
                    collate_fn: Any = collate_utterances, rank: int = 0, world_size: int = 1) -> DataLoader:
    """A DataLoader with a :class:`LengthBucketBatchSampler` (shuffled only for training)."""
    sampler = LengthBucketBatchSampler(lengths, batch_size, shuffle=train, seed=seed, max_seconds=max_seconds,
                                       drop_last=False, rank=rank, world_size=world_size)
    return DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers, collate_fn=collate_fn)
