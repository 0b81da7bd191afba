"""Tiny random-weight wav2vec 2.0 / HuBERT checkpoints in the released fairseq layouts.

Real key names and real stride structure (downsample 320, 400-sample receptive field) with
tiny widths: conv dim 32, embedding 16, 2 layers, 2 heads. Each ``make_checkpoint`` call
writes one file exactly as fairseq (or s3prl's converter) lays it out:

* ``argparse``: ``{'args': argparse.Namespace, 'model', 'optimizer_history', 'extra_state',
  'last_optimizer_state'}``, legacy (pre-zip) serialization, as 2019-20 files;
* ``hydra``: ``{'args': None, 'cfg': plain dict, 'model', ...}``; HuBERT adds
  ``task_state.dictionaries`` pickling a ``fairseq.data.dictionary.Dictionary``;
* ``hydra_omegaconf``: ``cfg`` pickled as objects of modules named ``omegaconf.dictconfig`` /
  ``omegaconf.nodes`` with a ``fairseq.dataclass.constants`` enum (fake modules, same pickle
  names and state layout as omegaconf 2.0);
* ``finetuned_argparse`` / ``finetuned_hydra``: CTC fine-tuned (``w2v_encoder.*`` keys, CTC
  head ``w2v_encoder.proj``, pretraining config nested in ``w2v_args``);
* ``converted``: s3prl's ``{task_cfg, model_cfg, model_weight[, dictionaries_symbols]}``.
"""
from __future__ import annotations

import argparse
import contextlib
import enum
import sys
import types

import pytest
import torch

CONV = "[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2"
DIM, EMBED, FFN, LAYERS, HEADS, POS_K, POS_G, FINAL = 32, 16, 24, 2, 2, 8, 4, 8

# Architecture variants: (family, extractor_mode, layer_norm_first, conv_bias, normalize).
VARIANTS = {
    "wav2vec2_base": ("wav2vec2", "default", False, False, False),
    "wav2vec2_lv60": ("wav2vec2", "layer_norm", True, True, True),
    "hubert_base": ("hubert", "default", False, False, False),
    "hubert_large": ("hubert", "layer_norm", True, True, True),
}
LAYOUTS = ("argparse", "hydra", "hydra_omegaconf", "finetuned_argparse", "finetuned_hydra", "converted")


_FAKE_MODULES: dict[str, types.ModuleType] = {}


def _fake_class(module: str, name: str, base: type = object) -> type:
    """A class that pickles as ``module.name`` (the module exists only while saving)."""
    cls = type(name, (base,), {})
    cls.__module__, cls.__qualname__ = module, name
    setattr(_FAKE_MODULES.setdefault(module, types.ModuleType(module)), name, cls)
    return cls


@contextlib.contextmanager
def fake_modules():
    """Register the fake omegaconf/fairseq modules (and their parents) for pickling only."""
    names = {".".join(m.split(".")[:i]) for m in _FAKE_MODULES for i in range(1, m.count(".") + 2)}
    added = [n for n in sorted(names) if n not in sys.modules]
    for n in added:
        sys.modules[n] = _FAKE_MODULES.get(n) or types.ModuleType(n)
    try:
        yield
    finally:
        for n in added:
            del sys.modules[n]


DictConfig = _fake_class("omegaconf.dictconfig", "DictConfig")
AnyNode = _fake_class("omegaconf.nodes", "AnyNode")
ContainerMetadata = _fake_class("omegaconf.base", "ContainerMetadata")
Dictionary = _fake_class("fairseq.data.dictionary", "Dictionary")
ExtractorMode = enum.Enum("EXTRACTOR_MODE_CHOICES", {"default": "default", "layer_norm": "layer_norm"},
                          module="fairseq.dataclass.constants")
ExtractorMode.__qualname__ = "EXTRACTOR_MODE_CHOICES"
setattr(_FAKE_MODULES.setdefault("fairseq.dataclass.constants", types.ModuleType("fairseq.dataclass.constants")),
        "EXTRACTOR_MODE_CHOICES", ExtractorMode)


def as_omegaconf(value):
    """A plain config as omegaconf 2.0 pickles it: containers with ``_content`` of nodes."""
    if isinstance(value, dict):
        cfg = DictConfig()
        meta = ContainerMetadata()
        meta.__dict__.update(ref_type=None, object_type=dict, optional=True, key=None)
        cfg.__dict__.update(_metadata=meta, _parent=None,
                            _content={k: as_omegaconf(v) for k, v in value.items()})
        return cfg
    node = AnyNode()
    node.__dict__.update(_val=ExtractorMode(value) if value in ("default", "layer_norm") else value,
                         _parent=None, _metadata=None)
    return node


def fairseq_state(variant: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """A random pretrained state_dict with fairseq's key names."""
    family, mode, ln_first, conv_bias, _ = VARIANTS[variant]
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=0.3):
        return torch.randn(*shape, generator=g) * scale

    def norm(prefix, dim):
        return {f"{prefix}.weight": 1 + rnd(dim, scale=0.1), f"{prefix}.bias": rnd(dim, scale=0.1)}

    sd: dict[str, torch.Tensor] = {}
    layers = [(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2
    cin = 1
    for i, (c, k, _) in enumerate(layers):
        sd[f"feature_extractor.conv_layers.{i}.0.weight"] = rnd(c, cin, k, scale=(cin * k) ** -0.5)
        if conv_bias:
            sd[f"feature_extractor.conv_layers.{i}.0.bias"] = rnd(c, scale=0.1)
        if mode == "default" and i == 0:
            sd.update(norm("feature_extractor.conv_layers.0.2", c))
        if mode == "layer_norm":
            sd.update(norm(f"feature_extractor.conv_layers.{i}.2.1", c))
        cin = c
    sd.update(norm("layer_norm", DIM))
    sd["post_extract_proj.weight"], sd["post_extract_proj.bias"] = rnd(EMBED, DIM, scale=DIM ** -0.5), rnd(EMBED)
    sd["encoder.pos_conv.0.bias"] = rnd(EMBED, scale=0.1)
    sd["encoder.pos_conv.0.weight_g"] = 1 + rnd(1, 1, POS_K, scale=0.1)
    sd["encoder.pos_conv.0.weight_v"] = rnd(EMBED, EMBED // POS_G, POS_K)
    sd.update(norm("encoder.layer_norm", EMBED))
    for i in range(LAYERS):
        p = f"encoder.layers.{i}"
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            sd[f"{p}.self_attn.{proj}.weight"] = rnd(EMBED, EMBED, scale=EMBED ** -0.5)
            sd[f"{p}.self_attn.{proj}.bias"] = rnd(EMBED, scale=0.1)
        sd.update(norm(f"{p}.self_attn_layer_norm", EMBED))
        sd[f"{p}.fc1.weight"], sd[f"{p}.fc1.bias"] = rnd(FFN, EMBED, scale=EMBED ** -0.5), rnd(FFN, scale=0.1)
        sd[f"{p}.fc2.weight"], sd[f"{p}.fc2.bias"] = rnd(EMBED, FFN, scale=FFN ** -0.5), rnd(EMBED, scale=0.1)
        sd.update(norm(f"{p}.final_layer_norm", EMBED))
    sd["mask_emb"] = rnd(EMBED)
    sd["final_proj.weight"], sd["final_proj.bias"] = rnd(FINAL, EMBED), rnd(FINAL)
    if family == "wav2vec2":
        sd["quantizer.vars"] = rnd(1, 2 * 10, FINAL // 2)
        sd["quantizer.weight_proj.weight"], sd["quantizer.weight_proj.bias"] = rnd(20, DIM), rnd(20)
        sd["project_q.weight"], sd["project_q.bias"] = rnd(FINAL, FINAL), rnd(FINAL)
    else:
        sd["label_embs_concat"] = rnd(5, FINAL)
    return sd


def model_cfg(variant: str) -> dict:
    family, mode, ln_first, conv_bias, _ = VARIANTS[variant]
    cfg = {"_name": family, "extractor_mode": mode, "encoder_layers": LAYERS, "encoder_embed_dim": EMBED,
           "encoder_ffn_embed_dim": FFN, "encoder_attention_heads": HEADS, "activation_fn": "gelu",
           "layer_type": "transformer", "dropout": 0.1, "attention_dropout": 0.1, "activation_dropout": 0.0,
           "encoder_layerdrop": 0.05, "dropout_input": 0.1, "dropout_features": 0.1, "final_dim": FINAL,
           "layer_norm_first": ln_first, "conv_feature_layers": CONV, "conv_bias": conv_bias,
           "logit_temp": 0.1, "feature_grad_mult": 0.1, "mask_length": 10, "mask_prob": 0.65,
           "conv_pos": POS_K, "conv_pos_groups": POS_G}
    if family == "wav2vec2":
        cfg.update(quantize_targets=True, latent_vars=10, latent_groups=2, latent_temp=[2.0, 0.5, 0.999995])
    else:
        cfg.update(label_rate=50, skip_masked=False, untie_final_proj=False)
    return cfg


def task_cfg(variant: str) -> dict:
    family, *_, normalize = VARIANTS[variant]
    name = "audio_pretraining" if family == "wav2vec2" else "hubert_pretraining"
    return {"_name": name, "data": "/checkpoint/manifests", "sample_rate": 16000, "normalize": normalize,
            "max_sample_size": 250000, "min_sample_size": 32000, "labels": ["km"]}


def _namespace(variant: str) -> argparse.Namespace:
    """fairseq <= 0.10: model and task fields flat in one Namespace, tuples as strings."""
    flat = {**task_cfg(variant), **model_cfg(variant)}
    flat["arch"] = flat.pop("_name")
    flat["task"] = task_cfg(variant)["_name"]
    if "latent_temp" in flat:
        flat["latent_temp"] = "(2.0, 0.5, 0.999995)"
    flat.update(optimizer="adam", lr=[0.0005], max_update=400000, seed=1, fp16=True)
    return argparse.Namespace(**flat)


def _training_state() -> dict:
    return {"optimizer_history": [{"criterion_name": "Wav2vecCriterion", "optimizer_name": "FairseqAdam",
                                   "lr_scheduler_state": {"best": 2.1}, "num_updates": 400000}],
            "extra_state": {"epoch": 57, "train_iterator": {"epoch": 57, "iterations_in_epoch": 3},
                            "val_loss": 2.1}}


def _dictionary() -> Dictionary:
    d = Dictionary()
    d.__dict__.update(bos_word="<s>", unk_word="<unk>", pad_word="<pad>", eos_word="</s>",
                      symbols=["<s>", "<pad>", "</s>", "<unk>", "0", "1"], count=[1, 1, 1, 1, 7, 9],
                      indices={"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "0": 4, "1": 5},
                      bos_index=0, pad_index=1, eos_index=2, unk_index=3, nspecial=4)
    return d


def _finetuned_state(variant: str) -> dict[str, torch.Tensor]:
    drop = ("quantizer.", "project_q.", "final_proj.")
    sd = {f"w2v_encoder.w2v_model.{k}": v for k, v in fairseq_state(variant).items() if not k.startswith(drop)}
    sd["w2v_encoder.proj.weight"] = torch.randn(32, EMBED)
    sd["w2v_encoder.proj.bias"] = torch.zeros(32)
    return sd


def checkpoint_object(variant: str, layout: str) -> dict:
    """The dict fairseq (or s3prl's converter) would save for this variant and layout."""
    family = VARIANTS[variant][0]
    state = fairseq_state(variant)
    ctc = f"{'wav2vec' if family == 'wav2vec2' else 'hubert'}_ctc"
    if layout == "argparse":
        return {"args": _namespace(variant), "model": state, **_training_state(), "last_optimizer_state": {}}
    hydra_cfg = {"_name": None, "common": {"fp16": True, "seed": 1}, "model": model_cfg(variant),
                 "task": task_cfg(variant), "criterion": {"_name": family}}
    if layout in ("hydra", "hydra_omegaconf"):
        out = {"args": None, "cfg": hydra_cfg if layout == "hydra" else as_omegaconf(hydra_cfg),
               "model": state, **_training_state()}
        if family == "hubert":
            out["task_state"] = {"dictionaries": [_dictionary()]}
        return out
    if layout == "finetuned_argparse":
        ns = argparse.Namespace(arch=ctc, task="audio_pretraining", normalize=VARIANTS[variant][4],
                                w2v_path="/checkpoint/pretrained.pt", w2v_args=_namespace(variant),
                                apply_mask=True, mask_prob=0.5, final_dropout=0.1)
        return {"args": ns, "model": _finetuned_state(variant), **_training_state()}
    if layout == "finetuned_hydra":
        ft_cfg = {"model": {"_name": ctc, "w2v_path": "/checkpoint/pretrained.pt", "apply_mask": True,
                            "w2v_args": hydra_cfg, "final_dropout": 0.0},
                  "task": {"_name": "audio_finetuning", "normalize": VARIANTS[variant][4], "labels": "ltr"}}
        return {"args": None, "cfg": ft_cfg, "model": _finetuned_state(variant), **_training_state()}
    if layout == "converted":
        out = {"task_cfg": task_cfg(variant), "model_cfg": model_cfg(variant), "model_weight": state}
        if family == "hubert":
            out["dictionaries_symbols"] = [list(_dictionary().symbols)]
        return out
    raise ValueError(layout)


@pytest.fixture(scope="session")
def make_checkpoint(tmp_path_factory):
    """``make_checkpoint(variant, layout) -> path``: written once per session."""
    root = tmp_path_factory.mktemp("w2v2_ckpts")
    cache: dict[tuple[str, str], str] = {}

    def make(variant: str, layout: str) -> str:
        if (variant, layout) not in cache:
            path = str(root / f"{variant}_{layout}.pt")
            with fake_modules():
                torch.save(checkpoint_object(variant, layout), path,
                           _use_new_zipfile_serialization=not layout.endswith("argparse"))
            cache[variant, layout] = path
        return cache[variant, layout]

    return make


def wave(seconds: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n = int(round(seconds * 16000))
    t = torch.arange(n) / 16000
    return (0.3 * torch.sin(2 * torch.pi * 180 * t) + 0.05 * torch.randn(n, generator=g)).float()


@pytest.fixture(scope="session")
def fx():
    """This module (builders, ``wave``, ``VARIANTS``), for tests that need the helpers."""
    return sys.modules[__name__]
