"""Speech synthesis through the libespeak-ng C API, with the engine's own timings.

The library (not the ``espeak-ng`` command) is used because its callback reports a
PHONEME event (mnemonic + sample offset) for every phone and a WORD event for every word
it speaks: these give frame-level phone alignments and word times without a recogniser.

Breathy voices (variants f2, f3, f5) add noise from a random generator: libc ``rand()`` in
espeak-ng 1.51, the engine's own generator (seeded from the clock) in later versions.
Anything else in the process may draw from libc's generator first (libpulse does when
espeak-ng, which opens an audio device even in synchronous mode, runs for the first time on
a machine and creates the sound server's runtime directory), so every synthesis reseeds the
generator from its own text and voice.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from speechbench.errors import SpeechbenchError

ESPEAK_RATE_HZ = 22050
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EV_LIST_TERMINATED, _EV_WORD, _EV_PHONEME = 0, 1, 7
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4, "wordgap": 7}
INSTALL_HINT = "install it with `sudo apt-get install espeak-ng` (or run `make install`)"


class EspeakError(SpeechbenchError, RuntimeError):
    """libespeak-ng is missing or refused a request."""


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Voice:
    """espeak-ng settings for one rendition: ``name`` like ``en-us+f2``; the rest are
    espeak parameters (rate in words/min, pitch/range 0-100, volume 0-200, wordgap in 10 ms)."""

    name: str
    rate: int
    pitch: int
    range: int = 50
    volume: int = 100
    wordgap: int = 0


@dataclass
class Synthesis:
    """Raw engine output at 22050 Hz.

    ``phones``: (start_sample, espeak mnemonic) in time order; a phone lasts until the next
    one starts (the last until the end of ``audio``). ``words``: (start_sample, char_offset,
    char_length) for each WORD event, char offsets 0-based into the input text.
    """

    audio: np.ndarray
    phones: list[tuple[int, str]]
    words: list[tuple[int, int, int]]


def _load_library() -> ctypes.CDLL:
    name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    try:
        return ctypes.CDLL(name)
    except OSError as err:
        raise EspeakError(f"libespeak-ng (the TTS engine of the mini corpus) not found ({err}): "
                          f"{INSTALL_HINT}") from None


def library_version() -> str:
    """The espeak-ng version (e.g. ``1.51``): the corpus bytes depend on it."""
    info = _load_library().espeak_Info
    info.restype = ctypes.c_char_p
    return info(None).decode()


def _noise_seeder(lib: ctypes.CDLL) -> Callable[[int], None]:
    """The function that seeds the generator of espeak-ng's breath noise."""
    try:
        seed = lib.espeak_ng_SetRandSeed  # later espeak-ng versions
        seed.argtypes = [ctypes.c_long]
    except AttributeError:
        seed = ctypes.CDLL(None).srand  # 1.51 and older call libc rand()
        seed.argtypes = [ctypes.c_uint]
    return seed


def noise_seed(text: str, voice: Voice) -> int:
    """The engine's noise seed for one synthesis: a function of what is spoken and how."""
    return zlib.crc32(repr((text, voice)).encode())


class Engine:
    """One espeak-ng instance per process (the library keeps global state)."""

    _instance: "Engine | None" = None

    def __init__(self) -> None:
        self._lib = _load_library()
        rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None,
                                           _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT)
        if rate != ESPEAK_RATE_HZ:
            raise EspeakError(f"espeak_Initialize returned {rate} (expected {ESPEAK_RATE_HZ} Hz): "
                              f"the espeak-ng data files may be missing; {INSTALL_HINT}")
        self._chunks: list[bytes] = []
        self._phones: list[tuple[int, str]] = []
        self._words: list[tuple[int, int, int]] = []
        self._callback = _CALLBACK(self._on_audio)  # kept alive as long as the engine
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._seed_noise = _noise_seeder(self._lib)

    @classmethod
    def get(cls) -> "Engine":
        """The process-wide engine, created on first use."""
        if cls._instance is None:
            cls._instance = Engine()
        return cls._instance

    @classmethod
    def initialised(cls) -> bool:
        """Whether this process has started the engine (its state now depends on history)."""
        return cls._instance is not None

    def _on_audio(self, wav, num_samples: int, events) -> int:
        if num_samples > 0:
            self._chunks.append(ctypes.string_at(wav, num_samples * 2))
        i = 0
        while events[i].type != _EV_LIST_TERMINATED:
            ev = events[i]
            if ev.type == _EV_PHONEME:
                self._phones.append((ev.sample, bytes(ev.id.string).split(b"\0")[0].decode()))
            elif ev.type == _EV_WORD and ev.length > 0:
                self._words.append((ev.sample, ev.text_position - 1, ev.length))
            i += 1
        return 0

    def synthesize(self, text: str, voice: Voice) -> Synthesis:
        """Speak ``text`` (plain UTF-8) with ``voice``; return audio and engine timings."""
        if self._lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise EspeakError(f"espeak-ng has no voice '{voice.name}' "
                              f"(list them with `espeak-ng --voices=en`)")
        for key in ("rate", "pitch", "range", "volume", "wordgap"):
            self._lib.espeak_SetParameter(_PARAM[key], int(getattr(voice, key)), 0)
        self._chunks, self._phones, self._words = [], [], []
        data = text.encode("utf-8")
        self._seed_noise(noise_seed(text, voice))
        status = self._lib.espeak_Synth(ctypes.c_char_p(data), len(data) + 1, 0, _POS_CHARACTER,
                                        0, _CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        if status != 0:
            raise EspeakError(f"espeak_Synth failed with status {status} on text {text!r}")
        audio = np.frombuffer(b"".join(self._chunks), dtype=np.int16).copy()
        return Synthesis(audio=audio, phones=self._phones, words=self._words)
