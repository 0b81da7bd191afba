"""Synthetic speakers (accent x voice variant x pitch x rate) and prosody styles.

A speaker is a fixed espeak-ng voice (accent + variant) with its own pitch, pitch range,
speaking rate and loudness; each utterance jitters pitch and rate a little around them so
that no two renditions of a speaker are identical.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from speechbench.corpora.mini.espeak import Voice

# "en" is British English (espeak-ng names its file gmw/en; "en-gb" is not a voice name).
ACCENTS = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5")
EMOTIONS = ("neutral", "happy", "sad", "angry")


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: id ``s###``, espeak voice, and base prosody."""

    spk_id: str
    accent: str
    variant: str
    pitch: int
    range: int
    rate: int
    volume: int


@dataclass(frozen=True)
class Style:
    """A prosody style: espeak parameter offsets/factors and a post-filter voice quality.

    ``tilt`` > 0 brightens the spectrum (tense voice), < 0 darkens it (lax, breathy);
    ``drive`` > 0 adds soft-clipping harshness.
    """

    pitch_shift: int
    range_factor: float
    rate_factor: float
    volume_factor: float
    wordgap: int
    tilt: float
    drive: float


STYLES: dict[str, Style] = {
    "neutral": Style(0, 1.0, 1.0, 1.0, 0, 0.0, 0.0),
    "happy": Style(14, 1.7, 1.12, 1.15, 0, 0.3, 0.0),
    "sad": Style(-12, 0.35, 0.78, 0.6, 2, -0.6, 0.0),
    "angry": Style(4, 1.3, 1.18, 1.6, 0, 0.6, 2.5),
}


def make_speakers(n: int, rng: np.random.Generator, prefix_start: int = 0) -> list[Speaker]:
    """``n`` distinct speakers; accents and variants are spread evenly, the rest is random."""
    combos = [(a, v) for v in VARIANTS for a in ACCENTS]
    order = rng.permutation(len(combos))
    speakers = []
    for k in range(n):
        accent, variant = combos[int(order[k % len(combos)])]
        speakers.append(Speaker(
            spk_id=f"s{prefix_start + k:03d}", accent=accent, variant=variant,
            pitch=int(rng.integers(25, 76)), range=int(rng.integers(35, 66)),
            rate=int(rng.integers(140, 186)), volume=int(rng.integers(80, 121))))
    return speakers


def voice_for(speaker: Speaker, style: str, rng: np.random.Generator) -> Voice:
    """The espeak voice for one utterance: speaker base x style x small random jitter."""
    st = STYLES[style]
    pitch = speaker.pitch + st.pitch_shift + int(rng.integers(-4, 5))
    rate = speaker.rate * st.rate_factor * float(rng.uniform(0.95, 1.05))
    return Voice(name=f"{speaker.accent}+{speaker.variant}",
                 rate=int(round(rate)), pitch=int(np.clip(pitch, 0, 99)),
                 range=int(np.clip(speaker.range * st.range_factor, 0, 99)),
                 volume=int(np.clip(speaker.volume * st.volume_factor, 10, 200)),
                 wordgap=st.wordgap)
