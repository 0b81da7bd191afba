"""The one error type of the checkpoint hub: its message is the whole story, on one line."""
from __future__ import annotations

from speechbench.errors import SpeechbenchError


class HubError(SpeechbenchError, RuntimeError):
    """A named checkpoint cannot be resolved, fetched or verified; the message says what to do."""
