"""How each task is set up on the tiny mini corpus for the contract test: ``downstream_expert`` overrides.

A new task adds one entry here (its data on the tiny corpus or a fixture it writes); the
contract test then checks it like every other task, with no test of its own.
"""
from __future__ import annotations

import os
from typing import Callable

import yaml

from speechbench.corpora.mini.intents import mini_classes
from speechbench.downstream._modules.units import build_units


def _splits(data: str, train: str, dev: str | None = None, test: str | None = None) -> dict:
    return {"train": os.path.join(data, train), "dev": os.path.join(data, dev or train.replace("train", "dev")),
            "test": os.path.join(data, test or train.replace("train", "test"))}


def _tokens(data: str, tmp: str, transcript: str, unit: str) -> str:
    out = os.path.join(tmp, f"lang_{unit}")
    build_units(os.path.join(data, "read", "train", transcript), unit, out)
    return os.path.join(out, "tokens.txt")


def example(data: str, tmp: str) -> dict:
    return {"datarc": {"num_utterances": {"train": 16, "dev": 12, "test": 4}, "batch_size": 4}}


def phone(data: str, tmp: str) -> dict:
    return {"datarc": {**_splits(data, "read/train"), "batch_size": 4}}


def pr(data: str, tmp: str) -> dict:
    return {"datarc": {**_splits(data, "read/train"), "tokens": _tokens(data, tmp, "text.phn", "token"),
                       "batch_size": 4}, "modelrc": {"project_dim": 16}}


def asr(data: str, tmp: str) -> dict:
    return {"datarc": {**_splits(data, "read/train"), "tokens": _tokens(data, tmp, "text", "char"), "batch_size": 4},
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


TASKS: dict[str, Callable[[str, str], dict]] = {
    "example": example, "phone": phone, "pr": pr, "asr": asr, "speaker": speaker, "asv": asv,
    "emotion": emotion, "intent": intent, "qa": qa,
}
