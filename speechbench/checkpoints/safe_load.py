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
import warnings
import zipfile
from typing import Any, Callable, Iterable

import torch

from speechbench.checkpoints.pickle_scan import pickle_protocol, pickled_globals
from speechbench.errors import CheckpointError, CorruptCheckpointError


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
_PROTOCOL_WARNING = "Detected pickle protocol"  # torch warns before failing on protocols 3+; our error says more
CONVERT_ADVICE = "python tools/convert_checkpoint.py --trust"
_REPORT = "If this is an official file, please report the layout"


def _torch_allows(name: str) -> bool:
    try:
        return name in torch._weights_only_unpickler._get_allowed_globals()
    except AttributeError:  # private in torch; without it, trust torch's own names only
        return name.startswith("torch.") or name == "collections.OrderedDict"


def unsupported_global(err: Exception) -> str | None:
    """The global ``torch.load(weights_only=True)`` refused, from its error message (None if none)."""
    found = _UNSUPPORTED.search(str(err))
    if not found:
        return None
    return found.group(1) if "." in found.group(1) else f"builtins.{found.group(1)}"  # torch drops "builtins."


def torch_load_weights_only(path: str, stubs: list[tuple[type, str]],
                            map_location: str | torch.device = "cpu", mmap: bool = False) -> Any:
    """``torch.load(weights_only=True)`` with ``stubs`` allowed, without torch's protocol warning;
    ``mmap`` maps a zip-format file's tensors (legacy files are read)."""
    with warnings.catch_warnings(), torch.serialization.safe_globals(stubs):
        warnings.filterwarnings("ignore", message=_PROTOCOL_WARNING)
        return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap and zipfile.is_zipfile(path))


def refusal(path: str, name: str, layout: str, note: str = _REPORT) -> CheckpointError:
    """The error for a file that pickles ``name``, a global this layout must not contain."""
    return CheckpointError(
        f"{path}: refusing to load: the file pickles '{name}', which is not part of the {layout} layout "
        f"(loading it could run code). {note}; if you trust the file, re-save it without code: "
        f"{CONVERT_ADVICE} {path} OUT.pt")


def load_failure(path: str, err: Exception, layout: str, allowed: Callable[[str], bool],
                 note: str = _REPORT) -> CheckpointError:
    """What to raise when ``torch.load(weights_only=True)`` of ``path`` failed with ``err``.

    A global outside ``allowed`` (and outside torch's own list) is named, whether torch saw it
    or it sits in a pickle protocol torch's safe unpickler does not read at all; otherwise the
    file is unreadable and the message says why.
    """
    name = unsupported_global(err)
    if name:
        return refusal(path, name, layout, note)
    unknown = [g for g in pickled_globals(path) if not allowed(g) and not _torch_allows(g)]
    if unknown:
        return refusal(path, unknown[0], layout, note)
    protocol = pickle_protocol(path)
    if protocol > 3:
        return CheckpointError(
            f"{path}: cannot read this {layout}: it was pickled with protocol {protocol}, which the safe loader "
            f"(torch.load with weights_only=True) does not read; if you trust the file, re-save it: "
            f"{CONVERT_ADVICE} {path} OUT.pt")
    if os.path.getsize(path) == 0:
        why = "the file is empty (0 bytes)"
    else:
        why = str(err).strip().split("\n")[0].split(". ")[0][:160] or "the data ends early"
    return CorruptCheckpointError(f"{path}: cannot read this {layout}: {why}; is the file truncated or not a "
                                  f"PyTorch checkpoint?")


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
    names = list(allowed_globals)
    stubs = [(make_stub(name), name) for name in names]
    try:
        return torch_load_weights_only(path, stubs, map_location, mmap)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, EOFError or OSError here
        raise load_failure(path, err, layout, set(names).__contains__) from None


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
