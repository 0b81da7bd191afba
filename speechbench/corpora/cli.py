"""What the command lines of the data preps share: counts on success, one error line otherwise."""
from __future__ import annotations

from typing import Callable, Mapping

from speechbench.errors import run_command


def run_prep(prepare: Callable[[], Mapping[str, int]], unit: str) -> int:
    """Run ``prepare``; print ``set: N unit, ...`` and return 0, or print a
    :class:`SpeechbenchError` as one ``error:`` line and return 2 (anything else keeps its traceback)."""
    def body() -> None:
        counts = prepare()
        print(", ".join(f"{name}: {n} {unit}" for name, n in counts.items()))
    return run_command(body)
