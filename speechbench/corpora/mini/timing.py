"""Phone segments and word spans from espeak-ng events.

espeak-ng sometimes speaks a function word as part of the previous word ("on the" gives one
WORD event): such groups are split using each word's phone count when spoken alone.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Callable

from speechbench.corpora.mini.espeak import Synthesis
from speechbench.corpora.mini.phones import SIL, espeak_to_cmu

Segment = tuple[int, int, str]  # start, end (samples, end exclusive), CMU phone or sil


@dataclass
class Timings:
    """Phone segments covering [0, num_samples) and one (start, end) span per text word."""

    segments: list[Segment]
    words: list[tuple[int, int]]
    num_samples: int


def join_words(sentences: list[list[str]]) -> tuple[str, list[int]]:
    """The text given to espeak (sentences end with '.') and each word's char offset."""
    parts, offsets, pos = [], [], 0
    for sentence in sentences:
        for i, word in enumerate(sentence):
            token = word + ("." if i == len(sentence) - 1 else "")
            offsets.append(pos)
            parts.append(token)
            pos += len(token) + 1
    return " ".join(parts), offsets


def _event_spans(synth: Synthesis) -> list[tuple[int, int, str]]:
    """(start, end, mnemonic) per phoneme event, non-empty, covering the audio from the
    first event on."""
    n = len(synth.audio)
    starts = [min(max(s, 0), n) for s, _ in synth.phones]
    spans = []
    for k, (start, (_, mnem)) in enumerate(zip(starts, synth.phones)):
        end = starts[k + 1] if k + 1 < len(starts) else n
        if end > start:
            spans.append((start, end, mnem))
    return spans


def _split(n_phones: int, counts: list[int]) -> list[int]:
    """How many of a merged group's phones each word gets (all words >= 1 when possible)."""
    if len(counts) == 1:
        return [n_phones]
    trailing = sum(counts[1:])
    if n_phones > trailing:
        return [n_phones - trailing] + counts[1:]
    total = sum(counts)
    out = [max(1, round(n_phones * c / total)) for c in counts]
    while sum(out) > n_phones and max(out) > 0:
        out[out.index(max(out))] -= 1
    out[0] += n_phones - sum(out)
    return out


def compute_timings(synth: Synthesis, word_offsets: list[int],
                    isolated_count: Callable[[int], int]) -> Timings:
    """Segments (CMU phones, 22050 Hz samples) and word spans for one synthesis.

    ``isolated_count(i)`` is the number of phones of word i spoken alone.
    """
    n = len(synth.audio)
    spans = _event_spans(synth)
    segments: list[Segment] = []
    for start, end, mnem in spans:
        cmu = espeak_to_cmu(mnem)
        if not cmu:
            if segments:
                segments[-1] = (segments[-1][0], end, segments[-1][2])
            continue
        bounds = [start + (end - start) * j // len(cmu) for j in range(len(cmu) + 1)]
        for j, phone in enumerate(cmu):
            if bounds[j + 1] > bounds[j]:
                segments.append((bounds[j], bounds[j + 1], phone))
    segments = _cover(segments, n)

    # word groups: each WORD event starts a group holding its word and the unannounced ones after it
    events = sorted(synth.words)
    group_word = []
    for _, char_off, _ in events:
        # a sentence-initial word is reported one character early (at the space before it)
        idx = max(bisect.bisect_right(word_offsets, char_off + 1) - 1, 0)
        if not group_word or idx > group_word[-1]:
            group_word.append(idx)
    if not group_word:
        raise ValueError("espeak-ng reported no WORD events")
    group_word[0] = 0
    event_samples = [s for s, _, _ in events][:len(group_word)]
    speech = [(s, e) for s, e, m in spans if espeak_to_cmu(m) not in ((SIL,), ())]
    groups: list[list[tuple[int, int]]] = [[] for _ in group_word]
    for s, e in speech:
        g = max(bisect.bisect_right(event_samples, s) - 1, 0)
        groups[g].append((s, e))
    words: list[tuple[int, int]] = []
    for g, first in enumerate(group_word):
        last = group_word[g + 1] if g + 1 < len(group_word) else len(word_offsets)
        phones = groups[g]
        counts = [max(isolated_count(i), 1) for i in range(first, last)]
        at = phones[0][0] if phones else event_samples[g]
        pos = 0
        for take in _split(len(phones), counts):
            mine = phones[pos:pos + take]
            pos += take
            words.append((mine[0][0], mine[-1][1]) if mine else (at, at))
            if mine:
                at = mine[-1][1]
    return Timings(segments=segments, words=words, num_samples=n)


def _cover(segments: list[Segment], n: int) -> list[Segment]:
    """Fill the gaps (and the start/end) with sil and merge adjacent sil segments."""
    out: list[Segment] = []
    pos = 0
    for s, e, p in segments + [(n, n, SIL)]:
        if s > pos:
            out.append((pos, s, SIL))
        if e > s:
            out.append((s, e, p))
        pos = max(pos, e)
    merged: list[Segment] = []
    for s, e, p in out:
        if merged and merged[-1][2] == SIL and p == SIL:
            merged[-1] = (merged[-1][0], e, SIL)
        else:
            merged.append((s, e, p))
    return merged


def rescale(t: Timings, ratio: float, num_samples: int, lead: int) -> Timings:
    """Map timings to another sample rate (``ratio`` = new/old) after ``lead`` samples of
    silence are prepended; the audio is ``num_samples`` long in total."""
    def conv(x: int) -> int:
        return min(lead + round(x * ratio), num_samples)
    segs = [(conv(s), conv(e), p) for s, e, p in t.segments]
    segs = _cover([(s, e, p) for s, e, p in segs if e > s], num_samples)
    words = [(conv(s), conv(e)) for s, e in t.words]
    return Timings(segments=segs, words=words, num_samples=num_samples)
