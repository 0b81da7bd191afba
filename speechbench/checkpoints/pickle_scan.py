"""Read which globals a checkpoint's pickle names, without unpickling anything.

``torch.load(weights_only=True)`` stops at the first global it does not allow and names it,
but only for the opcodes it reads: a protocol-4/5 pickle (``FRAME``, ``STACK_GLOBAL``,
``MEMOIZE``) fails before any global is looked at. This disassembler (``pickletools``, which
only parses) finds the names in every protocol, so a refusal can say what the file would
have run, and a loader can put every allowed stub in place before its one ``torch.load``.
"""
from __future__ import annotations

import _compat_pickle
import io
import os
import pickletools
import zipfile
from typing import IO, Iterator

_NEUTRAL = frozenset({"MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT", "FRAME", "PROTO"})
_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_LEGACY_PICKLES = 4  # legacy torch files: magic number, protocol, sys_info, then the object


def _python3_name(module: str, name: str) -> str:
    if (module, name) in _compat_pickle.NAME_MAPPING:  # Python 2 pickles
        module, name = _compat_pickle.NAME_MAPPING[module, name]
    return f"{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}"


def _globals_in_stream(stream: IO[bytes]) -> Iterator[str]:
    """Names of one pickle's GLOBAL/STACK_GLOBAL opcodes; stops at its STOP.

    For STACK_GLOBAL the module and name are the two values pushed before it (directly or
    through the memo); when those are not plain strings the global is not reported.
    """
    pushed: list[object] = []
    memo: dict[int, object] = {}
    for op, arg, _pos in pickletools.genops(stream):
        if op.name == "GLOBAL":
            module, _, name = str(arg).partition(" ")
            yield _python3_name(module, name)
            pushed.append(None)
        elif op.name == "STACK_GLOBAL":
            if len(pushed) >= 2 and all(isinstance(v, str) for v in pushed[-2:]):
                yield _python3_name(str(pushed[-2]), str(pushed[-1]))
            pushed.append(None)
        elif op.name == "MEMOIZE":
            memo[len(memo)] = pushed[-1] if pushed else None
        elif op.name in _PUTS:
            memo[int(arg)] = pushed[-1] if pushed else None
        elif op.name in _GETS:
            pushed.append(memo.get(int(arg)))
        elif op.name not in _NEUTRAL:
            pushed.append(arg if isinstance(arg, str) else None)
        del pushed[:-2]


def _pickle_streams(path: str) -> Iterator[tuple[IO[bytes], int]]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("data.pkl")]
            if names:
                yield io.BytesIO(archive.read(names[0])), 1
    else:
        with open(path, "rb") as f:
            yield f, _LEGACY_PICKLES


def pickled_globals(path: str | os.PathLike) -> list[str]:
    """Every global the file's pickle names, in order of first use (best effort on damaged files)."""
    found: dict[str, None] = {}
    try:
        for stream, count in _pickle_streams(os.fspath(path)):
            for _ in range(count):
                found.update(dict.fromkeys(_globals_in_stream(stream)))
    except Exception:  # pickletools stops at damage or at the tensor data after the pickles
        pass
    return list(found)


def pickle_protocol(path: str | os.PathLike) -> int:
    """The highest pickle protocol the file declares (0 when it declares none or cannot be read)."""
    protocol = 0
    try:
        for stream, count in _pickle_streams(os.fspath(path)):
            for _ in range(count):
                for op, arg, _pos in pickletools.genops(stream):
                    if op.name == "PROTO":
                        protocol = max(protocol, int(arg))
    except Exception:  # as in pickled_globals
        pass
    return protocol
