"""Fixtures: a local file server, an empty cache, and a catalog of our own pointing at the server.

The catalog goes through ``$SPEECHBENCH_MODELS`` (the users' way of adding named checkpoints),
so the code under test is the production path, with 127.0.0.1 in place of the authors' hosts.
"""
from __future__ import annotations

import hashlib
import os

import pytest
import yaml

from checkpoint_hub.server import FileServer


@pytest.fixture
def server():
    with FileServer() as s:
        yield s


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> str:
    """An empty ``$SPEECHBENCH_CACHE``; no mirror, online, no extra catalog.

    Any host but this machine goes through a proxy that does not exist, so a test that
    strays to the authors' real URLs fails at once instead of reaching out.
    """
    path = str(tmp_path / "cache")
    monkeypatch.setenv("SPEECHBENCH_CACHE", path)
    for var in ("SPEECHBENCH_MIRROR", "SPEECHBENCH_OFFLINE", "SPEECHBENCH_MODELS"):
        monkeypatch.delenv(var, raising=False)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def payload(size: int, seed: int = 0) -> bytes:
    """``size`` bytes that differ at every offset (a misplaced resume changes them)."""
    block = hashlib.sha256(str(seed).encode()).digest()
    return (block * (size // len(block) + 1))[:size] if seed else bytes(i % 251 for i in range(size))


class Catalog:
    """Writes ``upstreams: {...}`` entries to a YAML file named by ``$SPEECHBENCH_MODELS``."""

    def __init__(self, path: str, server: FileServer) -> None:
        self.path, self.server, self.entries = path, server, {}
        self.write()

    def write(self) -> None:
        with open(self.path, "w", encoding="utf-8") as f:
            yaml.safe_dump({"upstreams": self.entries}, f)

    def add(self, upstream: str, name: str, data: bytes | None, filename: str = "model.pt", urls=None,
            **fields) -> str:
        """Serve ``data`` (unless None) at ``/<upstream>/<name>/<filename>`` and list it; returns its URL."""
        url = f"{self.server.url}/{upstream}/{name}/{filename}"
        if data is not None:
            self.server.files[url[len(self.server.url):]] = data
        entry = {"name": filename, "urls": urls or [url], **fields}
        models = self.entries.setdefault(upstream, {"models": {}})["models"]
        models[name] = {"description": f"test model {name}", "files": [entry], "paper": "test", "license": "test",
                        "source": "tests/checkpoint_hub"}
        self.write()
        return url


@pytest.fixture
def catalog(tmp_path, server, cache_dir, monkeypatch) -> Catalog:
    path = str(tmp_path / "models.yaml")
    monkeypatch.setenv("SPEECHBENCH_MODELS", path)
    return Catalog(path, server)


def cached(cache_dir: str, upstream: str, name: str, filename: str = "model.pt") -> str:
    return os.path.join(cache_dir, "models", upstream, name, filename)
