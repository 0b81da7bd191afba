"""Config sections checked against their defaults: a typo is an error, never a silent default.

Shared by the runner's sections (``speechbench.train.config``) and every expert's own
(``datarc``, ``modelrc``, ...), so experts need nothing from the training machinery.
"""
from __future__ import annotations

import os

import yaml

from speechbench.errors import ConfigError

__all__ = ["ConfigError", "SPLITS", "expert_sections", "load_config", "merge_section"]

SPLITS = ("train", "dev", "test")
"""The splits every task has: ``datarc.<split>`` names its data, ``-t``/``eval_dataloaders`` pick them."""


def load_config(path: str) -> dict:
    """Read a YAML file holding a mapping (errors name the file)."""
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


def merge_section(section: dict | None, defaults: dict, where: str, what: str = "keys") -> dict:
    """``defaults`` updated by ``section``; a key not in ``defaults`` is an error naming ``where``."""
    section = section or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{where} must be a mapping")
    unknown = sorted(set(section) - set(defaults))
    if unknown:
        raise ConfigError(f"unknown {what} in {where}: {unknown}; valid: {sorted(defaults)}")
    return {**defaults, **section}


def expert_sections(downstream_expert: dict | None, sections: dict[str, dict], task: str) -> dict[str, dict]:
    """Read a task's ``downstream_expert`` config: each sub-section merged over its defaults.

    ``sections`` maps sub-section names (``datarc``, ``modelrc``, ...) to their defaults; an
    unknown sub-section or key is a ConfigError naming the task and listing the valid ones.
    """
    given = merge_section(downstream_expert, dict.fromkeys(sections), f"{task} downstream_expert", "sections")
    return {name: merge_section(given[name], defaults, f"{task} {name}") for name, defaults in sections.items()}
