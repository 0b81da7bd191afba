"""The base dataset of data-dir tasks: utterance ids, lazily loaded audio, labels.

A task subclasses :class:`UtteranceDataset` and implements ``labels(utt)``. The runner
sets ``load_audio = False`` when it reads cached upstream features, so audio is then
never decoded.
"""
from __future__ import annotations

import torch
from torch.utils.data import Dataset

from speechbench.data.kaldi_dir import DataDir, DataDirError
from speechbench.data.validate import check_data_dir


class UtteranceDataset(Dataset):
    """Items ``(utt_id, wav | None, *self.labels(utt_id))`` over a Kaldi data dir.

    ``require`` names the files the task reads beyond ``wav.scp``; the dir is validated
    first, so a malformed one fails here with file, line and fix, never mid-training.
    """

    load_audio = True
    require: tuple[str, ...] = ()

    def __init__(self, data_dir: str, utts: list[str] | None = None) -> None:
        check_data_dir(data_dir, require=("wav.scp", *self.require))
        self.data = DataDir(data_dir)
        self.utts = list(utts) if utts is not None else list(self.data.utts)
        if not self.utts:
            raise DataDirError(f"{data_dir}: no utterances (is wav.scp empty?)")
        self._reader = None

    @property
    def reader(self):
        """Audio reader, opened on first use (also inside DataLoader workers)."""
        if self._reader is None:
            from speechbench.data.audio import AudioReader
            self._reader = AudioReader(self.data.path)
        return self._reader

    def lengths(self) -> list[float]:
        """Durations in seconds for length bucketing (utt2dur, else the audio headers)."""
        return [self.reader.duration(u) for u in self.utts]

    def labels(self, utt: str) -> tuple:
        """Labels of one utterance; a task overrides this."""
        return ()

    def __len__(self) -> int:
        return len(self.utts)

    def __getitem__(self, index: int) -> tuple:
        utt = self.utts[index]
        wav: torch.Tensor | None = self.reader[utt] if self.load_audio else None
        return (utt, wav, *self.labels(utt))
