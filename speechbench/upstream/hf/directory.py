"""A local Hugging Face speech model directory: its config, weights file and key names.

What ``save_pretrained`` writes for the wav2vec 2.0 family: ``config.json`` (``model_type``,
sizes, ``feat_extract_norm``, ``conv_dim``/``conv_kernel``/``conv_stride``,
``do_stable_layer_norm``, positional conv, WavLM's ``num_buckets``/``max_bucket_distance``,
data2vec's ``num_conv_pos_embeddings`` convs of ``conv_pos_kernel_size``), the weights as
``model.safetensors`` (read with the ``safetensors`` package: no pickle at all) or
``pytorch_model.bin`` (older versions; read with the project's safe loader, memory-mapped),
and often ``preprocessor_config.json`` whose ``do_normalize`` says whether waveforms are
normalised. Task models (``...ForCTC``, ``...ForPreTraining``) prefix the encoder's keys
with the model name (``wav2vec2.``, ``hubert.``, ``wavlm.``, ``data2vec_audio.``); their
heads are not used for features.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

import torch

from speechbench.checkpoints.safe_load import CheckpointError, load_checkpoint
from speechbench.upstream.wav2vec2.model import EncoderConfig

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# model_type -> the prefix task models put before the encoder's keys
PREFIXES = {"wav2vec2": "wav2vec2.", "hubert": "hubert.", "wavlm": "wavlm.", "data2vec-audio": "data2vec_audio."}
_DROPPED = ("masked_spec_embed",)  # pretraining-only (masking)


@dataclass
class HFDirectory:
    """Where the pieces of one model directory are."""

    config_path: str
    weights_path: str
    normalize: bool | None  # preprocessor_config.json's do_normalize (None: no such file)


def locate(path: str) -> HFDirectory:
    """``-k`` is the directory or its weights file; ``config.json`` sits next to the weights."""
    if os.path.isdir(path):
        folder = path
        found = [os.path.join(path, n) for n in WEIGHT_FILES if os.path.isfile(os.path.join(path, n))]
        if not found:
            sharded = [n for n in os.listdir(path) if n.endswith(".index.json")]
            hint = (f"; sharded weights ({sharded[0]}) are not supported: save with a larger max_shard_size"
                    if sharded else "")
            raise CheckpointError(f"{path}: no {' or '.join(WEIGHT_FILES)} in this Hugging Face directory{hint}")
        weights = found[0]  # safetensors first: no pickle at all
    elif os.path.isfile(path):
        folder, weights = os.path.dirname(os.path.abspath(path)), path
        if not weights.endswith((".safetensors", ".bin")):
            raise CheckpointError(f"{path}: a Hugging Face weights file ends in .safetensors or .bin; "
                                  f"or pass the model directory")
    else:
        raise CheckpointError(f"Hugging Face model directory or weights file not found: {path}")
    config = os.path.join(folder, "config.json")
    if not os.path.isfile(config):
        raise CheckpointError(f"{folder}: no config.json next to the weights; -k takes a directory saved with "
                              f"save_pretrained (config.json plus model.safetensors or pytorch_model.bin)")
    pre = os.path.join(folder, "preprocessor_config.json")
    normalize = bool(_read_json(pre).get("do_normalize", False)) if os.path.isfile(pre) else None
    return HFDirectory(config, weights, normalize)


def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{path}: cannot read as JSON ({err})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return data


def encoder_config(path: str) -> tuple[str, EncoderConfig]:
    """``(model_type, architecture)`` from ``config.json``, with transformers' defaults."""
    c = _read_json(path)
    kind = c.get("model_type")
    if kind not in PREFIXES:
        raise CheckpointError(f"{path}: model_type '{kind}' is not supported by -u hf; supported: "
                              f"{', '.join(PREFIXES)}")
    unsupported = [f"{k}={c[k]}" for k, ok in (("hidden_act", "gelu"), ("feat_extract_activation", "gelu"))
                   if str(c.get(k, ok)) != ok]
    unsupported += [f"{k}=true" for k in ("add_adapter", "conv_pos_batch_norm") if c.get(k)]
    norm = str(c.get("feat_extract_norm", "group"))
    if norm not in ("group", "layer"):
        unsupported.append(f"feat_extract_norm={norm}")
    if unsupported:
        raise CheckpointError(f"{path}: unsupported {kind} variant ({', '.join(unsupported)})")
    dims, kernels, strides = (list(c.get(k, d)) for k, d in (
        ("conv_dim", [512] * 7), ("conv_kernel", [10, 3, 3, 3, 3, 2, 2]), ("conv_stride", [5, 2, 2, 2, 2, 2, 2])))
    if not len(dims) == len(kernels) == len(strides) > 0:
        raise CheckpointError(f"{path}: conv_dim, conv_kernel and conv_stride must have the same length")
    data2vec = kind == "data2vec-audio"
    return kind, EncoderConfig(
        family="hf", finetuned=False,  # data2vec-audio's conv layers always have a LayerNorm
        extractor_mode="layer_norm" if data2vec or norm == "layer" else "default",
        conv_layers=tuple(zip(map(int, dims), map(int, kernels), map(int, strides))),
        conv_bias=bool(c.get("conv_bias", False)), encoder_embed_dim=int(c.get("hidden_size", 768)),
        encoder_layers=int(c.get("num_hidden_layers", 12)),
        encoder_attention_heads=int(c.get("num_attention_heads", 12)),
        encoder_ffn_embed_dim=int(c.get("intermediate_size", 3072)),
        layer_norm_first=bool(c.get("do_stable_layer_norm", False)) and not data2vec,
        conv_pos=int(c.get("conv_pos_kernel_size", 19)) if data2vec else int(c.get("num_conv_pos_embeddings", 128)),
        conv_pos_groups=int(c.get("num_conv_pos_embedding_groups", 16)), normalize=False,
        pos_conv_depth=int(c.get("num_conv_pos_embeddings", 5)) if data2vec else 1,
        relative_buckets=int(c.get("num_buckets", 320)) if kind == "wavlm" else 0,
        relative_max_distance=int(c.get("max_bucket_distance", 800)) if kind == "wavlm" else 0,
        gated_relative_position=kind == "wavlm",
        feature_layer_norm=bool(c.get("feat_proj_layer_norm", True)) if kind == "hubert" else True,
        layer_norm_eps=float(c.get("layer_norm_eps", 1e-5)))


def read_weights(path: str) -> dict[str, torch.Tensor]:
    """The weights file's tensors: safetensors without pickle, ``.bin`` through the safe loader."""
    if path.endswith(".safetensors"):
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        try:
            return load_file(path, device="cpu")
        except (SafetensorError, OSError) as err:
            raise CheckpointError(f"{path}: cannot read as safetensors ({err})") from None
    state = load_checkpoint(path, layout="Hugging Face pytorch_model.bin", mmap=True)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: a pytorch_model.bin holds a state dict of tensors")
    return state


_RENAMES = tuple((re.compile(p), t) for p, t in (
    (r"feature_projection\.(layer_norm|projection)\.(weight|bias)", r"encoder.feature_projection.\1.\2"),
    (r"encoder\.pos_conv_embed\.conv\.(?:weight_g|parametrizations\.weight\.original0)",
     "encoder.transformer.pos_conv_embed.conv.parametrizations.weight.original0"),
    (r"encoder\.pos_conv_embed\.conv\.(?:weight_v|parametrizations\.weight\.original1)",
     "encoder.transformer.pos_conv_embed.conv.parametrizations.weight.original1"),
    (r"encoder\.pos_conv_embed\.conv\.bias", "encoder.transformer.pos_conv_embed.conv.bias"),
    (r"encoder\.pos_conv_embed\.layers\.(\d+)\.conv\.(weight|bias)", r"encoder.transformer.pos_conv_embed.convs.\1.\2"),
    (r"encoder\.(layer_norm\.(?:weight|bias)|layers\..+)", r"encoder.transformer.\1"),
))


def torchaudio_state_dict(state: dict[str, torch.Tensor], kind: str) -> dict[str, torch.Tensor]:
    """transformers' key names -> our torchaudio-based encoder's; task heads dropped.

    Keys of the conv front end and the layers are already torchaudio's (it followed
    transformers' names). Unknown keys are kept, so the strict check names them.
    """
    prefix = PREFIXES[kind]
    if any(k.startswith(prefix) for k in state):  # a task model: keep the encoder's keys only
        state = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
    out = {}
    for key, value in state.items():
        if key in _DROPPED:
            continue
        for pattern, target in _RENAMES:
            if pattern.fullmatch(key):
                key = pattern.sub(target, key)
                break
        out[key] = value
    return out
