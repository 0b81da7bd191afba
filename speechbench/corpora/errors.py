"""The one error type of every real-corpus data prep."""

from speechbench.errors import DataError


class CorpusError(DataError):
    """The corpus tree is not the layout a prep reads; the message names the missing path, line or column."""
