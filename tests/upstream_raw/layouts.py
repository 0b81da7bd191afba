"""Hand-built checkpoints in the authors' released layouts, with random weights.

Key names and shapes are written out here from the reference code (fairseq ``wav2vec.py``,
CPC_audio ``cpc/model.py``, pase ``WaveFe``), not taken from our models, so a strict load
checks that our modules are named and shaped like the originals.
"""
from __future__ import annotations

import argparse
import ast
import json
import os

import numpy as np
import torch

DURATIONS = (1.0, 1.7, 2.3, 3.1)


def wavs(seed: int = 0) -> list[torch.Tensor]:
    """Noise-like test utterances of 1.0/1.7/2.3/3.1 s at 16 kHz."""
    g = torch.Generator().manual_seed(seed)
    return [0.1 * torch.randn(int(d * 16000), generator=g) for d in DURATIONS]


def _rand(shape: tuple, g: torch.Generator, scale: float = 0.1, offset: float = 0.0) -> torch.Tensor:
    return offset + scale * torch.randn(shape, generator=g)


# ---------------------------------------------------------------- wav2vec / vq-wav2vec (fairseq)

def wav2vec_args(dim: int = 32, vq_type: str = "none") -> dict:
    """The released large-recipe config with ``dim`` channels instead of 512 (fast tests)."""
    feat = [(dim, 10, 5), (dim, 8, 4), (dim, 4, 2), (dim, 4, 2), (dim, 4, 2), (dim, 1, 1), (dim, 1, 1), (dim, 1, 1)]
    agg = [(dim, k, 1) for k in range(2, 14)]
    args = {"arch": "wav2vec", "task": "audio_pretraining", "conv_feature_layers": str(feat),
            "conv_aggregator_layers": str(agg), "skip_connections_agg": True, "residual_scale": 0.5,
            "log_compression": True, "prediction_steps": 12, "num_negatives": 10, "activation": "relu",
            "vq_type": vq_type, "offset": "auto", "lr": [1e-6], "max_sample_size": 150000,
            "no_conv_bias": False, "agg_zero_pad": False, "non_affine_group_norm": False,
            "project_features": "none", "aggregator": "cnn", "skip_connections_feat": False}
    if vq_type != "none":  # vq-wav2vec recipe (README): GELU, no log compression, 2 groups, shared codebook
        args.update({"activation": "gelu", "log_compression": False, "vq_vars": 8, "vq_groups": 2, "vq_depth": 2,
                     "combine_groups": True, "vq_temp": "(2.0, 0.5, 0.999995)", "vq_dim": 0, "vq_gamma": 0.25})
    return args


def wav2vec_state(args: dict, seed: int = 0) -> dict[str, torch.Tensor]:
    """fairseq ``Wav2VecModel.state_dict()`` for ``args``, random values."""
    g = torch.Generator().manual_seed(seed)
    feat, agg = ast.literal_eval(args["conv_feature_layers"]), ast.literal_eval(args["conv_aggregator_layers"])
    s: dict[str, torch.Tensor] = {}
    c_in = 1
    for i, (c, k, _) in enumerate(feat):
        s[f"feature_extractor.conv_layers.{i}.0.weight"] = _rand((c, c_in, k), g, (1.0 / (c_in * k)) ** 0.5)
        s[f"feature_extractor.conv_layers.{i}.2.weight"] = _rand((c,), g, 0.1, 1.0)
        s[f"feature_extractor.conv_layers.{i}.2.bias"] = _rand((c,), g)
        c_in = c
    embed = c_in
    if args["vq_type"] == "gumbel":
        v, groups = args["vq_vars"], args["vq_groups"]
        s["vector_quantizer.vars"] = torch.rand((1, v * (1 if args["combine_groups"] else groups), embed // groups),
                                                generator=g)
        s["vector_quantizer.weight_proj.0.0.weight"] = _rand((2 * embed, embed), g, 0.3)
        s["vector_quantizer.weight_proj.0.0.bias"] = _rand((2 * embed,), g)
        s["vector_quantizer.weight_proj.1.weight"] = _rand((groups * v, 2 * embed), g, 0.3)
        s["vector_quantizer.weight_proj.1.bias"] = _rand((groups * v,), g)
    elif args["vq_type"] == "kmeans":
        v, groups = args["vq_vars"], args["vq_groups"]
        s["vector_quantizer.embedding"] = _rand((v, 1 if args["combine_groups"] else groups, embed // groups), g, 1.0)
        s["vector_quantizer.projection.0.weight"] = _rand((embed, embed // groups, 1), g, 0.3)
        s["vector_quantizer.projection.1.weight"] = _rand((embed,), g, 0.1, 1.0)
        s["vector_quantizer.projection.1.bias"] = _rand((embed,), g)
    c_in = embed
    for i, (c, k, _) in enumerate(agg):
        if c_in != c:
            s[f"feature_aggregator.residual_proj.{i}.weight"] = _rand((c, c_in, 1), g)
        s[f"feature_aggregator.conv_layers.{i}.1.weight"] = _rand((c, c_in, k), g, (1.0 / (c_in * k)) ** 0.5)
        s[f"feature_aggregator.conv_layers.{i}.1.bias"] = _rand((c,), g)
        s[f"feature_aggregator.conv_layers.{i}.3.weight"] = _rand((c,), g, 0.1, 1.0)
        s[f"feature_aggregator.conv_layers.{i}.3.bias"] = _rand((c,), g)
        c_in = c
    s["wav2vec_predictions.project_to_steps.weight"] = _rand((c_in, embed, 1, args["prediction_steps"]), g)
    s["wav2vec_predictions.project_to_steps.bias"] = _rand((embed,), g)
    return s


def save_fairseq_argparse(path: str, args: dict, state: dict, legacy: bool = False) -> str:
    """fairseq <= 0.10 layout: ``args`` is an argparse Namespace; ``legacy``: 2019 pre-zip serialization."""
    torch.save({"args": argparse.Namespace(**args), "model": state,
                "optimizer_history": [{"criterion_name": "BinaryCrossEntropyCriterion",
                                       "optimizer_name": "FairseqAdam", "num_updates": 400000}],
                "extra_state": {"epoch": 1, "val_loss": 1.5}, "last_optimizer_state": {}}, path,
               _use_new_zipfile_serialization=not legacy)
    return path


def save_fairseq_hydra(path: str, args: dict, state: dict) -> str:
    """hydra layout: ``args`` None, ``cfg`` a plain dict with ``model._name``."""
    model = {k: v for k, v in args.items() if k not in ("arch", "task", "lr", "max_sample_size")}
    model["_name"] = "wav2vec"
    torch.save({"args": None, "cfg": {"model": model, "task": {"_name": "audio_pretraining"}, "common": {}},
                "model": state, "optimizer_history": [], "extra_state": {}}, path)
    return path


# ---------------------------------------------------------------- CPC (CPC_audio)

def cpc_state(hidden: int = 32, gar: int = 24, seed: int = 0) -> dict[str, torch.Tensor]:
    """CPC_audio ``CPCModel`` (ChannelNorm encoder, 1-layer LSTM) state_dict, random values."""
    g = torch.Generator().manual_seed(seed)
    s: dict[str, torch.Tensor] = {}
    for i, k in enumerate((10, 8, 4, 4, 4)):
        c_in = 1 if i == 0 else hidden
        s[f"gEncoder.conv{i}.weight"] = _rand((hidden, c_in, k), g, (1.0 / (c_in * k)) ** 0.5)
        s[f"gEncoder.conv{i}.bias"] = _rand((hidden,), g)
        s[f"gEncoder.batchNorm{i}.weight"] = _rand((1, hidden, 1), g, 0.1, 1.0)
        s[f"gEncoder.batchNorm{i}.bias"] = _rand((1, hidden, 1), g)
    s["gAR.baseNet.weight_ih_l0"] = _rand((4 * gar, hidden), g, 0.2)
    s["gAR.baseNet.weight_hh_l0"] = _rand((4 * gar, gar), g, 0.2)
    s["gAR.baseNet.bias_ih_l0"] = _rand((4 * gar,), g)
    s["gAR.baseNet.bias_hh_l0"] = _rand((4 * gar,), g)
    return s


def cpc_config(hidden: int = 32, gar: int = 24) -> dict:
    """A released file's ``config``: CPC_audio argparse fields (a subset, as in the wild)."""
    return {"hiddenEncoder": hidden, "hiddenGar": gar, "arMode": "LSTM", "nLevelsGRU": 1, "normMode": "layerNorm",
            "nPredicts": 12, "negativeSamplingExt": 128, "samplingType": "samespeaker", "sizeWindow": 20480,
            "learningRate": 2e-4, "pathDB": "/data/LibriSpeech/train-clean-100", "load": None, "cpc_mode": None}


# ---------------------------------------------------------------- PASE+

def pase_config(scale: int = 8) -> dict:
    """The PASE+ ``.cfg`` shape with ``fmaps`` divided by ``scale`` (fast tests)."""
    return {"kwidths": [251, 20, 11, 11, 11, 11, 11, 11], "strides": [1, 10, 2, 1, 2, 1, 2, 2],
            "fmaps": [f // scale for f in (64, 64, 128, 128, 256, 256, 512, 512)], "emb_dim": 256 // scale,
            "norm_type": "bnorm", "rnn_pool": True, "rnn_layers": 1, "rnn_type": "qrnn", "rnn_dropout": 0,
            "denseskips": True, "densemerge": "sum", "norm_out": True}


def pase_state(cfg: dict, seed: int = 0) -> dict[str, torch.Tensor]:
    """pase ``WaveFe`` state_dict for ``cfg`` (QRNN with window 2), random values."""
    g = torch.Generator().manual_seed(seed)
    s: dict[str, torch.Tensor] = {}
    emb = cfg["emb_dim"]
    c_in = 1
    for i, (k, f) in enumerate(zip(cfg["kwidths"], cfg["fmaps"])):
        if i == 0:
            mel = np.linspace(2595 * np.log10(1 + 30 / 700), 2595 * np.log10(1 + 7900 / 700), f + 1)
            hz = 700 * (10 ** (mel / 2595) - 1)
            s["blocks.0.conv.low_hz_"] = torch.tensor(hz[:-1], dtype=torch.float32).view(-1, 1) + _rand((f, 1), g, 5.0)
            s["blocks.0.conv.band_hz_"] = torch.tensor(np.diff(hz), dtype=torch.float32).view(-1, 1)
        else:
            s[f"blocks.{i}.conv.weight"] = _rand((f, c_in, k), g, (1.0 / (c_in * k)) ** 0.5)
            s[f"blocks.{i}.conv.bias"] = _rand((f,), g)
        s[f"blocks.{i}.norm.weight"] = _rand((f,), g, 0.1, 1.0)
        s[f"blocks.{i}.norm.bias"] = _rand((f,), g)
        s[f"blocks.{i}.norm.running_mean"] = _rand((f,), g)
        s[f"blocks.{i}.norm.running_var"] = torch.rand((f,), generator=g) + 0.5
        s[f"blocks.{i}.norm.num_batches_tracked"] = torch.tensor(1000)
        s[f"blocks.{i}.act.weight"] = _rand((f,), g, 0.1, 0.2)
        if i < len(cfg["kwidths"]) - 1:
            s[f"denseskips.{i}.weight"] = _rand((emb, f, 1), g, (1.0 / f) ** 0.5)
        c_in = f
    s["rnn.layers.0.linear.weight"] = _rand((3 * emb, 2 * c_in), g, (1.0 / c_in) ** 0.5)
    s["rnn.layers.0.linear.bias"] = _rand((3 * emb,), g)
    s["W.weight"] = _rand((emb, emb, 1), g, (1.0 / emb) ** 0.5)
    s["W.bias"] = _rand((emb,), g)
    s["norm_out.running_mean"] = _rand((emb,), g)
    s["norm_out.running_var"] = torch.rand((emb,), generator=g) + 0.5
    s["norm_out.num_batches_tracked"] = torch.tensor(1000)
    return s


def save_pase(folder: str, cfg: dict, state: dict, bare: bool = False, legacy: bool = False) -> tuple[str, str]:
    """``PASE+.cfg`` (JSON) and ``FE_e199.ckpt`` as the authors release them (``legacy``: pre-zip)."""
    cfg_path, ckpt_path = os.path.join(folder, "PASE+.cfg"), os.path.join(folder, "FE_e199.ckpt")
    with open(cfg_path, "w", encoding="utf-8") as f:
        json.dump(cfg, f)
    torch.save(state if bare else {"step": 199, "state_dict": state}, ckpt_path,
               _use_new_zipfile_serialization=not legacy)
    return cfg_path, ckpt_path


class RunsCode:
    """A pickle payload that would create a marker file when unpickled."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))
