"""A local file server for the hub tests: standard library only, 127.0.0.1 on a free port.

Serves byte strings by path with HTTP ``Range`` support, answers 404 for anything else, can
cut a connection mid-file, serve slowly or pose as a web page, and logs every request.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_RANGE = re.compile(r"bytes=(\d+)-$")


@dataclass
class Request:
    path: str
    range: str | None
    status: int
    sent: int  # body bytes written so far


class FileServer:
    """``files[path] = bytes``; ``cut[path] = n`` cuts the next ``n`` responses half-way."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}
        self.html: set[str] = set()
        self.delay = 0.0  # seconds between 64 KiB blocks
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def gets(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def __enter__(self) -> "FileServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path
                body = server.files.get(path)
                asked = self.headers.get("Range")
                if body is None:
                    server._log(path, asked, 404)
                    self.send_error(404, "Not Found")
                    return
                start, status = 0, 200
                match = _RANGE.match(asked or "")
                if match:
                    start = int(match.group(1))
                    if start >= len(body):
                        server._log(path, asked, 416)
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                request = server._log(path, asked, status)
                self.send_response(status)
                self.send_header("Content-Type", "text/html" if path in server.html else "application/octet-stream")
                self.send_header("Content-Length", str(len(body) - start))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.end_headers()
                payload = body[start:]
                with server._lock:
                    cutting = server.cut.get(path, 0) > 0
                    if cutting:
                        server.cut[path] -= 1
                if cutting:
                    payload = payload[:len(payload) // 2]
                for i in range(0, len(payload), 1 << 16):
                    if server.delay:
                        time.sleep(server.delay)
                    self.wfile.write(payload[i:i + (1 << 16)])
                    request.sent += len(payload[i:i + (1 << 16)])
                self.wfile.flush()
                if cutting:
                    self.close_connection = True

        return Handler

    def _log(self, path: str, asked: str | None, status: int) -> Request:
        request = Request(path, asked, status, 0)
        with self._lock:
            self.requests.append(request)
        return request
