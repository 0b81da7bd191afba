"""Experiment configs: YAML with checked sections, ``-o`` overrides, a dump beside results.

In the sections the runner owns, an unknown key, a value of the wrong type or out of range
is an error naming the key (a typo must not silently fall back to a default, ``2.5`` steps
must not become 3) before anything runs. ``downstream_expert`` belongs to the task's expert,
which reads it with :func:`speechbench.config_sections.expert_sections` so that unknown keys
there are errors too.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import yaml

from speechbench.config_sections import SPLITS, ConfigError, load_config, merge_section
from speechbench.utils_io import atomic_open


@dataclass(frozen=True)
class Key:
    """A runner-owned config key: its default, its type, and the smallest value that makes sense."""

    default: Any
    type: type
    minimum: float | None = None
    above_minimum: bool = False  # the minimum itself is not allowed
    none_allowed: bool = False


_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
               list: f"a list of splits out of {list(SPLITS)}, e.g. [dev]"}

SECTIONS: dict[str, dict[str, Key]] = {
    "runner": {
        "total_steps": Key(1000, int, 1),
        "gradient_clipping": Key(1.0, float, 0, above_minimum=True),
        "gradient_accumulate_steps": Key(1, int, 1),
        "log_step": Key(50, int, 1),
        "eval_step": Key(200, int, 1),
        "save_step": Key(200, int, 1),
        "max_keep": Key(2, int, 0),
        "eval_dataloaders": Key(["dev"], list),
        "amp": Key(True, bool),
    },
    "optimizer": {"name": Key("AdamW", str), "lr": Key(1e-4, float, 0), "weight_decay": Key(0.0, float, 0),
                  "upstream_lr": Key(None, float, 0, none_allowed=True)},
    "scheduler": {"name": Key("none", str), "num_warmup_steps": Key(0, int, 0)},
    "featurizer": {"layer_norm": Key(False, bool)},
}


def _expected(key: Key) -> str:
    text = _TYPE_NAMES[key.type]
    if key.minimum is not None:
        text += f" {'>' if key.above_minimum else '>='} {key.minimum:g}"
    return text + (" (or null)" if key.none_allowed else "")


def check_value(value: Any, key: Key, where: str) -> Any:
    """``value`` for ``key`` (numbers written as strings, like YAML's ``1e-3``, become floats);
    a ConfigError naming ``where`` and the expected type otherwise."""
    if value is None and key.none_allowed:
        return None
    if key.type is float and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    ok = {int: isinstance(value, int) and not isinstance(value, bool),
          float: isinstance(value, (int, float)) and not isinstance(value, bool),
          bool: isinstance(value, bool), str: isinstance(value, str),
          list: isinstance(value, list) and all(v in SPLITS for v in value)}[key.type]
    if ok and key.minimum is not None:
        ok = value > key.minimum if key.above_minimum else value >= key.minimum
    if not ok:
        raise ConfigError(f"{where} must be {_expected(key)}, got {value!r}")
    return float(value) if key.type is float else value


def parse_overrides(text: str) -> list[tuple[list[str], Any]]:
    """Parse ``config.a.b=1,,config.c=[1,2]`` (s3prl syntax; ``,,`` separates, values are YAML)."""
    out = []
    for item in (text or "").split(",,"):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"override '{item}' has no '=': write config.section.key=value")
        parts = key.strip().split(".")
        if parts[0] == "config":
            parts = parts[1:]
        if not parts or not all(parts):
            raise ConfigError(f"override '{item}': empty key path")
        out.append((parts, yaml.safe_load(value)))
    return out


def apply_overrides(config: dict, overrides: str) -> dict:
    """Return a copy of ``config`` with overrides applied (new keys allowed; checked later)."""
    config = copy.deepcopy(config)
    for parts, value in parse_overrides(overrides):
        node = config
        for p in parts[:-1]:
            child = node.setdefault(p, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {'.'.join(parts)}: '{p}' is a value, not a section")
            node = child
        node[parts[-1]] = value
    return config


def complete_config(config: dict) -> dict:
    """Fill runner-owned sections with defaults; reject unknown keys (listing the valid ones) and bad values."""
    config = copy.deepcopy(config)
    unknown_sections = sorted(set(config) - set(SECTIONS) - {"downstream_expert"})
    if unknown_sections:
        raise ConfigError(f"unknown config sections {unknown_sections}; valid: {sorted(SECTIONS) + ['downstream_expert']}")
    for name, keys in SECTIONS.items():
        section = merge_section(config.get(name), {k: key.default for k, key in keys.items()},
                                f"config section '{name}'")
        config[name] = {k: check_value(v, keys[k], f"config.{name}.{k}") for k, v in section.items()}
    config.setdefault("downstream_expert", {})
    return config


def dump_config(config: dict, path: str) -> None:
    """Write the effective config (atomically) so every result sits beside its config."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False)
