"""Experiment configs: YAML with checked sections, ``-o`` overrides, a dump beside results.

Unknown keys in the sections the runner owns are errors (a typo must not silently fall back
to a default); ``downstream_expert`` belongs to the task's expert, which checks its own keys.
"""
from __future__ import annotations

import copy
import os
from typing import Any

import yaml

from speechbench.config_sections import ConfigError, merge_section
from speechbench.utils_io import atomic_open

RUNNER_DEFAULTS: dict[str, Any] = {
    "total_steps": 1000,
    "gradient_clipping": 1.0,
    "gradient_accumulate_steps": 1,
    "log_step": 50,
    "eval_step": 200,
    "save_step": 200,
    "max_keep": 2,
    "eval_dataloaders": ["dev"],
    "amp": True,
}
OPTIMIZER_DEFAULTS: dict[str, Any] = {"name": "AdamW", "lr": 1e-4, "weight_decay": 0.0, "upstream_lr": None}
SCHEDULER_DEFAULTS: dict[str, Any] = {"name": "none", "num_warmup_steps": 0}
FEATURIZER_DEFAULTS: dict[str, Any] = {"layer_norm": False}
SECTIONS = {"runner": RUNNER_DEFAULTS, "optimizer": OPTIMIZER_DEFAULTS,
            "scheduler": SCHEDULER_DEFAULTS, "featurizer": FEATURIZER_DEFAULTS}


def load_config(path: str) -> dict:
    """Read a YAML config file into a dict (errors name the file)."""
    if not os.path.isfile(path):
        raise ConfigError(f"config file not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            config = yaml.safe_load(f) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return config


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
    """Fill runner-owned sections with defaults; reject unknown keys with the valid ones listed."""
    config = copy.deepcopy(config)
    unknown_sections = sorted(set(config) - set(SECTIONS) - {"downstream_expert"})
    if unknown_sections:
        raise ConfigError(f"unknown config sections {unknown_sections}; valid: {sorted(SECTIONS) + ['downstream_expert']}")
    for name, defaults in SECTIONS.items():
        config[name] = merge_section(config.get(name), defaults, f"config section '{name}'")
    config.setdefault("downstream_expert", {})
    return config


def dump_config(config: dict, path: str) -> None:
    """Write the effective config (atomically) so every result sits beside its config."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False)
