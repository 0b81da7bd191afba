"""Make a released model's files present and verified in the cache, fetching only when needed.

One process at a time per file (a file lock): a second process waits, then finds the file
in place and only checks it. A file is renamed into place after its checksum passed, so the
cache never holds an unverified file under its final name.
"""
from __future__ import annotations

import os
import sys

from speechbench.hub import cache
from speechbench.hub.catalog import ReleasedFile, ReleasedModel
from speechbench.hub.download import DownloadFailed, discard, download
from speechbench.hub.errors import HubError

MIRROR_ENV = "SPEECHBENCH_MIRROR"
OFFLINE_ENV = "SPEECHBENCH_OFFLINE"


def fetch(model: ReleasedModel) -> list[tuple[str, str]]:
    """``(path, sha256)`` of each of the model's files, downloading what the cache lacks."""
    return [_fetch_file(model, released) for released in model.files]


def candidate_urls(model: ReleasedModel, released: ReleasedFile) -> list[str]:
    """``$SPEECHBENCH_MIRROR/<upstream>/<model>/<file>`` first (a site mirror), then the listed URLs."""
    mirror = os.environ.get(MIRROR_ENV, "").rstrip("/")
    urls = [f"{mirror}/{cache.file_key(model, released)}"] if mirror else []
    return urls + list(released.urls)


def _expected(model: ReleasedModel, released: ReleasedFile) -> tuple[str | None, str]:
    """The sha256 the file must have and where that number comes from."""
    if released.sha256:
        return released.sha256, "published by the authors"
    entry = cache.recorded(cache.file_key(model, released))
    if entry:
        return entry["sha256"], f"recorded at its first download in {cache.lock_path()}"
    return None, ""


def _fetch_file(model: ReleasedModel, released: ReleasedFile) -> tuple[str, str]:
    path = cache.cached_path(model, released)
    label = f"{model.upstream}/{model.name}"
    lock = os.path.join(os.path.dirname(path), f".{released.name}.lock")
    with cache.exclusive(lock, f"{label}: another process is fetching {released.name}; waiting for it"):
        if os.path.isfile(path):
            digest = cache.sha256_of(path)
            expected, origin = _expected(model, released)
            if expected is None:
                _record_first(model, released, path, digest, url="(placed in the cache by hand)")
                return path, digest
            if digest == expected:
                return path, digest
            print(f"{label}: the cached {path} has sha256 {digest}, not the {expected} {origin}: "
                  f"fetching it again", file=sys.stderr, flush=True)
            os.unlink(path)
        return path, _download_verified(model, released, path, label)


def _download_verified(model: ReleasedModel, released: ReleasedFile, path: str, label: str) -> str:
    urls = candidate_urls(model, released)
    where = f"put {released.name} (from {released.urls[0]}) at {path} and rerun"
    if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        raise HubError(f"{label} is not in the cache and ${OFFLINE_ENV} is set: {where}")
    part = path + ".part"
    failures = []
    for url in urls:
        try:
            download(url, part, f"{label}: {released.name}")
        except DownloadFailed as err:
            failures.append(f"{url}: {err}")
            continue
        digest = cache.sha256_of(part)
        problem = _check(model, released, os.path.getsize(part), digest)
        if problem:
            discard(part)
            failures.append(f"{url}: {problem}")
            continue
        os.replace(part, path)
        discard(part)
        if _expected(model, released)[0] is None:
            _record_first(model, released, path, digest, url)
        print(f"{label}: {released.name} is in {path}", file=sys.stderr, flush=True)
        return digest
    raise HubError(f"cannot fetch {label}: {'; '.join(failures)}; {where}")


def _check(model: ReleasedModel, released: ReleasedFile, size: int, digest: str) -> str | None:
    """Why the downloaded bytes are not the released file, or None when they are."""
    if released.size is not None and size != released.size:
        return f"{size} bytes, the authors list {released.size}"
    expected, origin = _expected(model, released)
    if expected is None or digest == expected:
        return None
    fix = "" if released.sha256 else f" (if the authors replaced the file, delete its entry in {cache.lock_path()})"
    return f"sha256 {digest}, not the {expected} {origin}{fix}"


def _record_first(model: ReleasedModel, released: ReleasedFile, path: str, digest: str, url: str) -> None:
    """No published checksum: trust this first copy, remember it, and say so (this once)."""
    cache.record(cache.file_key(model, released), digest, os.path.getsize(path), url)
    print(f"{model.upstream}/{model.name}: the authors publish no checksum for {released.name}; recorded its "
          f"sha256 {digest} in {cache.lock_path()}, and every later use is checked against it",
          file=sys.stderr, flush=True)
