"""Upstream options from the command line (``key=value,key=value``) and the values they hold."""
from __future__ import annotations

from typing import Any

import yaml

from speechbench.errors import OptionError


def parse_options(text: str | None) -> dict[str, Any]:
    """``k=v,k2=v2`` -> dict, values read as YAML scalars (``3`` is an int, ``true`` a bool)."""
    options: dict[str, Any] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise OptionError(f"upstream option '{item}' has no '=': write key=value")
        options[key.strip()] = yaml.safe_load(value)
    return options


def as_bool(value: Any) -> bool:
    """A flag given as a bool, a number or a string (``1``, ``true``, ``yes``, ``on``; any case)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
