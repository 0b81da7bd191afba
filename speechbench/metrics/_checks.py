"""Input checks shared by the metric modules, so every metric fails the same readable way."""
from __future__ import annotations

from typing import Collection


def check_same_ids(refs: Collection[str], hyps: Collection[str], what: str = "utterance") -> None:
    """Raise ValueError naming a few ids present on one side only: scoring a subset silently lies."""
    ref_ids, hyp_ids = set(refs), set(hyps)
    if ref_ids == hyp_ids:
        return
    missing = sorted(ref_ids - hyp_ids)
    extra = sorted(hyp_ids - ref_ids)
    parts = []
    if missing:
        parts.append(f"{len(missing)} {what} id(s) in the reference have no hypothesis, e.g. {missing[:3]}")
    if extra:
        parts.append(f"{len(extra)} {what} id(s) in the hypotheses are not in the reference, e.g. {extra[:3]}")
    raise ValueError("; ".join(parts) + ". Score the same set on both sides (check the decoding finished).")


def check_nonempty(n: int, what: str) -> None:
    """Raise ValueError when there is nothing to score: a metric over zero items is undefined."""
    if n == 0:
        raise ValueError(f"no {what} to score: the input is empty")
