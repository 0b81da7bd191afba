"""Re-save a checkpoint the user trusts as plain data that the safe loader reads.

The safe loader refuses files that pickle classes outside their layout's allow-list, and
every pickle of protocol 4 or 5 (``torch.load(weights_only=True)`` does not read them). A
user who trusts such a file can re-save it once with ``tools/convert_checkpoint.py --trust``:
the file is unpickled with full pickle, **which runs any code it contains**, and written back
with tensors, dicts, lists, strings, bytes, numbers, booleans and None only (pickle protocol 2), so
every later load is the safe one. Nothing in speechbench calls this except that tool.
"""
from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from speechbench.errors import CheckpointError
from speechbench.utils_io import atomic_open

_MAX_DEPTH = 100


def plain_data(obj: Any, where: str = "checkpoint", depth: int = 0) -> Any:
    """``obj`` with every object replaced by plain data: mappings and objects with attributes
    become dicts, tuples and sets lists, enum members their value, numpy arrays tensors."""
    if depth > _MAX_DEPTH:
        raise CheckpointError(f"{where}: nested more than {_MAX_DEPTH} levels deep")
    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        return obj
    if isinstance(obj, torch.Tensor):
        return obj.detach()
    if isinstance(obj, enum.Enum):
        return plain_data(obj.value, where, depth + 1)
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj.copy())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Mapping):
        return {k if isinstance(k, (str, int)) else str(k): plain_data(v, f"{where}[{k!r}]", depth + 1)
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [plain_data(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]
    if hasattr(obj, "__dict__"):
        return {k: plain_data(v, f"{where}.{k}", depth + 1) for k, v in vars(obj).items()}
    raise CheckpointError(f"{where}: a {type(obj).__module__}.{type(obj).__qualname__} cannot be turned into "
                          f"plain data")


def resave_trusted(src: str | os.PathLike, dst: str | os.PathLike) -> Any:
    """Unpickle ``src`` fully (running its code) and write its plain-data copy to ``dst`` atomically."""
    src, dst = os.fspath(src), os.fspath(dst)
    if not os.path.isfile(src):
        raise CheckpointError(f"checkpoint file not found: {src}")
    if os.path.abspath(src) == os.path.abspath(dst):
        raise CheckpointError(f"{src}: refusing to convert a file onto itself; choose another output path")
    try:
        obj = torch.load(src, map_location="cpu", weights_only=False)
    except ModuleNotFoundError as err:
        raise CheckpointError(f"{src}: unpickling it needs the Python module '{err.name}'; install it and "
                              f"convert again") from None
    except Exception as err:  # any failure of full unpickling: the file is damaged or not a checkpoint
        raise CheckpointError(f"{src}: cannot load even with full pickle ({type(err).__name__}: {err})") from None
    plain = plain_data(obj)
    with atomic_open(dst, "wb") as f:
        torch.save(plain, f)
    return plain
