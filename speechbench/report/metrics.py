"""Which metric ranks each task, and in which direction: the one table the report reads.

Results files name metrics ``<split>-<name>`` (``test-per``, ``dev-EER``); the report
compares names case-insensitively without the split. A task's *primary* metric is the
leaderboard column and the input of the overall score; the others are kept in the CSV.
"""
from __future__ import annotations

# Lower is better for these; every other metric is higher-better.
LOWER_BETTER = frozenset({"per", "wer", "cer", "eer", "mindcf", "loss", "cnxe", "mincnxe", "der", "der_best", "miss",
                          "false_alarm", "confusion", "slot_value_cer"})

# Primary metric per task (SUPERB's choice where SUPERB has the task).
PRIMARY: dict[str, str] = {
    "phone": "acc",      # frame-level phone probe accuracy
    "pr": "per",         # phoneme recognition: phone error rate
    "asr": "wer",        # word error rate
    "ks": "acc",         # keyword spotting accuracy (12 classes)
    "std": "mtwv",       # query-by-example: maximum term weighted value
    "qa": "ff1",         # spoken QA: frame-level F1
    "speaker": "acc",    # speaker identification accuracy
    "asv": "eer",        # speaker verification: equal error rate
    "sd": "der",         # speaker diarization: diarization error rate
    "emotion": "acc",    # emotion recognition accuracy
    "intent": "acc",     # intent classification accuracy
    "sf": "slot_type_f1",  # slot filling: slot-type F1 (SUPERB also reports slot_value_cer)
}

# Column order of the leaderboard (tasks not listed follow, sorted by name).
TASK_ORDER = ["phone", "pr", "asr", "ks", "std", "qa", "speaker", "asv", "sd", "emotion", "intent", "sf"]


def metric_name(key: str) -> str:
    """``test-EER`` -> ``eer``: the split prefix dropped, lower case."""
    return key.split("-", 1)[-1].lower()


def lower_is_better(name: str) -> bool:
    """Direction of a metric given with or without its split prefix."""
    return metric_name(name) in LOWER_BETTER


def arrow(name: str) -> str:
    """``↓`` for lower-better metrics, ``↑`` otherwise (the leaderboard header)."""
    return "↓" if lower_is_better(name) else "↑"


def primary_metric(task: str, metrics: dict[str, float]) -> str | None:
    """Name of the task's primary metric present in ``metrics`` (keys ``<split>-<name>``).

    Tasks missing from ``PRIMARY`` use their first non-loss metric, so a new task still
    appears on the leaderboard; ``None`` when there is nothing but a loss.
    """
    names = {metric_name(k): k for k in metrics}
    wanted = PRIMARY.get(task)
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
