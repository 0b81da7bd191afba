"""Diarization error rate (DER) by the NIST definition, RTTM files, and frame-to-turn decoding.

DER = (missed speech + false alarm + speaker confusion) / total reference speech, summed over
files, with overlapping speech scored (NIST RT / ``md-eval.pl``, as ``dscore`` runs it):
at each instant with ``N_ref`` reference and ``N_sys`` system speakers active, of which
``N_correct`` reference speakers are active and mapped to an active system speaker,

    miss = max(0, N_ref - N_sys),  false alarm = max(0, N_sys - N_ref),
    confusion = min(N_ref, N_sys) - N_correct,  total = N_ref,

integrated over time. The speaker mapping is one-to-one per file and maximises the time
reference and system speakers are active together (Hungarian assignment). ``collar`` (seconds)
removes ``collar`` before and after every reference turn boundary from scoring (md-eval's
``-c``; pyannote.metrics' ``collar`` is the total width, i.e. twice ours). s3prl's SUPERB
``score.sh`` calls dscore without ``--collar``, whose default is 0: SUPERB's SD numbers use
collar 0, the default here. Turns of one speaker that overlap are merged first.

The scoring is exact (on the turn boundaries, not on a frame grid). Decoding frame-level
speaker activities to turns follows EEND/s3prl's ``make_rttm.py``: threshold the
probabilities, median-filter each speaker's 0/1 track, and turn runs of 1s into segments.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.signal import medfilt

from speechbench.errors import DataError
from speechbench.utils_io import atomic_open


@dataclass(frozen=True)
class Turn:
    """One speaker active from ``start`` to ``end`` seconds in recording ``file``."""

    file: str
    speaker: str
    start: float
    end: float


@dataclass(frozen=True)
class DiarizationError:
    """Durations in seconds; ``der`` = (miss + false_alarm + confusion) / total."""

    miss: float
    false_alarm: float
    confusion: float
    total: float

    @property
    def der(self) -> float:
        if self.total <= 0:
            raise ValueError("DER is undefined: the reference has no speech")
        return (self.miss + self.false_alarm + self.confusion) / self.total

    def __add__(self, other: "DiarizationError") -> "DiarizationError":
        return DiarizationError(self.miss + other.miss, self.false_alarm + other.false_alarm,
                                self.confusion + other.confusion, self.total + other.total)


NO_ERROR = DiarizationError(0.0, 0.0, 0.0, 0.0)


class RttmError(DataError):
    """An RTTM line cannot be read; the message names the file and line."""


def read_rttm(path: str) -> dict[str, list[Turn]]:
    """``file id -> turns`` from the ``SPEAKER`` lines of an RTTM file (other types are skipped).

    Fields: ``SPEAKER file channel start duration <NA> <NA> speaker <NA> [<NA>]``.
    """
    out: dict[str, list[Turn]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields or fields[0] != "SPEAKER":
                continue
            if len(fields) < 8:
                raise RttmError(f"{path}:{lineno}: an RTTM SPEAKER line has at least 8 fields "
                                f"(SPEAKER file channel start duration <NA> <NA> speaker), got '{line.strip()}'")
            try:
                start, duration = float(fields[3]), float(fields[4])
            except ValueError:
                raise RttmError(f"{path}:{lineno}: start and duration must be numbers, got "
                                f"'{fields[3]}' '{fields[4]}'") from None
            if start < 0 or duration < 0:
                raise RttmError(f"{path}:{lineno}: negative start or duration in '{line.strip()}'")
            out.setdefault(fields[1], []).append(Turn(fields[1], fields[7], start, start + duration))
    return out


def write_rttm(path: str, turns: Iterable[Turn]) -> None:
    """RTTM ``SPEAKER`` lines sorted by file, start and speaker, written atomically."""
    rows = sorted(turns, key=lambda t: (t.file, t.start, t.speaker, t.end))
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.writelines(f"SPEAKER {t.file} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
                     for t in rows if t.end > t.start)


def _merge(intervals: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def _by_speaker(turns: Iterable[Turn]) -> dict[str, list[tuple[float, float]]]:
    spans: dict[str, list[tuple[float, float]]] = {}
    for t in turns:
        spans.setdefault(t.speaker, []).append((t.start, t.end))
    return {s: _merge(v) for s, v in sorted(spans.items())}


def _active(spans: dict[str, list[tuple[float, float]]], starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``[speakers, intervals]`` bool: speaker active over each elementary interval."""
    out = np.zeros((len(spans), len(starts)), dtype=bool)
    mids = (starts + ends) / 2
    for i, segs in enumerate(spans.values()):
        for a, b in segs:
            out[i] |= (mids > a) & (mids < b)
    return out


def file_error(ref: Sequence[Turn], hyp: Sequence[Turn], collar: float = 0.0) -> DiarizationError:
    """Missed, false-alarm, confused and total reference speech (seconds) of one recording."""
    if collar < 0:
        raise ValueError(f"collar must be >= 0 seconds, got {collar}")
    ref_spans, hyp_spans = _by_speaker(ref), _by_speaker(hyp)
    points = {0.0}
    for spans in (ref_spans, hyp_spans):
        for segs in spans.values():
            for a, b in segs:
                points.update((a, b))
    no_score = _merge([(max(0.0, p - collar), p + collar) for segs in ref_spans.values() for a, b in segs
                       for p in (a, b)]) if collar > 0 else []
    for a, b in no_score:
        points.update((a, b))
    grid = np.array(sorted(points))
    starts, ends = grid[:-1], grid[1:]
    if len(starts) == 0:
        return NO_ERROR
    duration = ends - starts
    mids = (starts + ends) / 2
    for a, b in no_score:
        duration = np.where((mids > a) & (mids < b), 0.0, duration)
    r, h = _active(ref_spans, starts, ends), _active(hyp_spans, starts, ends)
    n_ref, n_sys = r.sum(0), h.sum(0)
    correct = np.zeros_like(duration)
    if len(ref_spans) and len(hyp_spans):
        together = (r[:, None, :] & h[None, :, :]) @ duration  # [ref, hyp] seconds active together
        rows, cols = linear_sum_assignment(-together)
        for i, j in zip(rows, cols):
            correct += r[i] & h[j]
    return DiarizationError(
        miss=float(np.sum(np.maximum(n_ref - n_sys, 0) * duration)),
        false_alarm=float(np.sum(np.maximum(n_sys - n_ref, 0) * duration)),
        confusion=float(np.sum((np.minimum(n_ref, n_sys) - correct) * duration)),
        total=float(np.sum(n_ref * duration)))


def diarization_error(ref: Mapping[str, Sequence[Turn]], hyp: Mapping[str, Sequence[Turn]],
                      collar: float = 0.0) -> DiarizationError:
    """Summed over the reference files; a file the system left out counts as all missed.

    System turns of a file absent from the reference are an error: they would be scored
    against nothing, which usually means mismatched file ids.
    """
    extra = sorted(set(hyp) - set(ref))
    if extra:
        raise ValueError(f"{len(extra)} system file(s) are not in the reference (e.g. {extra[:3]}): "
                         f"the file ids of the two RTTMs must match")
    total = NO_ERROR
    for file in sorted(ref):
        total = total + file_error(ref[file], hyp.get(file, ()), collar)
    return total


def activity_to_turns(probabilities: np.ndarray, file: str, frame_seconds: float, threshold: float = 0.5,
                      median: int = 1, speakers: Sequence[str] | None = None) -> list[Turn]:
    """Turns of one recording from ``[frames, speakers]`` activity probabilities (EEND decoding).

    A frame is active when its probability exceeds ``threshold``; ``median`` (odd, frames)
    smooths each speaker's 0/1 track; frame ``i`` spans ``[i, i + 1) * frame_seconds``.
    Speakers are named ``speakers[k]``, default ``<file>_<k>``.
    """
    if median < 1 or median % 2 == 0:
        raise ValueError(f"the median filter length must be a positive odd number of frames, got {median}")
    active = (np.asarray(probabilities) > threshold).astype(np.float64)
    if active.ndim != 2:
        raise ValueError(f"expected [frames, speakers] activities, got shape {active.shape}")
    if median > 1 and len(active):
        active = medfilt(active, (median, 1))
    names = list(speakers) if speakers is not None else [f"{file}_{k}" for k in range(active.shape[1])]
    turns = []
    for k, track in enumerate(active.T):
        edges = np.flatnonzero(np.diff(np.concatenate([[0.0], track, [0.0]])))
        for a, b in zip(edges[::2], edges[1::2]):
            turns.append(Turn(file, names[k], a * frame_seconds, b * frame_seconds))
    return turns


def write_der_report(path: str, result: DiarizationError, collar: float) -> None:
    """A one-screen summary: DER and its parts, as percentages of the reference speech."""
    total = result.total or 1.0
    lines = [f"collar {collar:g} s, overlapping speech scored\n",
             f"reference speech {result.total:.2f} s\n",
             f"missed speech    {result.miss:.2f} s  {100 * result.miss / total:6.2f} %\n",
             f"false alarm      {result.false_alarm:.2f} s  {100 * result.false_alarm / total:6.2f} %\n",
             f"confusion        {result.confusion:.2f} s  {100 * result.confusion / total:6.2f} %\n",
             f"DER              {100 * result.der:6.2f} %\n"]
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)
