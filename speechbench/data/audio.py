"""Audio loading for data dirs: every ``wav.scp`` value becomes a 16 kHz mono float tensor.

Users bring audio in any rate and format; converting it up front would double disk use, so
conversion happens here, on read. A ``wav.scp`` value is one of

- a plain path to a wav/flac/ogg/mp3/... file (read with soundfile),
- a Kaldi pipe ``cmd |`` whose stdout is an audio file (e.g. ``sox x.sph -t wav - |``),
- a kaldiio ``ark:offset`` specifier pointing at a wav/flac stored in an archive.

Every failure is an :class:`AudioError` naming the utterance, the path and the fix.
"""
from __future__ import annotations

import io
import logging
import os
import subprocess
from dataclasses import dataclass
from typing import Iterator

import kaldiio
import numpy as np
import soundfile
import torch
import torchaudio.functional as AF

from speechbench.contracts import SAMPLE_RATE
from speechbench.data.kaldi_dir import DataDir, write_kv
from speechbench.errors import DataError

log = logging.getLogger(__name__)

# Kaldi's extract-segments tolerates segments that end this far past the recording.
MAX_SEGMENT_OVERSHOOT = 0.5

_warned_stereo: set[str] = set()


# The shortest input every upstream turns into at least one frame (wav2vec's receptive
# field is 465 samples), in seconds.
MIN_SECONDS = 0.03


class AudioError(DataError):
    """An utterance's audio cannot be read; the message names utt, path and fix.

    ``what`` and ``fix`` hold the two parts, for reports that give their own context.
    """

    def __init__(self, utt: str, spec: str, what: str, fix: str) -> None:
        super().__init__(f"utterance '{utt}': {what}: {spec}\n  fix: {fix}")
        self.utt, self.spec, self.what, self.fix = utt, spec, what, fix


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds before conversion: its own rate, channels and length."""

    sample_rate: int
    channels: int
    frames: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def is_pipe(spec: str) -> bool:
    """True for Kaldi ``cmd |`` specifiers."""
    return spec.rstrip().endswith("|")


def _fail(utt: str, spec: str, what: str, fix: str) -> AudioError:
    return AudioError(utt, spec, what, fix)


def _run_pipe(spec: str, utt: str) -> bytes:
    cmd = spec.rstrip()[:-1].strip()
    try:
        proc = subprocess.run(cmd, shell=True, capture_output=True, check=False)
    except OSError as e:
        raise _fail(utt, spec, f"cannot start the wav.scp command ({e})",
                    "check the command in wav.scp") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise _fail(utt, spec, f"wav.scp command failed with exit code {proc.returncode} "
                    f"({' / '.join(err) or 'no stderr'})",
                    "run the command by hand; make sure the tool is installed and the input exists")
    if not proc.stdout:
        raise _fail(utt, spec, "wav.scp command wrote no audio",
                    "the command must write an audio file to stdout (e.g. `sox in.sph -t wav - |`)")
    return proc.stdout


def _int_to_float(x: np.ndarray) -> np.ndarray:
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(np.float32) / float(2 ** (8 * x.dtype.itemsize - 1))
    return x.astype(np.float32, copy=False)


def _read_ark(spec: str, utt: str) -> tuple[np.ndarray, int]:
    try:
        obj = kaldiio.load_mat(spec)
    except Exception as e:  # kaldiio raises assorted types on bad archives
        raise _fail(utt, spec, f"cannot read archive entry ({type(e).__name__}: {e})",
                    "check the ark path and offset (regenerate the ark/scp if it moved)"
                    ) from None
    if not (isinstance(obj, tuple) and len(obj) == 2):
        raise _fail(utt, spec, "archive entry is a matrix, not audio",
                    "wav.scp must point at audio; put feature archives in feats.scp")
    rate, data = obj
    return _int_to_float(np.asarray(data)), int(rate)


def _read_sound(source, spec: str, utt: str, start: float, end: float | None
                ) -> tuple[np.ndarray, int]:
    """Read [start, end) seconds; seeks in plain files so segments do not decode everything."""
    try:
        with soundfile.SoundFile(source) as f:
            sr, total = f.samplerate, f.frames
            first, last = _segment_frames(start, end, sr, total, spec, utt)
            if first:
                f.seek(first)
            data = f.read(last - first, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, OSError) as e:
        raise _fail(utt, spec, f"cannot decode audio ({e})",
                    "the file is corrupt or not audio: re-export it, or delete its wav.scp line "
                    "and run `python -m speechbench.data.validate DIR --fix`") from None
    return data, sr


def _segment_frames(start: float, end: float | None, sr: int, total: int, spec: str, utt: str
                    ) -> tuple[int, int]:
    first = int(round(start * sr))
    last = total if end is None else int(round(end * sr))
    if end is not None and (last - total) > MAX_SEGMENT_OVERSHOOT * sr:
        raise _fail(utt, spec, f"segment ends at {end:.3f} s, past the end of the recording "
                    f"({total / sr:.3f} s)", "fix the times in `segments`")
    last = min(last, total)
    if first >= last and total > 0:
        raise _fail(utt, spec, f"segment [{start:.3f}, {end}] s is empty in a recording of "
                    f"{total / sr:.3f} s", "fix the times in `segments`")
    return first, max(first, last)


def _check_samples(data: np.ndarray, spec: str, utt: str) -> None:
    """The checks every decoded utterance passes: not empty, every sample finite."""
    if data.size == 0:
        raise _fail(utt, spec, "audio is empty (0 samples)",
                    "remove the utterance from the data dir, or replace the file")
    if not bool(np.isfinite(data).all()):
        raise _fail(utt, spec, "audio contains NaN/Inf samples", "re-export the file")


def _finish(data: np.ndarray, sr: int, spec: str, utt: str, target_sr: int) -> torch.Tensor:
    _check_samples(data, spec, utt)
    if data.ndim == 2 and data.shape[1] > 1:
        if spec not in _warned_stereo:
            _warned_stereo.add(spec)
            log.warning("%s has %d channels: mixing down to mono (utterance %s)",
                        spec, data.shape[1], utt)
        data = data.mean(axis=1)
    wav = torch.from_numpy(np.ascontiguousarray(data.reshape(-1), dtype=np.float32))
    if sr != target_sr:
        wav = AF.resample(wav, sr, target_sr)
    return wav


def _decode(spec: str, utt: str, start: float, end: float | None) -> tuple[np.ndarray, int]:
    """The samples of one ``wav.scp`` value (``[frames, channels]``) at the file's own rate."""
    if not spec:
        raise _fail(utt, "''", "empty wav.scp entry", "give a path or a `cmd |` for this utterance")
    if is_pipe(spec):
        return _read_sound(io.BytesIO(_run_pipe(spec, utt)), spec, utt, start, end)
    if os.path.isfile(spec):
        if os.path.getsize(spec) == 0:
            raise _fail(utt, spec, "audio file is empty (0 bytes)",
                        "replace the file or remove the utterance from the data dir")
        return _read_sound(spec, spec, utt, start, end)
    if _looks_like_ark(spec):
        data, sr = _read_ark(spec, utt)
        data = data.reshape(data.shape[0], -1) if data.size else data.reshape(0, 1)
        first, last = _segment_frames(start, end, sr, data.shape[0], spec, utt)
        return data[first:last], sr
    raise _fail(utt, spec, "audio file not found",
                "fix the path in wav.scp (relative paths are relative to the working "
                "directory), or drop the utterance")


def load_audio(path_or_spec: str, utt: str = "?", target_sr: int = SAMPLE_RATE, *,
               start: float = 0.0, end: float | None = None) -> torch.Tensor:
    """Load one ``wav.scp`` value as a 1-D float32 tensor at ``target_sr`` (mono).

    ``start``/``end`` (seconds) cut a segment, as the ``segments`` file does.
    """
    spec = path_or_spec.strip()
    data, sr = _decode(spec, utt, start, end)
    return _finish(data, sr, spec, utt, target_sr)


def check_audio(path_or_spec: str, utt: str = "?", *, start: float = 0.0,
                end: float | None = None) -> AudioInfo:
    """Decode every sample as :func:`load_audio` would, without converting; raise
    :class:`AudioError` for audio no upstream can use (unreadable, empty, NaN/Inf, too short)."""
    spec = path_or_spec.strip()
    data, sr = _decode(spec, utt, start, end)
    _check_samples(data, spec, utt)
    info = AudioInfo(sr, data.shape[1] if data.ndim == 2 else 1, data.shape[0])
    if info.seconds < MIN_SECONDS:
        raise _fail(utt, spec, f"audio is {info.seconds:.3f} s long, shorter than {MIN_SECONDS} s (the "
                    "shortest input every upstream turns into a frame)",
                    "remove the utterance from the data dir, or replace the file")
    return info


def _looks_like_ark(spec: str) -> bool:
    name, sep, offset = spec.rpartition(":")
    return bool(sep) and offset.split("[")[0].isdigit() and os.path.isfile(name)


def audio_header(path: str, utt: str = "?") -> AudioInfo:
    """What the header of a plain audio file says (rate, channels, length); reads no samples."""
    if os.path.getsize(path) == 0:
        raise _fail(utt, path, "audio file is empty (0 bytes)",
                    "replace the file or remove the utterance from the data dir")
    try:
        info = soundfile.info(path)
    except (RuntimeError, soundfile.LibsndfileError, OSError) as e:
        raise _fail(utt, path, f"cannot read audio header ({e})",
                    "the file is corrupt or not audio: re-export it") from None
    return AudioInfo(info.samplerate, info.channels, info.frames)


def audio_duration(path_or_spec: str, utt: str = "?") -> float:
    """Duration in seconds; reads only the header for plain files."""
    spec = path_or_spec.strip()
    if os.path.isfile(spec) and not is_pipe(spec):
        return audio_header(spec, utt).seconds
    return load_audio(spec, utt).numel() / SAMPLE_RATE


class AudioReader:
    """Mapping utt -> 16 kHz mono tensor for a data dir, honouring ``segments``.

    Consecutive segments of one piped/archived recording share a single decode.
    """

    def __init__(self, data_dir: str, target_sr: int = SAMPLE_RATE) -> None:
        self.dd = DataDir(data_dir)
        self.target_sr = target_sr
        self._wav = self.dd.file("wav.scp")
        self._segments = self.dd.segments() if self.dd.has("segments") else None
        self._cache: tuple[str, torch.Tensor] | None = None

    def keys(self) -> list[str]:
        return self.dd.utts

    def __len__(self) -> int:
        return len(self.dd.utts)

    def __iter__(self) -> Iterator[str]:
        return iter(self.dd.utts)

    def __contains__(self, utt: object) -> bool:
        return utt in (self._segments if self._segments is not None else self._wav)

    def spec(self, utt: str) -> str:
        """The wav.scp value (of the recording, for segmented dirs) behind ``utt``."""
        rec = self._segments[utt][0] if self._segments is not None else utt
        if rec not in self._wav:
            raise KeyError(f"{rec!r} is not in {self.dd.path}/wav.scp "
                           f"(run `python -m speechbench.data.validate {self.dd.path}`)")
        return self._wav[rec]

    def __getitem__(self, utt: str) -> torch.Tensor:
        if utt not in self:
            raise KeyError(f"utterance {utt!r} has no audio in {self.dd.path}")
        spec = self.spec(utt)
        if self._segments is None:
            return load_audio(spec, utt, self.target_sr)
        _, start, end = self._segments[utt]
        if os.path.isfile(spec.strip()):
            return load_audio(spec, utt, self.target_sr, start=start, end=end)
        if self._cache is None or self._cache[0] != spec:
            self._cache = (spec, load_audio(spec, utt, self.target_sr))
        wav = self._cache[1]
        first, last = _segment_frames(start, end, self.target_sr, wav.numel(), spec, utt)
        return wav[first:last]

    def duration(self, utt: str) -> float:
        """Seconds, from utt2dur or segments when present, else from the audio header."""
        if self.dd.has("utt2dur"):
            value = self.dd.file("utt2dur").get(utt)
            if value is not None:
                return float(value)
        if self._segments is not None:
            _, start, end = self._segments[utt]
            return end - start
        return audio_duration(self.spec(utt), utt)


def compute_utt2dur(data_dir: str | os.PathLike) -> dict[str, float]:
    """Write ``utt2dur`` (seconds): from segments, else audio headers (no full decode)."""
    dd = DataDir(data_dir)
    if dd.has("segments"):
        durs = {utt: end - start for utt, (_, start, end) in dd.segments().items()}
    else:
        durs = {utt: audio_duration(spec, utt) for utt, spec in dd.file("wav.scp").items()}
    write_kv(os.path.join(dd.path, "utt2dur"), {u: f"{d:.4f}" for u, d in durs.items()})
    return durs
