"""Find upstream and downstream experts by folder name.

A folder ``speechbench/<kind>/<name>/`` with an ``expert.py`` is an expert; its name is the
CLI name. Nothing is registered by hand, so a new expert touches only its own folder.
"""
from __future__ import annotations

import importlib
import os
from typing import Any

from speechbench.errors import UnknownExpertError

_ROOT = os.path.dirname(os.path.abspath(__file__))
_CLASS = {"upstream": "UpstreamExpert", "downstream": "DownstreamExpert"}


def available(kind: str) -> list[str]:
    """Names of every ``<kind>`` expert folder (``kind`` is upstream or downstream)."""
    base = os.path.join(_ROOT, kind)
    return sorted(n for n in os.listdir(base)
                  if not n.startswith(("_", ".")) and os.path.isfile(os.path.join(base, n, "expert.py")))


def expert_class(kind: str, name: str) -> Any:
    """Import ``speechbench.<kind>.<name>.expert`` and return its expert class."""
    names = available(kind)
    if name not in names:
        raise UnknownExpertError(f"unknown {kind} '{name}'; available: {', '.join(names)}")
    module = importlib.import_module(f"speechbench.{kind}.{name}.expert")
    try:
        return getattr(module, _CLASS[kind])
    except AttributeError:
        raise UnknownExpertError(f"speechbench/{kind}/{name}/expert.py defines no {_CLASS[kind]}") from None


def expert_dir(kind: str, name: str) -> str:
    """Folder of an expert (its config.yaml and README live there)."""
    return os.path.join(_ROOT, kind, name)
