"""Reading and writing the ``key value`` files of a Kaldi data directory.

Keys are unique and sorted in C (byte) order, as ``LC_ALL=C sort`` would.
"""
from __future__ import annotations

import os
import shutil
from typing import Iterable, Mapping, Sequence

import kaldiio
import numpy as np

from speechbench.errors import DataError
from speechbench.utils_io import atomic_open


class DataDirError(DataError):
    """A data dir is missing, incomplete or inconsistent; the message names the fix."""


def c_sorted(keys: Iterable[str]) -> list[str]:
    """Sort as ``LC_ALL=C sort`` does (by UTF-8 bytes)."""
    return sorted(keys, key=lambda k: k.encode("utf-8"))


def read_kv(path: str | os.PathLike) -> dict[str, str]:
    """Read a ``key value`` file into an ordered dict (value is the rest of the line)."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            key, *rest = line.split(maxsplit=1)  # Kaldi splits on spaces or tabs
            value = rest[0] if rest else ""
            if key in out:
                raise DataDirError(f"{path}:{lineno}: duplicate key '{key}' (keys must be unique; "
                                 f"run `python -m speechbench.data.validate "
                                 f"{os.path.dirname(os.fspath(path)) or '.'} --fix`)")
            out[key] = value.strip()
    return out


def write_kv(path: str | os.PathLike, mapping: Mapping[str, object]) -> None:
    """Write ``key value`` lines, C-sorted by key, atomically."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        for key in c_sorted(mapping):
            value = mapping[key]
            if isinstance(value, (list, tuple)):
                value = " ".join(str(v) for v in value)
            f.write(f"{key} {value}\n")


def read_int_vectors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Frame-level labels (alignments): ``*.ark``/``*.scp`` via kaldiio, else ``utt i i i`` text."""
    path = os.fspath(path)
    if path.endswith((".ark", ".scp")):
        try:
            if path.endswith(".scp"):
                items = kaldiio.load_scp(path)
            else:
                items = dict(kaldiio.load_ark(path))
            out = {k: np.asarray(items[k]) for k in items}
        except Exception as e:  # kaldiio raises assorted types on bad archives
            raise DataDirError(f"{path}: cannot read as a Kaldi archive ({type(e).__name__}: {e}); "
                               f"write it with kaldiio.save_ark or copy-int-vector") from None
        for key, vec in out.items():
            if vec.ndim != 1 or not np.issubdtype(vec.dtype, np.integer):
                raise DataDirError(f"{path}: entry '{key}' is a {vec.dtype} array of shape "
                                   f"{vec.shape}, not an integer vector (alignments hold one "
                                   f"label id per frame)")
        return out
    out = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            key, *ids = line.split()
            try:
                out[key] = np.array([int(i) for i in ids], dtype=np.int32)
            except ValueError:
                raise DataDirError(f"{path}:{lineno}: '{key}' has a non-integer label; alignments "
                                   f"are `utt id id id ...` with integer ids") from None
    return out


def write_int_vectors(path: str | os.PathLike, vectors: Mapping[str, np.ndarray]) -> None:
    """Write alignments as a binary ``*.ark`` (kaldiio) or ``utt i i i`` text, atomically."""
    path = os.fspath(path)
    if path.endswith(".ark"):
        with atomic_open(path, "wb") as f:
            kaldiio.save_ark(f, {k: np.asarray(vectors[k], dtype=np.int32)
                                 for k in c_sorted(vectors)})
    else:
        write_kv(path, {k: " ".join(str(int(i)) for i in v) for k, v in vectors.items()})


def spk2utt_from_utt2spk(utt2spk: Mapping[str, str]) -> dict[str, list[str]]:
    """Invert utt2spk; utterance lists in C order."""
    out: dict[str, list[str]] = {}
    for utt in c_sorted(utt2spk):
        out.setdefault(utt2spk[utt], []).append(utt)
    return out


def write_dir_files(out_dir: str | os.PathLike, files: Mapping[str, Mapping[str, object]],
                    utt2spk: Mapping[str, str] | None = None) -> None:
    """Write each ``name -> {key: value}`` of ``files`` into ``out_dir`` (made if missing); with
    ``utt2spk``, also ``utt2spk`` and the ``spk2utt`` it implies."""
    os.makedirs(out_dir, exist_ok=True)
    if utt2spk is not None:
        files = {**files, "utt2spk": utt2spk, "spk2utt": spk2utt_from_utt2spk(utt2spk)}
    for name, mapping in files.items():
        write_kv(os.path.join(out_dir, name), mapping)


# What each standard file is for, so a missing-file error can say who needs it.
FILE_PURPOSE = {
    "wav.scp": "every task (the audio)",
    "segments": "corpora whose utterances are cut from longer recordings",
    "text": "ASR / phoneme recognition (transcripts)",
    "utt2spk": "speaker tasks and per-speaker splits",
    "spk2utt": "speaker tasks (derive it from utt2spk)",
    "utt2dur": "length-sorted batching",
    "utt2num_frames": "cached-feature batching",
    "utt2label": "utterance classification",
    "utt2emotion": "emotion recognition",
    "utt2intent": "intent classification",
    "utt2answer": "spoken question answering",
}
# Keyed by recording (when segments exist) or by speaker.
RECORDING_FILES = frozenset({"reco2dur", "reco2file_and_channel", "reco2num_samples"})
SPEAKER_FILES = frozenset({"spk2utt", "spk2gender", "spk2lang", "cmvn.scp"})
# Not keyed by this dir's utterances: metadata, symbol tables, term-detection ground truth
# (whose second field names documents of another dir), diarization references (RTTM lines
# start with their type).
NON_KV_FILES = frozenset({"feats_dim", "frame_shift", "feats_type", "num_frames", "phones.txt",
                          "words.txt", "tokens.txt", "units.txt", "lexicon.txt", "ground_truth", "rttm"})
NON_KV_SUFFIXES = (".ark", ".log", ".json", ".yaml", ".yml", ".md", ".npy", ".pt", ".done")


def file_kind(name: str, has_segments: bool) -> str:
    """Classify a data-dir file: "utt", "reco", "spk", "lines" or "other" (not key/value).

    "lines" files (trials, ctm) have many lines per utterance; see :func:`line_utterances`.
    """
    if name.startswith(".") or name in NON_KV_FILES or name.endswith(NON_KV_SUFFIXES):
        return "other"
    if name in RECORDING_FILES or (name == "wav.scp" and has_segments):
        return "reco"
    if name in SPEAKER_FILES:
        return "spk"
    if name.startswith("trials") or name == "ctm" or name.endswith(".ctm"):
        return "lines"
    return "utt"


def line_utterances(name: str, fields: Sequence[str]) -> list[str]:
    """Utterances a line of a "lines" file refers to: both sides of a trial, else the first."""
    return list(fields[:2]) if name.startswith("trials") else list(fields[:1])


class DataDir:
    """A Kaldi data dir, read lazily: files are parsed on first use and cached.

    ``utts`` are the utterances that have audio: the keys of ``segments`` when present,
    else of ``wav.scp``.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        if not os.path.isdir(self.path):
            raise DataDirError(f"data dir not found: {self.path} (prepare it with the recipe's "
                               f"data stage or `python -m speechbench.data.make_dir`)")
        self._cache: dict[str, dict[str, str]] = {}
        self._utts: list[str] | None = None

    def __repr__(self) -> str:
        return f"DataDir({self.path!r})"

    def has(self, name: str) -> bool:
        return os.path.isfile(os.path.join(self.path, name))

    def names(self) -> list[str]:
        """Key/value files present (C-sorted), excluding binary archives and metadata."""
        seg = self.has("segments")
        return c_sorted(n for n in os.listdir(self.path)
                        if self.has(n) and file_kind(n, seg) != "other")

    def file(self, name: str, needed_for: str | None = None) -> dict[str, str]:
        """The ``key -> value`` mapping of one file; a clear error when it is absent."""
        if name not in self._cache:
            full = os.path.join(self.path, name)
            if not os.path.isfile(full):
                why = needed_for or FILE_PURPOSE.get(name, "this task")
                raise DataDirError(f"{full} not found: it is needed for {why}. Create it in the "
                                   f"data prep stage (key value lines, C-sorted)")
            try:
                self._cache[name] = read_kv(full)
            except UnicodeDecodeError:
                raise DataDirError(f"{full} is not UTF-8 text: move binary files out of the data "
                                   f"dir or name them *.ark") from None
            except ValueError as e:  # duplicate keys; the message names line and fix
                raise DataDirError(str(e)) from None
        return self._cache[name]

    def int_vectors(self, name: str, needed_for: str | None = None) -> dict[str, np.ndarray]:
        """Frame-level labels such as ``phones.ark`` or a text ``ali`` file."""
        full = os.path.join(self.path, name)
        if not os.path.isfile(full):
            raise DataDirError(f"{full} not found: it is needed for "
                               f"{needed_for or 'frame-level labels (alignments)'}. Write it with "
                               f"speechbench.data.kaldi_dir.write_int_vectors")
        return read_int_vectors(full)

    def segments(self) -> dict[str, tuple[str, float, float]]:
        """``segments`` parsed as utt -> (recording, start, end) in seconds."""
        out = {}
        for utt, value in self.file("segments").items():
            parts = value.split()
            try:
                out[utt] = (parts[0], float(parts[1]), float(parts[2]))
            except (IndexError, ValueError):
                raise DataDirError(f"{self.path}/segments: bad line for '{utt}': '{value}' "
                                   f"(expected `utt recording start end`; run `python -m "
                                   f"speechbench.data.validate {self.path}`)") from None
        return out

    @property
    def utts(self) -> list[str]:
        if self._utts is None:
            source = "segments" if self.has("segments") else "wav.scp"
            self._utts = c_sorted(self.file(source))
        return self._utts

    def write(self, out_dir: str | os.PathLike, utts: Iterable[str] | None = None) -> "DataDir":
        """Write the dir (or the subset ``utts``) to ``out_dir``; spk2utt is regenerated."""
        keep = set(self.utts if utts is None else utts)
        missing = keep.difference(self.utts)
        if missing:
            raise DataDirError(f"{len(missing)} utterances to write have no audio in {self.path} "
                               f"(e.g. '{c_sorted(missing)[0]}')")
        out_dir = os.fspath(out_dir)
        os.makedirs(out_dir, exist_ok=True)
        seg = self.has("segments")
        recos = ({v.split()[0] for k, v in self.file("segments").items() if k in keep}
                 if seg else set())
        utt2spk = {k: v for k, v in self.file("utt2spk").items() if k in keep} \
            if self.has("utt2spk") else {}
        speakers = set(utt2spk.values())
        for name in os.listdir(self.path):
            if not self.has(name):
                continue
            kind = file_kind(name, seg)
            if kind == "other":
                if not name.endswith(".ark") and not name.startswith("."):
                    shutil.copyfile(os.path.join(self.path, name), os.path.join(out_dir, name))
                continue
            if name == "spk2utt":
                continue
            if kind == "lines":
                self._write_lines(name, out_dir, keep)
                continue
            wanted = {"utt": keep, "reco": recos, "spk": speakers}[kind]
            data = self.file(name)
            write_kv(os.path.join(out_dir, name), {k: v for k, v in data.items() if k in wanted})
        if utt2spk:
            write_kv(os.path.join(out_dir, "spk2utt"), spk2utt_from_utt2spk(utt2spk))
        return DataDir(out_dir)

    def _write_lines(self, name: str, out_dir: str, keep: set[str]) -> None:
        with open(os.path.join(self.path, name), encoding="utf-8") as f:
            lines = [ln for ln in f if ln.strip()
                     and all(u in keep for u in line_utterances(name, ln.split()))]
        with atomic_open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            f.writelines(lines)


def split_data_dir(src: str | os.PathLike, nj: int, out_root: str | os.PathLike | None = None
                   ) -> list[str]:
    """Split into ``nj`` contiguous, C-sorted chunks of utterances, as Kaldi's split_data.sh.

    Parts go to ``{out_root or src}/split{nj}/{1..nj}``; returns their paths.
    """
    dd = DataDir(src)
    utts = dd.utts
    if nj < 1 or nj > len(utts):
        raise DataDirError(f"cannot split {dd.path} ({len(utts)} utterances) into {nj} parts: "
                           f"use 1 <= nj <= {len(utts)}")
    base = os.path.join(os.fspath(out_root) if out_root is not None else dd.path, f"split{nj}")
    parts = []
    for i in range(nj):
        lo, hi = len(utts) * i // nj, len(utts) * (i + 1) // nj
        part = os.path.join(base, str(i + 1))
        dd.write(part, utts[lo:hi])
        parts.append(part)
    return parts
