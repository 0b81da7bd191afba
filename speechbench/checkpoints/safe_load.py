"""Load official checkpoint files with ``torch.load(weights_only=True)``.

Official files pickle a few non-tensor objects (argparse ``Namespace``, optimizer
schedules, fairseq dictionaries, omegaconf containers). We never import or run their
classes: the caller names exactly which globals a layout may contain, and each is
replaced by an inert :class:`StubObject` that only records its constructor arguments
and state. Any other global is refused with a message naming it.
"""
from __future__ import annotations

import os
import re
import zipfile
from typing import Any, Iterable

import torch


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable or not in the expected layout."""


class StubObject:
    """Inert stand-in for a pickled object: keeps ``args``/``kwargs`` and ``__dict__``."""

    _qualname = "StubObject"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)
        elif isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            self.__dict__.update(state[0] or {})
            self.__dict__.update(state[1])
        else:
            self.__dict__["state"] = state

    def __repr__(self) -> str:
        fields = {k: v for k, v in self.__dict__.items() if k not in ("args", "kwargs")}
        return f"<stub {self._qualname} {fields or self.args}>"

    def to_dict(self) -> dict:
        """Attributes as a plain dict (what ``vars(namespace)`` would give)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("args", "kwargs")}


def make_stub(qualname: str) -> type:
    """A distinct :class:`StubObject` subclass standing in for ``qualname``."""
    return type(qualname.rsplit(".", 1)[-1], (StubObject,), {"_qualname": qualname})


_UNSUPPORTED = re.compile(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL) ([\w.]+)")


def load_checkpoint(path: str | os.PathLike, allowed_globals: Iterable[str] = (),
                    map_location: str | torch.device = "cpu", layout: str = "checkpoint",
                    mmap: bool = False) -> Any:
    """``torch.load`` a file safely.

    ``allowed_globals`` lists the fully qualified names (e.g. ``argparse.Namespace``)
    this layout is known to pickle; each loads as a stub. ``layout`` names what the
    caller expects, for error messages. ``mmap`` maps the tensors from the file instead
    of reading them (zip-format files only; legacy files are read).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{layout} file not found: {path}")
    stubs = [(make_stub(name), name) for name in allowed_globals]
    try:
        with torch.serialization.safe_globals(stubs):
            return torch.load(path, map_location=map_location, weights_only=True,
                              mmap=mmap and zipfile.is_zipfile(path))
    except Exception as err:  # torch raises UnpicklingError, RuntimeError or EOFError here
        text = str(err)
        found = _UNSUPPORTED.search(text)
        if found:
            raise CheckpointError(
                f"{path}: refusing to load: the file pickles '{found.group(1)}', which a {layout} "
                f"is not expected to contain (loading it could run code). If this is an official "
                f"file, please report the layout; convert trusted files with tools/convert_checkpoint.py."
            ) from None
        raise CheckpointError(f"{path}: cannot read as a {layout} ({type(err).__name__}: {text.splitlines()[0][:200]}); "
                              f"is the file truncated or not a PyTorch checkpoint?") from None


def check_state_dict(model: torch.nn.Module, state: dict, what: str, assign: bool = False) -> None:
    """Strict ``load_state_dict`` with an error listing missing/unexpected/mis-shaped keys.

    ``assign=True`` makes ``state``'s tensors the parameters (for a model built on the meta
    device: no second copy of the weights).
    """
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in sorted(set(own) & set(state)) if tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or shapes:
        def head(items: list[str]) -> str:
            return ", ".join(items[:6]) + (f" (+{len(items) - 6} more)" if len(items) > 6 else "")
        parts = []
        if missing:
            parts.append(f"missing keys: {head(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {head(unexpected)}")
        if shapes:
            parts.append(f"shape mismatches: {head(shapes)}")
        raise CheckpointError(f"{what} does not match the model: " + "; ".join(parts))
    model.load_state_dict(state, strict=True, assign=assign)
