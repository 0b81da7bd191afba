"""Where fetched checkpoints live, who may write them, and the checksums they must match.

Layout under ``$SPEECHBENCH_CACHE`` (default ``~/.cache/speechbench``)::

    models/<upstream>/<model>/<file>          the verified file (renamed into place last)
    models/<upstream>/<model>/<file>.part     a download in progress (resumed by the next try
    models/<upstream>/<model>/<file>.part.url   from the same URL, which this file names)
    models/<upstream>/<model>/.<file>.lock    held while one process fetches or checks the file
    models.lock                               JSON: sha256 of every file the authors publish no
                                              checksum for, recorded at its first download

Every use of a cached file is checked against the published sha256 or, failing that, the one
in ``models.lock``, so a corrupt file is noticed and fetched again.
"""
from __future__ import annotations

import datetime
import fcntl
import hashlib
import json
import os
import sys
from contextlib import contextmanager
from typing import Iterator

from speechbench.hub.catalog import ReleasedFile, ReleasedModel
from speechbench.hub.errors import HubError
from speechbench.utils_io import atomic_open

CACHE_ENV = "SPEECHBENCH_CACHE"
LOCK_NAME = "models.lock"


def cache_root() -> str:
    """``$SPEECHBENCH_CACHE``, else ``~/.cache/speechbench``."""
    return os.path.abspath(os.path.expanduser(os.environ.get(CACHE_ENV) or "~/.cache/speechbench"))


def file_key(model: ReleasedModel, released: ReleasedFile) -> str:
    """The file's key in ``models.lock`` (and its path under ``models/``)."""
    return f"{model.upstream}/{model.name}/{released.name}"


def cached_path(model: ReleasedModel, released: ReleasedFile) -> str:
    """Where the verified file is (or will be) kept."""
    return os.path.join(cache_root(), "models", *file_key(model, released).split("/"))


def lock_path() -> str:
    return os.path.join(cache_root(), LOCK_NAME)


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def exclusive(path: str, waiting_message: str | None = None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed); say once when we must wait."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as err:
        raise HubError(f"cannot create the lock {path}: {err.strerror}; set ${CACHE_ENV} to a writable "
                       f"directory") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting_message:
                print(waiting_message, file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def recorded(key: str) -> dict | None:
    """The ``models.lock`` entry of ``key`` (sha256, size, url, date), if any."""
    return _read_lock().get(key)


def record(key: str, sha256: str, size: int, url: str) -> None:
    """Add ``key`` to ``models.lock`` (read-modify-write under a lock, written atomically)."""
    with exclusive(lock_path() + ".guard"):
        entries = _read_lock()
        entries[key] = {"sha256": sha256, "size": size, "url": url,
                        "recorded": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        with atomic_open(lock_path(), "w", encoding="utf-8") as f:
            json.dump(entries, f, indent=1, sort_keys=True)
            f.write("\n")


def _read_lock() -> dict[str, dict]:
    path = lock_path()
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise HubError(f"{path} is unreadable ({err}); repair it or delete it (its checksums are then "
                       f"recorded again at the next use)") from None
    if not isinstance(data, dict):
        raise HubError(f"{path} is not a JSON object; repair it or delete it")
    return data
