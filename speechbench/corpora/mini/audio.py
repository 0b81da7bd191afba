"""Signal processing of the mini corpus: resampling, voice quality, and light realism
(synthetic reverberation and additive white/pink/babble noise at a seeded SNR).

Filters run in float64 with fixed-order code (scipy), so that the int16 files do not depend
on the CPU's vector instructions (a float32 convolution does: its rounding shows in the
16th bit).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.signal import fftconvolve, lfilter, resample_poly

from speechbench.corpora.mini.espeak import ESPEAK_RATE_HZ
from speechbench.corpora.mini.phones import SAMPLE_RATE
from speechbench.corpora.mini.speakers import Style

NOISE_KINDS = ("white", "pink", "babble")


_GCD = math.gcd(ESPEAK_RATE_HZ, SAMPLE_RATE)


def to_16k(audio_int16: np.ndarray) -> np.ndarray:
    """espeak's 22050 Hz int16 output as float32 in [-1, 1] at 16 kHz (polyphase FIR)."""
    x = audio_int16.astype(np.float64) / 32768.0
    return resample_poly(x, SAMPLE_RATE // _GCD, ESPEAK_RATE_HZ // _GCD).astype(np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def apply_style(x: np.ndarray, style: Style) -> np.ndarray:
    """Voice quality of a prosody style: spectral tilt and soft-clipping, loudness kept."""
    if style.tilt == 0 and style.drive == 0:
        return x
    level = _rms(x)
    y = x.astype(np.float64)
    if style.tilt > 0:
        y = lfilter([1.0, -0.9 * style.tilt], [1.0], y)
    elif style.tilt < 0:
        pole = 0.9 * -style.tilt
        y = lfilter([1.0 - pole], [1.0, -pole], y)
    if style.drive > 0:
        peak = float(np.max(np.abs(y))) + 1e-9
        y = np.tanh(style.drive * y / peak)
    return (y * (level / _rms(y))).astype(np.float32)


def reverberate(x: np.ndarray, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """Convolve with an exponential-decay noise RIR (direct path + diffuse tail); the
    output keeps the input's length (so alignments stay valid) and level."""
    n = max(int(rt60 * SAMPLE_RATE), 16)
    t = np.arange(n) / SAMPLE_RATE
    rir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60) * 0.3
    rir[: int(0.002 * SAMPLE_RATE)] = 0.0
    rir[0] = 1.0
    y = fftconvolve(x, rir)[: len(x)]
    return (y * (_rms(x) / _rms(y))).astype(np.float32)


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise: white noise through Kellet's 3-pole approximation of a -3 dB/octave filter."""
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    return lfilter(b, a, rng.standard_normal(n + 2000))[2000:]


def add_noise(x: np.ndarray, kind: str, snr_db: float, speech_power: float,
              rng: np.random.Generator, babble: np.ndarray) -> np.ndarray:
    """Add ``kind`` noise scaled so that speech_power / noise_power = ``snr_db``."""
    n = len(x)
    if kind == "white":
        noise = rng.standard_normal(n)
    elif kind == "pink":
        noise = _pink(n, rng)
    elif kind == "babble":
        start = int(rng.integers(len(babble)))
        noise = np.resize(np.roll(babble, -start), n).astype(np.float64)
    else:
        raise ValueError(f"unknown noise kind '{kind}' (known: {', '.join(NOISE_KINDS)})")
    gain = np.sqrt(speech_power / (10 ** (snr_db / 10)) / (_rms(noise) ** 2))
    return (x + gain * noise).astype(np.float32)


def to_int16(x: np.ndarray) -> np.ndarray:
    """float -> int16, scaled down only if it would clip (levels otherwise kept)."""
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 0.99:
        x = x * (0.99 / peak)
    return np.round(x * 32767).astype(np.int16)
