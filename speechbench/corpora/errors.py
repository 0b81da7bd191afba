"""The error types of the corpora: real-corpus data preps and the synthesised corpora built here."""

from speechbench.errors import DataError, SpeechbenchError


class CorpusError(DataError):
    """The corpus tree is not the layout a prep reads; the message names the missing path, line or column."""


class CorpusBuildError(SpeechbenchError, RuntimeError):
    """A synthesised corpus that cannot be built now: another build holds its folder, a synthesis
    step failed (its traceback is printed above the message), or its source corpus is not built."""


class CorpusDirError(SpeechbenchError, FileExistsError):
    """An output folder that holds something other than the corpus asked for."""
