"""Tiny random checkpoints in the released layouts of WavLM, UniSpeech-SAT, data2vec audio and
DistilHuBERT: real key names and stride structure (downsample 320, 400-sample receptive field),
tiny widths (conv 32, embedding 16, 2 layers of 2 heads, FFN 24).

* WavLM (microsoft/unilm): ``{"cfg": WavLMConfig fields, "model": WavLM state_dict}``;
* UniSpeech-SAT: the fork's fairseq file (hydra era, ``_name: unispeech_sat``, pretraining
  parts included) or s3prl's conversion to the WavLM layout;
* data2vec audio: fairseq's hydra-era file (``_name: data2vec_audio``, ``model['_ema']``
  holding the EMA teacher as a dict of tensors) or s3prl's converted dict;
* DistilHuBERT: s3prl's pretrain-runner file with ``Distiller``/``Config`` and the runner's
  ``Args`` Namespace and an optimizer state pickling an ``optimizers.WarmupLinearSchedule``.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import types

import torch

CONV = "[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2"
CONV_LAYERS = [(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2
DIM, EMBED, FFN, LAYERS, HEADS = 32, 16, 24, 2, 2
POS_K, POS_G = 8, 4          # one weight-normed positional conv (even kernel: SamePad trims)
D2V_CONV_POS, D2V_DEPTH = 12, 3  # data2vec: 3 convs of kernel max(3, 12 // 3) = 4
BUCKETS, MAX_DISTANCE = 16, 40   # relative positions: exact below 4, log buckets up to 40

# name -> architecture (extractor mode, layer_norm_first, conv_bias, normalize, relative, gate names)
WAVLM = {"base": ("default", False, False, False, True, "grep"),
         "large": ("layer_norm", True, True, True, True, "grep")}
UNISPEECH_SAT = {"base": ("default", False, False, False, False, None),
                 "large": ("layer_norm", True, True, True, True, "gate_ur")}
DATA2VEC = {"base": ("layer_norm", False, False, True, False, None),
            "large": ("layer_norm", True, True, True, False, None)}


def rnd(g: torch.Generator, *shape: int, scale: float = 0.3) -> torch.Tensor:
    return torch.randn(*shape, generator=g) * scale


def _norm(g, prefix: str, dim: int) -> dict:
    return {f"{prefix}.weight": 1 + rnd(g, dim, scale=0.1), f"{prefix}.bias": rnd(g, dim, scale=0.1)}


def encoder_state(arch: tuple, seed: int = 0, pos: str = "single", feature_ln: bool = True) -> dict:
    """fairseq-named weights of the conv front end and the transformer encoder."""
    mode, _ln_first, conv_bias, _normalize, relative, gate = arch
    g = torch.Generator().manual_seed(seed)
    sd: dict[str, torch.Tensor] = {}
    cin = 1
    for i, (c, k, _) in enumerate(CONV_LAYERS):
        sd[f"feature_extractor.conv_layers.{i}.0.weight"] = rnd(g, c, cin, k, scale=(cin * k) ** -0.5)
        if conv_bias:
            sd[f"feature_extractor.conv_layers.{i}.0.bias"] = rnd(g, c, scale=0.1)
        if mode == "default" and i == 0:
            sd.update(_norm(g, "feature_extractor.conv_layers.0.2", c))
        if mode == "layer_norm":
            sd.update(_norm(g, f"feature_extractor.conv_layers.{i}.2.1", c))
        cin = c
    if feature_ln:
        sd.update(_norm(g, "layer_norm", DIM))
    sd["post_extract_proj.weight"], sd["post_extract_proj.bias"] = rnd(g, EMBED, DIM, scale=DIM ** -0.5), rnd(g, EMBED)
    if pos == "single":
        sd["encoder.pos_conv.0.bias"] = rnd(g, EMBED, scale=0.1)
        sd["encoder.pos_conv.0.weight_g"] = 1 + rnd(g, 1, 1, POS_K, scale=0.1)
        sd["encoder.pos_conv.0.weight_v"] = rnd(g, EMBED, EMBED // POS_G, POS_K)
    else:
        k = max(3, D2V_CONV_POS // D2V_DEPTH)
        for i in range(D2V_DEPTH):
            sd[f"encoder.pos_conv.{i}.0.weight"] = rnd(g, EMBED, EMBED // POS_G, k, scale=0.2)
            sd[f"encoder.pos_conv.{i}.0.bias"] = rnd(g, EMBED, scale=0.1)
    sd.update(_norm(g, "encoder.layer_norm", EMBED))
    for i in range(LAYERS):
        p = f"encoder.layers.{i}"
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            sd[f"{p}.self_attn.{proj}.weight"] = rnd(g, EMBED, EMBED, scale=EMBED ** -0.5)
            sd[f"{p}.self_attn.{proj}.bias"] = rnd(g, EMBED, scale=0.1)
        if relative and i == 0:
            sd[f"{p}.self_attn.relative_attention_bias.weight"] = rnd(g, BUCKETS, HEADS, scale=1.0)
        if gate:
            lin, const = ("grep_linear", "grep_a") if gate == "grep" else ("gate_ur_linear", "eco_a")
            sd[f"{p}.self_attn.{lin}.weight"] = rnd(g, 8, EMBED // HEADS, scale=0.5)
            sd[f"{p}.self_attn.{lin}.bias"] = rnd(g, 8, scale=0.5)
            sd[f"{p}.self_attn.{const}"] = 1 + rnd(g, 1, HEADS, 1, 1, scale=0.3)
        sd.update(_norm(g, f"{p}.self_attn_layer_norm", EMBED))
        sd[f"{p}.fc1.weight"], sd[f"{p}.fc1.bias"] = rnd(g, FFN, EMBED, scale=EMBED ** -0.5), rnd(g, FFN, scale=0.1)
        sd[f"{p}.fc2.weight"], sd[f"{p}.fc2.bias"] = rnd(g, EMBED, FFN, scale=FFN ** -0.5), rnd(g, EMBED, scale=0.1)
        sd.update(_norm(g, f"{p}.final_layer_norm", EMBED))
    return sd


def model_fields(arch: tuple) -> dict:
    """The config fields every layout shares (fairseq / WavLMConfig names)."""
    mode, ln_first, conv_bias, normalize, relative, gate = arch
    return {"extractor_mode": mode, "encoder_layers": LAYERS, "encoder_embed_dim": EMBED,
            "encoder_ffn_embed_dim": FFN, "encoder_attention_heads": HEADS, "activation_fn": "gelu",
            "layer_norm_first": ln_first, "conv_feature_layers": CONV, "conv_bias": conv_bias,
            "feature_grad_mult": 0.1, "dropout": 0.1, "attention_dropout": 0.1, "activation_dropout": 0.0,
            "encoder_layerdrop": 0.05, "dropout_input": 0.1, "dropout_features": 0.1, "mask_length": 10,
            "mask_prob": 0.65, "mask_selection": "static", "conv_pos": POS_K, "conv_pos_groups": POS_G,
            "relative_position_embedding": relative, "num_buckets": BUCKETS, "max_distance": MAX_DISTANCE,
            "gru_rel_pos": bool(gate)}


def wavlm_file(name: str, seed: int = 0) -> dict:
    arch = WAVLM[name]
    sd = encoder_state(arch, seed)
    sd["mask_emb"] = rnd(torch.Generator().manual_seed(seed + 1), EMBED)
    return {"cfg": {**model_fields(arch), "normalize": arch[3]}, "model": sd}


def _training_state() -> dict:
    return {"optimizer_history": [{"criterion_name": "ModelCriterion", "optimizer_name": "FairseqAdam",
                                   "lr_scheduler_state": {"best": 1.2}, "num_updates": 400000}],
            "extra_state": {"epoch": 80, "train_iterator": {"epoch": 80, "iterations_in_epoch": 3}}}


def unispeech_sat_file(name: str, layout: str, seed: int = 0) -> dict:
    """``layout``: 'fairseq' (the authors' file) or 'wavlm' (s3prl's conversion)."""
    arch = UNISPEECH_SAT[name]
    sd = encoder_state(arch, seed)
    g = torch.Generator().manual_seed(seed + 1)
    sd["mask_emb"] = rnd(g, EMBED)
    fields = model_fields(arch)
    if layout == "wavlm":
        return {"cfg": {**fields, "normalize": arch[3]}, "model": sd}
    sd.update({"final_proj.weight": rnd(g, 8, EMBED), "final_proj.bias": rnd(g, 8),
               "label_embs_concat": rnd(g, 5, 8), "spk_proj.weight": rnd(g, 8, EMBED), "spk_proj.bias": rnd(g, 8)})
    if arch[1]:
        sd.update(_norm(g, "encoder.layer_norm_for_extract", EMBED))
    model = {"_name": "unispeech_sat", **fields, "structure_type": "transformer", "expand_attention_head_size": -1,
             "utterance_contrastive_loss": True, "final_dim": 8, "label_rate": 50}
    cfg = {"_name": None, "common": {"fp16": True}, "model": model,
           "task": {"_name": "unispeech_sat_pretraining", "normalize": arch[3], "sample_rate": 16000}}
    return {"args": None, "cfg": cfg, "model": sd, **_training_state()}


def data2vec_file(name: str, layout: str, seed: int = 0) -> dict:
    """``layout``: 'hydra' (fairseq's file) or 'converted' (s3prl's)."""
    arch = DATA2VEC[name]
    sd = encoder_state(arch, seed, pos="stacked")
    g = torch.Generator().manual_seed(seed + 1)
    sd.update({"mask_emb": rnd(g, EMBED), "final_proj.weight": rnd(g, EMBED, EMBED), "final_proj.bias": rnd(g, EMBED)})
    sd["_ema"] = {k.removeprefix("encoder."): v + 0.01 for k, v in sd.items() if k.startswith("encoder.layers.")}
    model = {"_name": "data2vec_audio", **model_fields(arch), "conv_pos": D2V_CONV_POS,
             "pos_conv_depth": D2V_DEPTH, "average_top_k_layers": 2, "ema_decay": 0.999, "loss_beta": 0.25}
    task = {"_name": "audio_pretraining", "normalize": arch[3], "sample_rate": 16000}
    if layout == "converted":
        return {"task_cfg": task, "model_cfg": model, "model_weight": sd}
    return {"args": None, "cfg": {"_name": None, "common": {"fp16": True}, "model": model, "task": task},
            "model": sd, **_training_state()}


_FAKE = types.ModuleType("optimizers")


class WarmupLinearSchedule:
    """Pickles as ``optimizers.WarmupLinearSchedule``, as s3prl's old optimizer states do."""

    def __init__(self, warmup: float = 0.07, t_total: int = 200000) -> None:
        self.warmup, self.t_total = warmup, t_total


WarmupLinearSchedule.__module__ = "optimizers"
_FAKE.WarmupLinearSchedule = WarmupLinearSchedule


@contextlib.contextmanager
def fake_optimizers_module():
    """Make ``optimizers`` importable while saving (pickle checks the class is reachable)."""
    sys.modules["optimizers"] = _FAKE
    try:
        yield
    finally:
        del sys.modules["optimizers"]


DISTILLER_CFG = {"extractor_mode": "default", "extractor_conv_feature_layers": CONV, "extractor_dropout": 0.0,
                 "feature_grad_mult": 0.1, "conv_pos": POS_K, "conv_pos_groups": POS_G, "encoder_layers": LAYERS,
                 "encoder_embed_dim": EMBED, "encoder_ffn_embed_dim": FFN, "encoder_attention_heads": HEADS,
                 "activation_fn": "gelu", "layer_norm_first": False, "attention_type": "original",
                 "dropout": 0.1, "attention_dropout": 0.1, "activation_dropout": 0.1, "encoder_layerdrop": 0.0,
                 "final_dim": EMBED, "out_layer_type": "expand-last", "out_layer_inter_dim": -1, "n_tasks": 3,
                 "task_emb_type": "expand-last", "task_emb_size": 0, "layer_emb_size": 0, "loss_type": "l1",
                 "feat_pen_loss": 0.0, "cosine_loss": 1.0, "pred_layer_id": [4, 8, 12],
                 "init_teacher_conv_layers": True, "init_teacher_encoder_layers": True}


def distiller_file(seed: int = 0) -> dict:
    arch = ("default", False, False, False, False, None)
    sd = encoder_state(arch, seed, feature_ln=False)
    g = torch.Generator().manual_seed(seed + 1)
    n, final = 3, DISTILLER_CFG["final_dim"]
    sd.update({"output_layer.0.weight": rnd(g, EMBED * n, EMBED, scale=EMBED ** -0.5),
               "output_layer.0.bias": rnd(g, EMBED * n, scale=0.1),
               "output_layer.2.weight": rnd(g, n, EMBED, final, scale=EMBED ** -0.5),
               "output_layer.2.bias": rnd(g, 1, 1, n, final, scale=0.1)})
    optimizer = {"state": {}, "param_groups": [{"lr": 2e-4, "weight_decay": 0.01, "params": [0, 1],
                                                "schedule": WarmupLinearSchedule()}]}
    return {"Distiller": sd, "Optimizer": optimizer, "Step": 200000,
            "Args": argparse.Namespace(upstream="distiller", expdir="result/pretrain/distilhubert", seed=1337),
            "Runner": {"runner": {"total_steps": 200000}, "optimizer": {"name": "AdamW_with_schedule"}},
            "Config": {"distiller": dict(DISTILLER_CFG), "teacher": {"model": "hubert_base"},
                       "task": {"sequence_length": 250000}, "audio": {"target_level": None}}}


def wave(seconds: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n = int(round(seconds * 16000))
    t = torch.arange(n) / 16000
    return (0.3 * torch.sin(2 * torch.pi * 180 * t) + 0.05 * torch.randn(n, generator=g)).float()
