"""Recordings with their reference speaker turns, cut into training chunks.

A diarization data dir has one utterance per recording (``wav.scp``, no ``segments``) and an
``rttm`` whose file ids are those recordings. Training items are chunks of at most
``chunk_seconds`` (s3prl: 2000 frames of 10 ms), cut at fixed multiples of it with the last,
shorter chunk kept; evaluation items are whole recordings. An item is
``(recording, wav | None, turns, window)``: ``turns`` are ``(speaker index, start, end)``
seconds relative to the item's start; with audio the wav is already cut and ``window`` is
None, with cached features ``window`` is ``(start sample, samples)`` and the expert cuts the
feature frames (:func:`speechbench.downstream._modules.speaker_data.crop_features`).
"""
from __future__ import annotations

import os

from speechbench.contracts import SAMPLE_RATE
from speechbench.data.dataset import UtteranceDataset
from speechbench.data.kaldi_dir import DataDirError
from speechbench.metrics.diarization import RttmError, Turn, read_rttm

TurnSpan = tuple[int, float, float]


class DiarizationDataset(UtteranceDataset):
    require = ("rttm",)

    def __init__(self, data_dir: str, num_speakers: int, chunk_seconds: float | None) -> None:
        if os.path.isfile(os.path.join(data_dir, "segments")):
            raise DataDirError(f"{data_dir} has a segments file: the sd task reads whole recordings (wav.scp with "
                               f"one line per recording, and rttm); point it at the recording dirs the prep writes "
                               f"(OUT/<set>, not the segment layout OUT/s3prl/<set>)")
        super().__init__(data_dir)
        try:
            self.turns = read_rttm(os.path.join(data_dir, "rttm"))
        except RttmError as e:
            raise DataDirError(str(e)) from None
        unknown = sorted(set(self.turns) - set(self.utts))
        if unknown:
            raise DataDirError(f"{data_dir}/rttm: {len(unknown)} file id(s) are not recordings of wav.scp "
                               f"(e.g. {unknown[:3]}); the RTTM's second field must be the wav.scp key")
        self.speakers: dict[str, list[str]] = {}
        for rec in self.utts:
            names = sorted({t.speaker for t in self.turns.get(rec, ())})
            if len(names) > num_speakers:
                raise DataDirError(f"{data_dir}/rttm: recording '{rec}' has {len(names)} speakers "
                                   f"({', '.join(names)}); the head predicts datarc.num_speakers={num_speakers}")
            self.speakers[rec] = names
        self.items: list[tuple[str, float, float | None]] = []
        for rec, seconds in zip(self.utts, self._durations()):
            if chunk_seconds is None:
                self.items.append((rec, 0.0, None))
                continue
            start = 0.0
            while start < seconds:
                self.items.append((rec, start, min(chunk_seconds, seconds - start)))
                start += chunk_seconds

    def _durations(self) -> list[float]:
        return [self.reader.duration(rec) for rec in self.utts]

    def reference(self) -> dict[str, list[Turn]]:
        """Reference turns of every recording (an empty list for a recording without speech)."""
        return {rec: list(self.turns.get(rec, ())) for rec in self.utts}

    def lengths(self) -> list[float]:
        durations = dict(zip(self.utts, self._durations()))
        return [durations[rec] - start if size is None else size for rec, start, size in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def _spans(self, rec: str, start: float, size: float | None) -> list[TurnSpan]:
        end = float("inf") if size is None else start + size
        index = {name: i for i, name in enumerate(self.speakers[rec])}
        return [(index[t.speaker], max(t.start, start) - start, min(t.end, end) - start)
                for t in self.turns.get(rec, ()) if t.end > start and t.start < end]

    def __getitem__(self, index: int) -> tuple:
        rec, start, size = self.items[index]
        window = None if size is None else (int(round(start * SAMPLE_RATE)), int(round(size * SAMPLE_RATE)))
        wav = None
        if self.load_audio:
            wav = self.reader[rec]
            if window is not None:
                wav = wav[window[0]:window[0] + window[1]]
                window = None  # already applied
        return rec, wav, self._spans(rec, start, size), window
