"""One URL into one ``.part`` file over plain ``urllib``: resumable, with a progress bar.

A cut connection keeps what arrived; the next request asks for the rest with an HTTP
``Range`` header (a server that ignores it sends the whole file again, and we start over).
"""
from __future__ import annotations

import http.client
import os
import re
import socket
import sys
import urllib.error
import urllib.request

from tqdm import tqdm

import speechbench
from speechbench.utils_io import human_bytes

TIMEOUT_SECONDS = 60
ATTEMPTS = 5
_BLOCK = 1 << 16
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes \*/(\d+)")


class DownloadFailed(Exception):
    """This URL did not give the file; the message is the reason, for the user."""


def discard(part: str) -> None:
    """Remove a partial download and the note of where it came from."""
    for path in (part, part + ".url"):
        if os.path.exists(path):
            os.unlink(path)


def _claim(part: str, url: str) -> None:
    """Resume a partial file only from the URL that began it (two hosts may serve other bytes)."""
    note = part + ".url"
    if os.path.exists(part):
        if os.path.exists(note):
            with open(note, encoding="utf-8") as f:
                if f.read() == url:
                    return
        discard(part)
    os.makedirs(os.path.dirname(os.path.abspath(part)), exist_ok=True)
    with open(note, "w", encoding="utf-8") as f:
        f.write(url)


def download(url: str, part: str, label: str) -> None:
    """Complete ``part`` from ``url``, resuming what it holds; retry a cut connection.

    ``label`` names the progress bar, which vanishes when done (without a terminal: one line
    when bytes start to flow), so a URL that fails adds nothing to the caller's error line.
    """
    _claim(part, url)
    for attempt in range(1, ATTEMPTS + 1):
        before = _size(part)
        try:
            _transfer(url, part, label)
            return
        except (ConnectionError, http.client.IncompleteRead, socket.timeout, TimeoutError) as err:
            reason = f"connection lost after {_size(part)} bytes ({type(err).__name__})"
            if attempt == ATTEMPTS or _size(part) <= before:
                raise DownloadFailed(reason) from None
            print(f"{label}: {reason}", file=sys.stderr, flush=True)


def _size(path: str) -> int:
    return os.path.getsize(path) if os.path.exists(path) else 0


def _open(url: str, start: int) -> http.client.HTTPResponse:
    headers = {"User-Agent": f"speechbench/{speechbench.__version__} (python urllib)"}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as err:
        if err.code == 416 and start:
            raise _RangeNotSatisfiable(err.headers.get("Content-Range", "")) from None
        raise DownloadFailed(f"HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise DownloadFailed(f"no connection ({err.reason})") from None
    except (socket.timeout, TimeoutError):
        raise DownloadFailed(f"no answer in {TIMEOUT_SECONDS} s") from None
    except (ValueError, http.client.HTTPException, OSError) as err:
        raise DownloadFailed(f"cannot open ({err})") from None


class _RangeNotSatisfiable(Exception):
    """HTTP 416: what we hold is not a prefix the server can continue (maybe it is complete)."""


def _transfer(url: str, part: str, label: str) -> None:
    start = _size(part)
    try:
        response = _open(url, start)
    except _RangeNotSatisfiable as err:
        total = _UNSATISFIED_RANGE.match(str(err))
        if total and int(total.group(1)) == start:
            return  # the part already holds the whole file
        os.unlink(part)
        start, response = 0, _open(url, 0)
    with response:
        if "text/html" in (response.headers.get("Content-Type") or ""):
            raise DownloadFailed("the server sent a web page, not the file (a sign-in or confirmation page?)")
        start, total = _resume_point(response, start)
        mode = "ab" if start else "wb"
        with open(part, mode) as out, tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
                                           desc=label, file=sys.stderr, disable=None, leave=False) as bar:
            if bar.disable:  # no terminal (a log file): one line instead of the bar
                size = f", {human_bytes(total)}" if total else ""
                print(f"{label}: {'resuming' if start else 'fetching'} {url}{size}", file=sys.stderr, flush=True)
            if mode == "ab":
                out.truncate(start)
            for block in iter(lambda: response.read(_BLOCK), b""):
                out.write(block)
                bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
    if total is not None and _size(part) < total:
        raise ConnectionResetError(f"{_size(part)} of {total} bytes")
    if total is not None and _size(part) > total:
        os.unlink(part)
        raise DownloadFailed(f"got more bytes than the {total} announced; removed the partial file")


def _resume_point(response: http.client.HTTPResponse, asked: int) -> tuple[int, int | None]:
    """Where our bytes continue (0 when the server sent the whole file) and the file's size."""
    length = response.headers.get("Content-Length")
    if response.status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range") or "")
        if not match or int(match.group(1)) != asked:
            raise DownloadFailed("the server answered a resume request with another byte range")
        return asked, None if match.group(3) == "*" else int(match.group(3))
    return 0, int(length) if length is not None else None
