"""What ``-k`` / ``--upstream-ckpt`` means: a file, a released model's name, or ``random``.

An existing path wins; otherwise the value is looked up in the upstream's released models
and fetched through the cache (an upstream without released models gets the value as it
is, and its expert reports a missing file). An upstream that has weights refuses to run
without ``-k``: random weights only when asked for with ``-k random``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from speechbench.hub import cache
from speechbench.hub.catalog import find_model, has_weights, released_models
from speechbench.hub.errors import HubError
from speechbench.hub.fetch import fetch

RANDOM = "random"


@dataclass(frozen=True)
class Weights:
    """The upstream weights an experiment used, as recorded with its results."""

    name: str                 # released model name, the file's name, "random" or "none"
    path: str | None          # what the expert loads (None: no file)
    sha256: str | None = None

    def record(self) -> dict:
        return {"name": self.name, "path": self.path, "sha256": self.sha256}


def resolve_weights(upstream: str, value: str | None) -> Weights:
    """Turn a ``-k`` value into the file to load, fetching a released model when named."""
    if not value:
        if has_weights(upstream):
            raise HubError(f"-u {upstream} needs weights: {_choices(upstream)}")
        return Weights(name="none", path=None)
    if value == RANDOM:
        return Weights(name=RANDOM, path=None)
    if os.path.exists(value):
        path = os.path.abspath(value)
        return Weights(name=os.path.basename(path), path=path,
                       sha256=cache.sha256_of(path) if os.path.isfile(path) else None)
    model = find_model(upstream, value)
    if model is None and not has_weights(upstream):
        return Weights(name=os.path.basename(value), path=os.path.abspath(value))  # the expert reports it
    if model is None:
        raise HubError(f"-k {value}: no such file, and {upstream} has no released model of that name; "
                       f"{_choices(upstream)}")
    path, digest = fetch(model)[0]
    return Weights(name=model.name, path=path, sha256=digest)


def recheck_weights(upstream: str, record: dict | None) -> None:
    """Resuming or evaluating: the weights file an experiment used still holds the same bytes.

    A released model the cache lost is fetched again (and verified); a file whose sha256 is
    not the one recorded when the experiment started is an error.
    """
    if not record or not record.get("path") or not record.get("sha256"):
        return
    path = record["path"]
    model = find_model(upstream, record["name"])
    if model is not None and path == cache.cached_path(model, model.checkpoint):
        path, digest = fetch(model)[0]
    elif os.path.isfile(path):
        digest = cache.sha256_of(path)
    else:
        return  # the expert names the missing file
    if digest != record["sha256"]:
        raise HubError(f"{path} has sha256 {digest}, not the {record['sha256']} this experiment was started with: "
                       f"restore that file, or start a new experiment")


def _choices(upstream: str) -> str:
    names = sorted(released_models(upstream))
    named = f"-k NAME with NAME one of {', '.join(names)} (`speechbench models {upstream}`), " if names else ""
    return f"give {named}-k /path/to/checkpoint, or -k {RANDOM} for random weights (smoke tests only)"
