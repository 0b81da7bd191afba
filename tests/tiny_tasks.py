"""Each task on the tiny mini corpus: its data dirs, made as its recipe's stage 1 makes them.

The contract test builds every task from these and the ceiling controls train on them; the
``tiny_task`` fixture (conftest.py) prepares each task once per test run. A new task adds one
function to ``PREPARE`` (its ``datarc`` keys: train/dev/test dirs and any file its recipe derives)
and, for the contract test's quick heads, its small sizes to ``SMALL``.
"""
from __future__ import annotations

import os
from typing import Any, Callable

import yaml

from speechbench.corpora.librimix import prepare_librimix
from speechbench.corpora.mini.intents import mini_classes
from speechbench.corpora.mini.ks import prepare_mini_ks
from speechbench.corpora.mini.sd import prepare_mini_sd
from speechbench.corpora.mini.sf import prepare_mini_sf
from speechbench.corpora.snips import prepare_snips
from speechbench.corpora.speech_commands import prepare_speech_commands
from speechbench.data import trials
from speechbench.downstream._modules.units import build_units


def _splits(data: str, train: str, dev: str | None = None, test: str | None = None) -> dict[str, str]:
    return {"train": os.path.join(data, train), "dev": os.path.join(data, dev or train.replace("train", "dev")),
            "test": os.path.join(data, test or train.replace("train", "test"))}


def _tokens(train: str, work: str, transcript: str, unit: str) -> str:
    out = os.path.join(work, f"lang_{unit}")
    build_units(os.path.join(train, transcript), unit, out)
    return os.path.join(out, "tokens.txt")


def example(data: str, work: str) -> dict[str, Any]:
    return {"num_utterances": {"train": 16, "dev": 12, "test": 4}}


def read(data: str, work: str) -> dict[str, Any]:
    """Phone classification and speaker identification: the read speech subset."""
    return _splits(data, "read/train")


def pr(data: str, work: str) -> dict[str, Any]:
    return {**_splits(data, "read/train"), "tokens": _tokens(os.path.join(data, "read", "train"), work, "text.phn", "token")}


def asr(data: str, work: str) -> dict[str, Any]:
    return {**_splits(data, "read/train"), "unit": "char",
            "tokens": _tokens(os.path.join(data, "read", "train"), work, "text", "char")}


def asv(data: str, work: str) -> dict[str, Any]:
    """Train and dev speakers apart, as the recipe's trials stage splits them; test is the corpus's trial list."""
    out = os.path.join(work, "data")
    assert trials.main(["--train", f"{data}/asv/train", "--out-train", f"{out}/train", "--out-dev", f"{out}/dev",
                        "--dev-speakers", "4", "--seed", "0"]) == 0
    return {**_splits(out, "train"), "test": os.path.join(data, "asv", "test")}


def subset(name: str) -> Callable[[str, str], dict[str, Any]]:
    """A task that reads one subset of the corpus as it is."""
    return lambda data, work: _splits(data, f"{name}/train")


def intent(data: str, work: str) -> dict[str, Any]:
    classes = os.path.join(work, "classes.yaml")
    with open(classes, "w", encoding="utf-8") as f:
        yaml.safe_dump(mini_classes(), f)
    return {**_splits(data, "intent/train"), "classes": classes}


def ks(data: str, work: str) -> dict[str, Any]:
    """The tiny keyword corpus (isolated words of the mini speakers) through the Speech Commands prep."""
    out = os.path.join(work, "data")
    prepare_speech_commands(prepare_mini_ks(os.path.join(work, "corpus"), "tiny", seed=0, nj=1), out)
    return _splits(out, "train")


def sf(data: str, work: str) -> dict[str, Any]:
    """The tiny slot corpus through the SNIPS prep, every speaker of each folder kept."""
    out = os.path.join(work, "data")
    every_speaker = dict.fromkeys(("train", "valid", "test"), "all")
    prepare_snips(prepare_mini_sf(os.path.join(work, "corpus"), "tiny", seed=0, nj=1), out, every_speaker)
    return {**_splits(out, "train"), "tokens": _tokens(os.path.join(out, "train"), work, "text.slot", "char_slot")}


def sd(data: str, work: str) -> dict[str, Any]:
    """Two-speaker mixtures of the tiny corpus through the Libri2Mix prep."""
    mixtures = prepare_mini_sd(os.path.dirname(data), os.path.join(work, "corpus"))
    out = os.path.join(work, "data")
    prepare_librimix(os.path.join(mixtures, "Libri2Mix", "wav16k", "max"),
                     os.path.join(mixtures, "metadata", "LibriSpeech"), out, mix="clean", splits=("train", "dev", "test"))
    return _splits(out, "train")


PREPARE: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "example": example, "phone": read, "pr": pr, "asr": asr, "speaker": read, "asv": asv,
    "emotion": subset("emotion"), "intent": intent, "qa": subset("qa"), "ks": ks, "sf": sf, "sd": sd,
}

# The contract test's quick heads: batch sizes and model sizes on top of each task's config.yaml.
SMALL: dict[str, dict[str, dict[str, Any]]] = {
    "pr": {"modelrc": {"project_dim": 16}},
    "asr": {"modelrc": {"project_dim": 16, "hidden_size": 16, "num_layers": 1}},
    "speaker": {"datarc": {"max_train_seconds": 1.5}, "modelrc": {"hidden_size": 16}},
    "asv": {"datarc": {"max_train_seconds": 1.5, "min_train_seconds": 0.0},
            "modelrc": {"input_size": 16, "channels": 16, "stats_channels": 24, "embedding_size": 8}},
    "emotion": {"modelrc": {"projector_dim": 16}},
    "intent": {"modelrc": {"projector_dim": 16}},
    "qa": {"datarc": {"batch_size": 2}, "modelrc": {"hidden_size": 16, "conv_layers": 2}},
    "ks": {"modelrc": {"projector_dim": 16}},
    "sf": {"modelrc": {"project_dim": 16, "hidden_size": 16, "num_layers": 1}},
    "sd": {"datarc": {"batch_size": 2}, "modelrc": {"hidden_size": 16}},
}
