"""Config sections checked against their defaults: a typo is an error, never a silent default.

Shared by the runner's sections (``speechbench.train.config``) and every expert's own
(``datarc``, ``modelrc``, ...), so experts need nothing from the training machinery.
"""
from __future__ import annotations


class ConfigError(ValueError):
    """A config file or override that cannot be used as written."""


def merge_section(section: dict | None, defaults: dict, where: str) -> dict:
    """``defaults`` updated by ``section``; a key not in ``defaults`` is an error naming ``where``."""
    section = section or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{where} must be a mapping")
    unknown = sorted(set(section) - set(defaults))
    if unknown:
        raise ConfigError(f"unknown keys in {where}: {unknown}; valid: {sorted(defaults)}")
    return {**defaults, **section}


def check_sections(config: dict, valid: tuple[str, ...], where: str) -> None:
    """Refuse sections of ``config`` not in ``valid`` (e.g. a misspelt ``modelrc``)."""
    unknown = sorted(set(config) - set(valid))
    if unknown:
        raise ConfigError(f"unknown sections in {where}: {unknown}; valid: {list(valid)}")
