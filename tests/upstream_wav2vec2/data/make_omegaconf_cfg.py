"""Writes ``omegaconf206_cfg.pt``: a hydra-era fairseq file whose ``cfg`` is a real omegaconf 2.0.6
``DictConfig`` built from structured configs, pickled the way 2020-21 fairseq files are.

Not run by the tests (it needs ``pip install --target DIR omegaconf==2.0.6
antlr4-python3-runtime==4.8`` and ``PYTHONPATH=DIR``); the output file is committed. The config
classes are registered under fairseq's module names so the pickle references those names.
"""
import enum
import sys
import types
from dataclasses import dataclass, field

import torch
from omegaconf import OmegaConf


def module(name: str) -> types.ModuleType:
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
    return sys.modules[name]


class StrEnum(enum.Enum):
    def __str__(self) -> str:
        return self.value


EXTRACTOR_MODE_CHOICES = StrEnum("EXTRACTOR_MODE_CHOICES", {"default": "default", "layer_norm": "layer_norm"},
                                 module="fairseq.dataclass.constants")
module("fairseq.dataclass.constants").EXTRACTOR_MODE_CHOICES = EXTRACTOR_MODE_CHOICES


@dataclass
class Wav2Vec2Config:
    _name: str = "wav2vec2"
    extractor_mode: EXTRACTOR_MODE_CHOICES = EXTRACTOR_MODE_CHOICES.layer_norm
    encoder_layers: int = 24
    encoder_embed_dim: int = 1024
    layer_norm_first: bool = True
    conv_feature_layers: str = "[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] + [(512,2,2)]"
    conv_bias: bool = True
    dropout: float = 0.0
    latent_temp: list = field(default_factory=lambda: [2.0, 0.1, 0.999995])


@dataclass
class AudioPretrainingConfig:
    _name: str = "audio_pretraining"
    data: str = "/manifests"
    normalize: bool = True
    sample_rate: int = 16000


for cls, mod in ((Wav2Vec2Config, "fairseq.models.wav2vec.wav2vec2"),
                 (AudioPretrainingConfig, "fairseq.tasks.audio_pretraining")):
    cls.__module__ = mod
    setattr(module(mod), cls.__name__, cls)

cfg = OmegaConf.create({"common": {"fp16": True, "seed": 1}, "model": OmegaConf.structured(Wav2Vec2Config),
                        "task": OmegaConf.structured(AudioPretrainingConfig)})
torch.save({"args": None, "cfg": cfg, "model": {"layer_norm.weight": torch.ones(4)}}, "omegaconf206_cfg.pt")
