"""Read fairseq checkpoints of every era into plain ``{cfg, state_dict}``, without fairseq.

Users hold three kinds of files for the wav2vec family (wav2vec, vq-wav2vec, wav2vec 2.0,
HuBERT):

* argparse era (fairseq <= 0.10, often legacy pre-zip serialization): ``{'args':
  argparse.Namespace, 'model': state_dict, 'optimizer_history', 'extra_state', ...}``;
* hydra era: ``{'args': None, 'cfg': {'model': {..., '_name'}, 'task': {...}, ...},
  'model': state_dict, ...}`` where ``cfg`` is a plain dict, or for 2020-21 files an
  omegaconf ``DictConfig`` holding fairseq enum/dataclass references; HuBERT files add
  ``task_state: {'dictionaries': [fairseq Dictionary]}``;
* the pickle-free converted form s3prl publishes (and ``tools/convert_checkpoint.py``
  writes): ``{'task_cfg', 'model_cfg', 'model_weight'[, 'dictionaries_symbols']}``.

Nothing from a file is ever imported or run. The loader uses ``torch.load(weights_only=True)``
where only the globals these layouts pickle load, as inert stubs (see
:mod:`speechbench.checkpoints.safe_load`): ``argparse.Namespace``, the omegaconf container
and node classes, anything under the ``fairseq.`` package (config dataclasses, enums,
``Dictionary``, meters: fairseq is never imported, so a stub cannot run its code), numpy
scalar reconstruction, and the type objects omegaconf metadata refers to. Any other global
(``os.system``, ``builtins.eval``, ...) is refused with an error naming it.

Differences from ``safe_load.load_checkpoint``, kept here because only fairseq files need
them: the fairseq names are a namespace rather than a fixed list (the stub for each is made
when the unpickler first asks for it), and ``collections.defaultdict`` (inside omegaconf
metadata) loads as a plain dict because items are added to it while unpickling.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import torch

from speechbench.checkpoints.pickle_scan import pickled_globals
from speechbench.checkpoints.safe_load import (CheckpointError, StubObject, load_failure, make_stub,
                                               torch_load_weights_only, unsupported_global)
from speechbench.utils_io import atomic_open

_EXACT_STUBS = frozenset({
    "argparse.Namespace",
    "omegaconf.dictconfig.DictConfig",
    "omegaconf.listconfig.ListConfig",
    "omegaconf.base.ContainerMetadata",
    "omegaconf.base.Metadata",
    "omegaconf.nodes.AnyNode",
    "omegaconf.nodes.StringNode",
    "omegaconf.nodes.IntegerNode",
    "omegaconf.nodes.FloatNode",
    "omegaconf.nodes.BooleanNode",
    "omegaconf.nodes.EnumNode",
    "omegaconf.nodes.BytesNode",
    "omegaconf.nodes.PathNode",
    "typing.Any",
    "builtins.dict", "builtins.list", "builtins.tuple", "builtins.int", "builtins.float",
    "builtins.bool", "builtins.str", "builtins.object",
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.dtype",
})
_STUB_PREFIXES = ("fairseq.",)
_MAX_GLOBALS = 200
_OFFICIAL_NOTE = ("Official fairseq files only pickle argparse/omegaconf/fairseq objects; if this file is official, "
                  "please report its layout")


class _PlainDefaultDict(dict):
    """Loads a pickled ``collections.defaultdict`` as a dict; the factory is ignored."""

    def __init__(self, *_factory: Any) -> None:
        super().__init__()


def is_allowed_global(name: str) -> bool:
    """True for the globals a fairseq-family file may pickle (all loaded as inert stubs)."""
    return name in _EXACT_STUBS or name == "collections.defaultdict" or name.startswith(_STUB_PREFIXES)


def _stand_in(name: str) -> tuple[Any, str]:
    if name == "collections.defaultdict":
        return _PlainDefaultDict, name
    return make_stub(name), name


def safe_load_fairseq(path: str | os.PathLike, layout: str = "fairseq checkpoint") -> Any:
    """``torch.load(weights_only=True)`` a fairseq-family file; allowed globals become stubs."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{layout} file not found: {path}")
    # Every stub in place for the first load: otherwise each late global (HuBERT's Dictionary
    # after the weights) would cost one more read of a big file. Tensors stay file pages (mmap).
    globals_ = {name: _stand_in(name) for name in pickled_globals(path) if is_allowed_global(name)}
    for _ in range(_MAX_GLOBALS):
        try:
            return torch_load_weights_only(path, list(globals_.values()), mmap=True)
        except Exception as err:  # torch raises UnpicklingError, RuntimeError, EOFError or OSError
            name = unsupported_global(err)
            if not name or not is_allowed_global(name) or name in globals_:
                raise load_failure(path, err, layout, is_allowed_global, _OFFICIAL_NOTE) from None
            globals_[name] = _stand_in(name)
    raise CheckpointError(f"{path}: pickles more than {_MAX_GLOBALS} distinct globals; not a {layout}")


def to_plain(obj: Any) -> Any:
    """Turn loaded stubs into plain Python values (dicts, lists, str/int/float/bool/None).

    ``argparse.Namespace`` -> dict; omegaconf ``DictConfig``/``ListConfig`` -> dict/list of
    their node values; enum members (pickled as ``EnumClass(value)``) -> their value; tuples
    -> lists (JSON has no tuples). Tensors are returned unchanged.
    """
    if isinstance(obj, torch.Tensor) or obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, type) and issubclass(obj, StubObject):
        return obj._qualname  # a class reference, e.g. omegaconf object_type metadata
    if isinstance(obj, StubObject):
        state = obj.to_dict()
        if "_content" in state:  # omegaconf container
            return to_plain(state["_content"])
        if "_val" in state:  # omegaconf value node
            return to_plain(state["_val"])
        if not state and len(obj.args) == 1 and not obj.kwargs:  # Enum(value)
            return to_plain(obj.args[0])
        return {k: to_plain(v) for k, v in state.items()}
    return repr(obj)


@dataclass
class FairseqCheckpoint:
    """A fairseq-family checkpoint in plain form.

    ``cfg`` has ``model`` and ``task`` dicts. For argparse-era files both hold the same flat
    dict of all ``args`` fields (fairseq kept model and task options in one namespace).
    """

    path: str
    era: str  # "argparse", "hydra" or "converted"
    cfg: dict
    state_dict: dict[str, torch.Tensor]
    dictionaries_symbols: list[list[str]] | None = None


def _require_tensors(path: str, state: Any, where: str) -> dict[str, torch.Tensor]:
    if isinstance(state, dict) and isinstance(state.get("_ema"), dict):
        # data2vec stores its EMA teacher's weights here (a dict of tensors): not used for features
        state = {k: v for k, v in state.items() if k != "_ema"}
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: '{where}' is not a state_dict of tensors")
    return dict(state)


def _dictionaries(raw: dict) -> list[list[str]] | None:
    task_state = raw.get("task_state")
    if not isinstance(task_state, dict) or "dictionaries" not in task_state:
        return None
    symbols = []
    for d in task_state["dictionaries"]:
        plain = to_plain(d)
        symbols.append(list(plain.get("symbols", [])) if isinstance(plain, dict) else [])
    return symbols


def read_fairseq_checkpoint(path: str | os.PathLike, layout: str = "fairseq checkpoint") -> FairseqCheckpoint:
    """Load any fairseq-era or converted wav2vec-family file as :class:`FairseqCheckpoint`."""
    path = os.fspath(path)
    return fairseq_checkpoint_from(path, safe_load_fairseq(path, layout), layout)


def fairseq_checkpoint_from(path: str, raw: Any, layout: str = "fairseq checkpoint") -> FairseqCheckpoint:
    """:func:`read_fairseq_checkpoint` for an object already loaded by :func:`safe_load_fairseq`."""
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: a {layout} is a dict; this file holds {type(raw).__name__}")
    if "model_weight" in raw:
        missing = [k for k in ("task_cfg", "model_cfg") if k not in raw]
        if missing:
            raise CheckpointError(f"{path}: converted {layout} lacks {', '.join(missing)}")
        return FairseqCheckpoint(
            path=path, era="converted",
            cfg={"model": to_plain(raw["model_cfg"]), "task": to_plain(raw["task_cfg"])},
            state_dict=_require_tensors(path, raw["model_weight"], "model_weight"),
            dictionaries_symbols=to_plain(raw.get("dictionaries_symbols")))
    if "model" not in raw:
        raise CheckpointError(
            f"{path}: not a {layout}: expected a fairseq file (keys 'args'/'cfg' and 'model') or a "
            f"converted one (task_cfg, model_cfg, model_weight); found keys {sorted(map(str, raw))[:8]}")
    state = _require_tensors(path, raw["model"], "model")
    cfg = to_plain(raw.get("cfg"))
    if isinstance(cfg, dict) and isinstance(cfg.get("model"), dict):
        era = "hydra"
        cfg = {**cfg, "task": cfg.get("task") or {}}
    elif raw.get("args") is not None:
        era = "argparse"
        args = to_plain(raw["args"])
        if not isinstance(args, dict):
            raise CheckpointError(f"{path}: 'args' is not an argparse Namespace")
        cfg = {"model": args, "task": args}
    elif isinstance(cfg, dict) and "encoder_layers" in cfg:
        raise CheckpointError(f"{path}: this is the WavLM layout ({{'cfg': dict, 'model'}}), not a {layout}; "
                              f"load it with -u wavlm or -u unispeech_sat")
    else:
        raise CheckpointError(f"{path}: {layout} has neither 'args' nor a 'cfg' with a 'model' section")
    return FairseqCheckpoint(path=path, era=era, cfg=cfg, state_dict=state,
                             dictionaries_symbols=_dictionaries(raw))


def converted_layout(ckpt: FairseqCheckpoint) -> dict:
    """The pickle-free ``{task_cfg, model_cfg, model_weight[, dictionaries_symbols]}`` dict."""
    out = {"task_cfg": ckpt.cfg["task"], "model_cfg": ckpt.cfg["model"],
           "model_weight": {k: v.contiguous() for k, v in ckpt.state_dict.items()}}
    if ckpt.dictionaries_symbols is not None:
        out["dictionaries_symbols"] = ckpt.dictionaries_symbols
    for key in ("task_cfg", "model_cfg"):
        try:
            json.dumps(out[key])
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{ckpt.path}: {key} is not JSON-able after conversion ({err})") from None
    return out


def convert_fairseq_checkpoint(src: str | os.PathLike, dst: str | os.PathLike) -> FairseqCheckpoint:
    """Write ``src`` (any supported fairseq-family file) to ``dst`` in the converted layout.

    The result loads with plain ``torch.load(weights_only=True)``; the write is atomic.
    """
    ckpt = read_fairseq_checkpoint(src)
    if os.path.abspath(os.fspath(src)) == os.path.abspath(os.fspath(dst)):
        raise CheckpointError(f"{src}: refusing to convert a file onto itself; choose another output path")
    with atomic_open(dst, "wb") as f:
        torch.save(converted_layout(ckpt), f)
    return ckpt
