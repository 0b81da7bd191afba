"""Read the WavLM authors' checkpoint layout: ``{"cfg": dict, "model": state_dict}``.

The WavLM files (Base, Base+, Large from microsoft/unilm) and s3prl's converted
UniSpeech-SAT files use it: ``cfg`` is a plain dict of ``WavLMConfig`` fields
(``extractor_mode``, ``encoder_layers``, ``layer_norm_first``, ``relative_position_embedding``,
``num_buckets``, ``max_distance``, ``gru_rel_pos``, ``normalize``, ...) and ``model`` holds
the ``WavLM`` module's weights with fairseq's key names. Nothing but tensors and plain
containers is pickled, so the file loads with ``torch.load(weights_only=True)`` and no
allowed globals at all; tensors are memory-mapped.

The result is a :class:`FairseqCheckpoint` whose model config is named ``name`` (the
upstream asked for: the layout does not say whether it is WavLM or UniSpeech-SAT), so the
wav2vec 2.0-family builder reads it like a fairseq file.
"""
from __future__ import annotations

import os

import torch

from speechbench.checkpoints.safe_load import CheckpointError, load_checkpoint
from speechbench.upstream._modules.fairseq_checkpoint import FairseqCheckpoint


def is_wavlm_layout(raw: object) -> bool:
    """True for ``{"cfg": dict without a 'model' section, "model": dict}`` (not a fairseq file)."""
    return (isinstance(raw, dict) and isinstance(raw.get("cfg"), dict) and isinstance(raw.get("model"), dict)
            and "model" not in raw["cfg"] and "args" not in raw)


def wavlm_layout_checkpoint(path: str, raw: dict, name: str) -> FairseqCheckpoint:
    """A loaded ``{cfg, model}`` dict as a :class:`FairseqCheckpoint` of model ``name``."""
    state = raw["model"]
    bad = [str(k) for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{path}: 'model' holds non-tensor entries {bad[:5]}; not a WavLM-layout file")
    cfg = dict(raw["cfg"])
    return FairseqCheckpoint(path=path, era="wavlm", cfg={"model": {**cfg, "_name": name},
                                                         "task": {"normalize": cfg.get("normalize", False)}},
                             state_dict=dict(state))


def read_wavlm_checkpoint(path: str | os.PathLike, name: str, layout: str) -> FairseqCheckpoint:
    """Load a ``{cfg, model}`` file safely (memory-mapped) for the upstream ``name``."""
    path = os.fspath(path)
    raw = load_checkpoint(path, layout=layout, mmap=True)
    if not is_wavlm_layout(raw):
        keys = sorted(map(str, raw)) if isinstance(raw, dict) else type(raw).__name__
        raise CheckpointError(f"{path}: not a {layout}: expected {{'cfg': dict, 'model': state_dict}} as the "
                              f"WavLM authors release it; found {keys}")
    return wavlm_layout_checkpoint(path, raw, name)
