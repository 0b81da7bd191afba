"""The fixed phone table (``sil`` + the 39 CMU phones) and the espeak-ng -> CMU mapping."""
from __future__ import annotations

import math

import numpy as np

CMU_PHONES: tuple[str, ...] = tuple(
    "aa ae ah ao aw ay b ch d dh eh er ey f g hh ih iy jh k l m n ng ow oy p r s sh t th "
    "uh uw v w y z zh".split())
SIL = "sil"
PHONES: tuple[str, ...] = (SIL,) + CMU_PHONES
PHONE_ID: dict[str, int] = {p: i for i, p in enumerate(PHONES)}
SAMPLE_RATE = 16000  # of every wav in the corpus
FRAME_SAMPLES = 160  # 10 ms

# espeak-ng English mnemonics (stress marks are not part of phoneme events). Centring and
# r-coloured diphthongs collapse to their vowel; syllabic consonants to the consonant.
_ESPEAK_TO_CMU: dict[str, tuple[str, ...]] = {
    "a": ("ae",), "a#": ("ah",), "a2": ("ae",), "aa": ("ae",), "A:": ("aa",), "A@": ("aa",),
    "A#": ("aa",), "@": ("ah",), "@2": ("ah",), "@5": ("ah",), "@L": ("ah", "l"), "@r": ("er",),
    "3": ("er",), "3:": ("er",), "aI": ("ay",), "aI@": ("ay",), "aI3": ("ay",), "aU": ("aw",),
    "aU@": ("aw",), "e": ("eh",), "E": ("eh",), "E2": ("eh",), "E3": ("eh",), "e@": ("eh",),
    "eI": ("ey",), "i": ("iy",), "i:": ("iy",), "i@": ("iy",), "i@3": ("iy",), "I": ("ih",),
    "I2": ("ih",), "I#": ("ih",), "0": ("aa",), "0@": ("ao",), "O": ("ao",), "O:": ("ao",),
    "O2": ("ao",), "O@": ("ao",), "o@": ("ao",), "oU": ("ow",), "OI": ("oy",), "u:": ("uw",),
    "U": ("uh",), "U@": ("uh",), "u@": ("uh",), "V": ("ah",), "IR": ("ih", "r"), "VR": ("ah", "r"),
    "p": ("p",), "b": ("b",), "t": ("t",), "d": ("d",), "k": ("k",), "g": ("g",), "f": ("f",),
    "v": ("v",), "T": ("th",), "D": ("dh",), "s": ("s",), "z": ("z",), "S": ("sh",),
    "Z": ("zh",), "h": ("hh",), "m": ("m",), "n": ("n",), "N": ("ng",), "l": ("l",),
    "r": ("r",), "w": ("w",), "j": ("y",), "tS": ("ch",), "dZ": ("jh",), "x": ("k",),
    "?": ("t",), "*": ("t",), "W": ("w",),
}
_STRIP = "#/-;!^["
_MODIFIERS = {";"}  # palatalisation: part of the previous phone


def espeak_to_cmu(mnemonic: str) -> tuple[str, ...]:
    """Map one espeak mnemonic to CMU phones (``("sil",)`` for pauses, ``()`` for a
    modifier that belongs to the previous phone).

    Raises ValueError naming the mnemonic when it is unknown, so a new espeak-ng version
    fails loudly instead of producing wrong labels.
    """
    if not mnemonic or mnemonic.startswith("_"):
        return (SIL,)
    if mnemonic in _MODIFIERS:
        return ()
    for candidate in (mnemonic, mnemonic.rstrip(_STRIP), mnemonic.rstrip(_STRIP + "0123456789")):
        if candidate in _ESPEAK_TO_CMU:
            return _ESPEAK_TO_CMU[candidate]
    raise ValueError(f"unknown espeak-ng phoneme '{mnemonic}': add it to _ESPEAK_TO_CMU in "
                     f"{__file__}")


def num_frames(num_samples: int) -> int:
    """Frames of 10 ms needed to cover every sample: frame i covers [160 i, 160 i + 160)."""
    return math.ceil(num_samples / FRAME_SAMPLES)


def frame_labels(segments: list[tuple[int, int, str]], num_samples: int) -> np.ndarray:
    """Phone id per 10 ms frame, from contiguous (start, end, phone) segments at 16 kHz.

    Each frame takes the phone under its centre (clipped to the last sample).
    """
    starts = np.array([s for s, _, _ in segments], dtype=np.int64)
    ids = np.array([PHONE_ID[p] for _, _, p in segments], dtype=np.int32)
    centres = np.minimum(np.arange(num_frames(num_samples)) * FRAME_SAMPLES + FRAME_SAMPLES // 2,
                         num_samples - 1)
    return ids[np.searchsorted(starts, centres, side="right") - 1]


def phone_table_text() -> str:
    """Contents of ``phones.txt``: ``<phone> <id>`` lines."""
    return "".join(f"{p} {i}\n" for i, p in enumerate(PHONES))
