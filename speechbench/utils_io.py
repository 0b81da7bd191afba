"""File helpers: atomic writes (a killed process never leaves a half-written file behind), list files
read line by line with one way of naming a bad line, sizes for people."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from typing import IO, Callable, Iterator

TMP_PREFIX = ".tmp."
"""Start of the name of :func:`atomic_open`'s temporary file (``.tmp.<random>.<name>``), for cleaning up after kills."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it over ``path`` on success only."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=TMP_PREFIX, suffix="." + os.path.basename(path))
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results must be readable on shared clusters
    try:
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_fields(path: str | os.PathLike, count: int, expected: str, error: type[Exception],
                valid: Callable[[list[str]], bool] | None = None, **open_kwargs) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of each non-blank line of a whitespace-separated list file.

    A line without ``count`` fields (or one ``valid`` rejects) raises ``error`` naming
    ``path:line``, the ``expected`` form (e.g. ``"`utt label`"``) and the line as found,
    so every list file reports a bad line the same way; so does a file that is not UTF-8 text.
    """
    try:
        with open(path, encoding="utf-8", **open_kwargs) as f:
            for lineno, line in enumerate(f, 1):
                fields = line.split()
                if not fields:
                    continue
                if len(fields) != count or (valid is not None and not valid(fields)):
                    raise error(f"{os.fspath(path)}:{lineno}: expected {expected}, got '{line.strip()}'")
                yield lineno, fields
    except UnicodeDecodeError as e:
        raise error(f"{os.fspath(path)} is not UTF-8 text ({e.reason}): expected {expected} lines") from None


def human_bytes(n: float) -> str:
    """1234567 -> '1.2 MB' (powers of 1000, as disk sizes are sold)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
