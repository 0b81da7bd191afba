"""Small audio fixtures written with soundfile (fast, deterministic)."""
from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile


def _tone(seconds: float, sr: int, channels: int = 1, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    mono = 0.5 * np.sin(2 * np.pi * freq * t)
    if channels == 1:
        return mono
    return np.stack([mono * (c + 1) / channels for c in range(channels)], axis=1)


def _write_audio(path: str, seconds: float, sr: int, channels: int = 1, **kw) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    soundfile.write(path, _tone(seconds, sr, channels), sr, **kw)
    return path


def _write_lines(path, lines: list[str]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


@pytest.fixture
def write_audio():
    """``write_audio(path, seconds, sr, channels=1, **soundfile_kw)``: a sine at half scale."""
    return _write_audio


@pytest.fixture
def write_lines():
    """``write_lines(path, lines)``: raw lines, exactly as given (unsorted, duplicates...)."""
    return _write_lines


@pytest.fixture
def audio_dir(tmp_path):
    """Three short files in different rates/formats."""
    d = tmp_path / "audio"
    _write_audio(str(d / "a.wav"), 0.5, 16000)
    _write_audio(str(d / "b.flac"), 1.0, 8000)
    _write_audio(str(d / "c.wav"), 0.25, 22050, channels=2)
    return d
