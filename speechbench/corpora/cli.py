"""What the command lines of the data preps share: counts on success, one error line otherwise."""
from __future__ import annotations

import sys
from typing import Callable, Mapping

from speechbench.errors import SpeechbenchError


def run_prep(prepare: Callable[[], Mapping[str, int]], unit: str) -> int:
    """Run ``prepare``; print ``set: N unit, ...`` and return 0, or print a
    :class:`SpeechbenchError` as one ``error:`` line and return 2 (anything else keeps its traceback)."""
    try:
        counts = prepare()
    except SpeechbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(", ".join(f"{name}: {n} {unit}" for name, n in counts.items()))
    return 0
