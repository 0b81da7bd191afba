"""Which metric ranks each task, and in which direction: read from the tasks' own declarations.

Results files name metrics ``<split>-<name>`` (``test-per``, ``dev-EER``); the report
compares names case-insensitively without the split. A task's *primary* metric is the
leaderboard column and the input of the overall score; the others are kept in the CSV.
Each downstream expert declares its primary metric and direction (``METRIC``) and the
direction of its other metrics (``OTHER_METRICS``), the same declaration the runner keeps
``best-states-dev.ckpt`` by; a metric nobody declares has no direction, and asking for one
is an error rather than a guess.
"""
from __future__ import annotations

import functools

from speechbench import registry
from speechbench.contracts import COMMON_METRICS
from speechbench.errors import DataError

# Column order of the leaderboard (tasks not listed follow, sorted by name).
TASK_ORDER = ["phone", "pr", "asr", "ks", "std", "qa", "speaker", "asv", "sd", "emotion", "intent", "sf"]


class UnknownMetricError(DataError):
    """A metric no downstream declares a direction for."""


@functools.cache
def declared_primary() -> dict[str, str]:
    """Task -> its primary metric name (lower case), from each downstream's ``METRIC``."""
    return {task: registry.expert_class("downstream", task).METRIC[0].lower()
            for task in registry.available("downstream")}


@functools.cache
def declared_directions() -> dict[str, str]:
    """Metric name (lower case) -> ``max`` or ``min``, over every downstream's declarations."""
    directions = {name.lower(): d for name, d in COMMON_METRICS.items()}
    for task in registry.available("downstream"):
        cls = registry.expert_class("downstream", task)
        for name, direction in [cls.METRIC, *getattr(cls, "OTHER_METRICS", {}).items()]:
            if directions.setdefault(name.lower(), direction) != direction:
                raise UnknownMetricError(f"metric '{name}' is declared '{direction}' by downstream '{task}' and "
                                         f"'{directions[name.lower()]}' elsewhere; one name, one direction")
    return directions


def metric_name(key: str) -> str:
    """``test-EER`` -> ``eer``: the split prefix dropped, lower case."""
    return key.split("-", 1)[-1].lower()


def lower_is_better(name: str) -> bool:
    """Direction of a metric given with or without its split prefix (an undeclared one is an error)."""
    directions = declared_directions()
    n = metric_name(name)
    if n not in directions:
        raise UnknownMetricError(f"no downstream declares whether metric '{n}' is better high or low; declare it in "
                                 f"the task's DownstreamExpert (METRIC or OTHER_METRICS)")
    return directions[n] == "min"


def arrow(name: str) -> str:
    """``↓`` for lower-better metrics, ``↑`` otherwise (the leaderboard header)."""
    return "↓" if lower_is_better(name) else "↑"


def primary_metric(task: str, metrics: dict[str, float]) -> str | None:
    """Name of the task's primary metric present in ``metrics`` (keys ``<split>-<name>``).

    Results of a task with no downstream folder use their first non-loss metric, so they still
    appear on the leaderboard; ``None`` when there is nothing but a loss.
    """
    names = {metric_name(k): k for k in metrics}
    wanted = declared_primary().get(task)
    if wanted is not None:
        return wanted if wanted in names else None
    candidates = sorted(n for n in names if n != "loss")
    return candidates[0] if candidates else None


def value_of(metrics: dict[str, float], name: str) -> float | None:
    """The value of metric ``name`` in a ``<split>-<name>`` dict (any split, any case)."""
    for key, value in metrics.items():
        if metric_name(key) == name:
            return float(value)
    return None


def is_better(a: float, b: float, name: str) -> bool:
    """True when ``a`` beats ``b`` on metric ``name``."""
    return a < b if lower_is_better(name) else a > b

# Fractions shown as percentages on the leaderboard (the files keep the raw fraction).
PERCENT = frozenset({"acc", "ua", "per", "wer", "cer", "eer", "ff1", "aos", "der", "der_best", "slot_type_f1",
                     "slot_value_cer"})


def format_value(name: str, value: float) -> str:
    """Display form: fractions as percentages with two decimals, other metrics raw."""
    return f"{100 * value:.2f}" if metric_name(name) in PERCENT else f"{value:.4f}"


def display_metric(name: str) -> str:
    """Header form, e.g. ``PER % ↓``, ``MTWV ↑``."""
    n = metric_name(name)
    unit = " %" if n in PERCENT else ""
    return f"{n.upper() if n != 'mindcf' else 'minDCF'}{unit} {arrow(n)}"
