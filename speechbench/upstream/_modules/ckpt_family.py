"""Say which upstream a checkpoint file looks like, from its top-level keys and weight names.

Used in error messages: when a user gives a VQ-APC file to ``apc`` or a TERA file to
``npc``, the error should name the upstream that would load it. Guessing never runs code
from the file: globals the file pickles are replaced by inert stubs.
"""
from __future__ import annotations

import os

import torch

from speechbench.checkpoints.safe_load import CheckpointError, load_checkpoint


def _keys(state: object) -> list[str]:
    return [k for k in state if isinstance(k, str)] if isinstance(state, dict) else []


def _any(keys: list[str], *prefixes: str) -> bool:
    return any(k.startswith(prefixes) for k in keys)


def _fairseq_family(keys: list[str]) -> str | None:
    if _any(keys, "feature_aggregator."):
        return "vq_wav2vec" if _any(keys, "vector_quantizer.") else "wav2vec"
    if _any(keys, "encoder.pos_conv."):
        if _any(keys, "spk_proj."):
            return "unispeech_sat"
        if _any(keys, "encoder.pos_conv.1."):
            return "data2vec"
        if any(".self_attn.relative_attention_bias." in k for k in keys):
            return "wavlm/unispeech_sat"
        return "hubert" if _any(keys, "label_embs_concat") else "wav2vec2"
    return None


def guess_family(obj: object) -> str | None:
    """Upstream name whose official layout ``obj`` (a loaded checkpoint) matches, or None."""
    if not isinstance(obj, dict):
        return None
    if "Distiller" in obj:
        return "distilhubert"
    if "Transformer" in obj and "SpecHead" in obj:
        return "mockingjay/tera/audio_albert"
    if "weights" in obj and _any(_keys(obj["weights"]), "gEncoder."):
        return "cpc"
    if "model_weight" in obj:
        return _fairseq_family(_keys(obj["model_weight"]))
    if "model" in obj:
        keys = _keys(obj["model"])
        if _any(keys, "rnn_layers."):
            return "vq_apc" if _any(keys, "vq_layers.") else "apc"
        if _any(keys, "blocks.") and _any(keys, "masked_convs."):
            return "npc"
        found = _fairseq_family(keys)
        if found:
            return found
    keys = _keys(obj.get("state_dict", obj))
    if _any(keys, "denseskips.", "W."):
        return "pase"
    return None


def guess_family_of_file(path: str | os.PathLike) -> str | None:
    """Like :func:`guess_family` for a file; None when it cannot be read at all."""
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # legacy or damaged files: try a plain safe load below
        names = []
    try:
        return guess_family(load_checkpoint(path, allowed_globals=names))
    except CheckpointError:
        return None


def use_instead(name: str) -> str:
    """``"the 'tera' upstream"``-style advice for a guessed family (slash-separated when ambiguous)."""
    names = [f"'{n}'" for n in name.split("/")]
    return "the " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]) + " upstream"
