"""How each task is set up on the tiny mini corpus for the contract test: ``downstream_expert`` overrides.

A new task adds one entry here (its data on the tiny corpus or a fixture it writes); the
contract test then checks it like every other task, with no test of its own.
"""
from __future__ import annotations

import os
from typing import Callable

import yaml

from speechbench.corpora.librimix import prepare_librimix
from speechbench.corpora.mini.intents import mini_classes
from speechbench.corpora.mini.ks import prepare_mini_ks
from speechbench.corpora.mini.sd import prepare_mini_sd
from speechbench.corpora.mini.sf import prepare_mini_sf
from speechbench.corpora.snips import prepare_snips
from speechbench.corpora.speech_commands import prepare_speech_commands
from speechbench.downstream._modules.units import build_units


def _splits(data: str, train: str, dev: str | None = None, test: str | None = None) -> dict:
    return {"train": os.path.join(data, train), "dev": os.path.join(data, dev or train.replace("train", "dev")),
            "test": os.path.join(data, test or train.replace("train", "test"))}


def _tokens(train: str, tmp: str, transcript: str, unit: str) -> str:
    out = os.path.join(tmp, f"lang_{unit}")
    build_units(os.path.join(train, transcript), unit, out)
    return os.path.join(out, "tokens.txt")


def example(data: str, tmp: str) -> dict:
    return {"datarc": {"num_utterances": {"train": 16, "dev": 12, "test": 4}, "batch_size": 4}}


def phone(data: str, tmp: str) -> dict:
    return {"datarc": {**_splits(data, "read/train"), "batch_size": 4}}


def pr(data: str, tmp: str) -> dict:
    tokens = _tokens(os.path.join(data, "read", "train"), tmp, "text.phn", "token")
    return {"datarc": {**_splits(data, "read/train"), "tokens": tokens, "batch_size": 4}, "modelrc": {"project_dim": 16}}


def asr(data: str, tmp: str) -> dict:
    tokens = _tokens(os.path.join(data, "read", "train"), tmp, "text", "char")
    return {"datarc": {**_splits(data, "read/train"), "tokens": tokens, "batch_size": 4},
            "modelrc": {"project_dim": 16, "hidden_size": 16, "num_layers": 1}}


def speaker(data: str, tmp: str) -> dict:
    return {"datarc": {**_splits(data, "read/train"), "batch_size": 4, "max_train_seconds": 1.5},
            "modelrc": {"hidden_size": 16}}


def asv(data: str, tmp: str) -> dict:
    return {"datarc": {**_splits(data, "asv/train", "asv/test", "asv/test"), "batch_size": 4,
                       "max_train_seconds": 1.5, "min_train_seconds": 0.0},
            "modelrc": {"input_size": 16, "channels": 16, "stats_channels": 24, "embedding_size": 8}}


def emotion(data: str, tmp: str) -> dict:
    return {"datarc": {**_splits(data, "emotion/train"), "batch_size": 4}, "modelrc": {"projector_dim": 16}}


def intent(data: str, tmp: str) -> dict:
    classes = os.path.join(tmp, "classes.yaml")
    with open(classes, "w", encoding="utf-8") as f:
        yaml.safe_dump(mini_classes(), f)
    return {"datarc": {**_splits(data, "intent/train"), "classes": classes, "batch_size": 4},
            "modelrc": {"projector_dim": 16}}


def qa(data: str, tmp: str) -> dict:
    return {"datarc": {**_splits(data, "qa/train"), "batch_size": 2}, "modelrc": {"hidden_size": 16, "conv_layers": 2}}


def ks(data: str, tmp: str) -> dict:
    """The tiny keyword corpus (isolated words of the mini speakers) through the Speech Commands prep."""
    out = os.path.join(tmp, "data")
    prepare_speech_commands(prepare_mini_ks(os.path.join(tmp, "corpus"), "tiny"), out)
    return {"datarc": {**_splits(out, "train"), "batch_size": 4}, "modelrc": {"projector_dim": 16}}


def sf(data: str, tmp: str) -> dict:
    """The tiny slot corpus through the SNIPS prep, every speaker of each folder kept."""
    out = os.path.join(tmp, "data")
    every_speaker = dict.fromkeys(("train", "valid", "test"), "all")
    prepare_snips(prepare_mini_sf(os.path.join(tmp, "corpus"), "tiny"), out, every_speaker)
    tokens = _tokens(os.path.join(out, "train"), tmp, "text.slot", "char_slot")
    return {"datarc": {**_splits(out, "train"), "tokens": tokens, "batch_size": 4},
            "modelrc": {"project_dim": 16, "hidden_size": 16, "num_layers": 1}}


def sd(data: str, tmp: str) -> dict:
    """Two-speaker mixtures of the tiny corpus through the Libri2Mix prep."""
    mixtures = prepare_mini_sd(os.path.dirname(data), os.path.join(tmp, "corpus"))
    out = os.path.join(tmp, "data")
    prepare_librimix(os.path.join(mixtures, "Libri2Mix", "wav16k", "max"),
                     os.path.join(mixtures, "metadata", "LibriSpeech"), out, mix="clean", splits=("train", "dev", "test"))
    return {"datarc": {**_splits(out, "train"), "batch_size": 2}, "modelrc": {"hidden_size": 16}}


TASKS: dict[str, Callable[[str, str], dict]] = {
    "example": example, "phone": phone, "pr": pr, "asr": asr, "speaker": speaker, "asv": asv,
    "emotion": emotion, "intent": intent, "qa": qa, "ks": ks, "sf": sf, "sd": sd,
}
