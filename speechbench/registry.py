"""Find upstream and downstream experts by folder name, check them, build upstreams.

A folder ``speechbench/<kind>/<name>/`` with an ``expert.py`` is an expert; its name is the
CLI name. Nothing is registered by hand, so a new expert touches only its own folder. Each
class is checked against :mod:`speechbench.contracts` when it is loaded, and every upstream
is built here (runner, feature extraction, term detection), so each gets the same checks.
"""
from __future__ import annotations

import importlib
import os
from typing import Any

from torch import nn

from speechbench import contracts
from speechbench.errors import UnknownExpertError

_ROOT = os.path.dirname(os.path.abspath(__file__))
_CLASS = {"upstream": "UpstreamExpert", "downstream": "DownstreamExpert"}
_CHECK = {"upstream": contracts.check_upstream_class, "downstream": contracts.check_downstream_class}


def available(kind: str) -> list[str]:
    """Names of every ``<kind>`` expert folder (``kind`` is upstream or downstream)."""
    base = os.path.join(_ROOT, kind)
    return sorted(n for n in os.listdir(base)
                  if not n.startswith(("_", ".")) and os.path.isfile(os.path.join(base, n, "expert.py")))


def expert_class(kind: str, name: str) -> Any:
    """Import ``speechbench.<kind>.<name>.expert`` and return its expert class, checked against the contract."""
    names = available(kind)
    if name not in names:
        raise UnknownExpertError(f"unknown {kind} '{name}'; available: {', '.join(names)}")
    module = importlib.import_module(f"speechbench.{kind}.{name}.expert")
    where = f"speechbench/{kind}/{name}/expert.py"
    try:
        cls = getattr(module, _CLASS[kind])
    except AttributeError:
        raise UnknownExpertError(f"{where} defines no {_CLASS[kind]}") from None
    _CHECK[kind](cls, where)
    return cls


def build_upstream(name: str, ckpt: str | None = None, options: dict[str, Any] | None = None,
                   device: str = "cpu") -> nn.Module:
    """The upstream ``name`` built from its checkpoint (or random weights) and options, on ``device``."""
    model = expert_class("upstream", name)(ckpt, **(options or {}))
    contracts.check_upstream(model, f"speechbench/upstream/{name}/expert.py")
    return model.to(device)


def expert_dir(kind: str, name: str) -> str:
    """Folder of an expert (its config.yaml and README live there)."""
    return os.path.join(_ROOT, kind, name)
