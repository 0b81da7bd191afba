"""The errors a user can fix, under one base class.

Command lines (``run_benchmark.py``, ``speechbench <command>``, ``python -m ...``) print a
:class:`SpeechbenchError` as one ``error: ...`` line and exit with status 2 (through
:func:`run_command`); every other exception keeps its traceback, so a bug or an
out-of-memory error never passes for a usage mistake. Raise one of these only when the
message names the file, key or utterance at fault and says how to fix it.

Each kind also derives from the built-in exception it refines (``ValueError`` for bad
values, ``TypeError`` for options a callable does not take, ``RuntimeError`` for files that
cannot be used), so ``except ValueError`` around a library call still sees them.
"""
from __future__ import annotations

import sys
from typing import Callable


class SpeechbenchError(Exception):
    """Base class: bad input or misuse, reported as one line naming what is wrong and the fix."""


class ConfigError(SpeechbenchError, ValueError):
    """A config file, ``-o`` override or command-line combination that cannot be used as written."""


class OptionError(ConfigError, TypeError):
    """An option an expert does not take, or cannot take together with others."""


class UnknownExpertError(ConfigError):
    """An upstream/downstream name that has no folder."""


class CheckpointError(SpeechbenchError, RuntimeError):
    """A checkpoint file is missing, unreadable, unsafe or not in the expected layout."""


class CorruptCheckpointError(CheckpointError):
    """A file that is not a readable PyTorch checkpoint: empty, cut short, or another format."""


class ExperimentError(SpeechbenchError):
    """An experiment directory that is busy, or taken by another run."""


class DataError(SpeechbenchError, ValueError):
    """Data on disk (data dirs, audio, labels, feature caches) that a task cannot use."""


class MissingFileError(DataError, FileNotFoundError):
    """An input file or dir a command reads does not exist; the message says which step writes it.

    Also a ``FileNotFoundError``, so callers that test for a missing file still see it.
    """


class DivergedError(SpeechbenchError, FloatingPointError):
    """Training produced a NaN or infinite loss: settings (learning rate) or audio to change."""


class InputTooShortError(DataError):
    """Utterances shorter than an upstream's receptive field.

    ``indices`` (positions in the upstream's input batch) let the caller that knows the
    utterance ids name them.
    """

    def __init__(self, message: str, indices: list[int] | None = None) -> None:
        super().__init__(message)
        self.indices = list(indices or [])


def run_command(body: Callable[[], int | None], prog: str | None = None) -> int:
    """Run a command line's ``body`` and return its exit status (0 when it returns None).

    The one place where a :class:`SpeechbenchError` becomes one ``error: ...`` line on
    stderr (``prog: error: ...`` when ``prog`` is given) and exit status 2; any other
    exception propagates with its traceback, so a bug never passes for a usage mistake.
    """
    try:
        return body() or 0
    except SpeechbenchError as err:
        print(f"{prog + ': ' if prog else ''}error: {err}", file=sys.stderr)
        return 2
