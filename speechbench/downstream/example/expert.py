"""The downstream template: copy this folder to add a task.

The contract with the runner is :mod:`speechbench.contracts` (the registry checks it when the
task is loaded); in short:

* ``DownstreamExpert(upstream_dim, downstream_expert, expdir, **kwargs)``: ``upstream_dim`` is
  the featurizer's output size, ``downstream_expert`` the ``downstream_expert`` section of the
  config: read it with ``speechbench.config_sections.expert_sections``, which merges each of
  its sections over your defaults (an unknown section or key is an error), ``expdir`` where
  to write predictions. ``kwargs`` carries ``upstream_rate`` (input samples per feature frame)
  for frame-level labels.
* ``METRIC = (name, "max" | "min")``: the primary metric; the runner saves
  ``best-states-dev.ckpt`` whenever dev improves on it, and the report ranks by it.
* ``get_dataloader(split)`` returns a loader whose batches are ``(utt_ids, wavs, *labels)``,
  each a list; build it with ``speechbench.data.loader.make_dataloader`` (length buckets,
  exact resume, torchrun). ``wavs`` are 1-D 16 kHz tensors (None when the runner reads
  cached features: the runner sets the dataset's ``load_audio`` to False).
* ``forward(split, features, utt_ids, *labels, records)``: ``features`` is a list of
  ``[T_i, upstream_dim]`` tensors, one per utterance, unpadded. Return the loss; append what
  ``log_records`` needs to ``records`` (a dict of lists).
* ``log_records(split, records, logger, global_step, **kwargs)``: write metrics with
  ``logger.add_scalar(f"{split}-<metric>", value, global_step)`` (they also become the
  ``<split>_results.json`` of ``-m evaluate``).

This example classifies synthetic tones in noise (each class its own pitch range): mean
pooling + an MLP, cross-entropy, accuracy.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from speechbench.config_sections import SPLITS, expert_sections, merge_section
from speechbench.contracts import SAMPLE_RATE
from speechbench.data.loader import make_dataloader
from speechbench.downstream._modules.pooling import masked_mean, pad_features
from speechbench.utils_io import atomic_open

DATARC = {"num_classes": 4, "num_utterances": {"train": 256, "dev": 64, "test": 64}, "batch_size": 16, "seed": 0}
MODELRC = {"hidden_size": 64}


class ToneDataset(Dataset):
    """Deterministic random utterances: a tone whose pitch range encodes the class."""

    def __init__(self, split: str, size: int, num_classes: int, seed: int) -> None:
        self.split, self.size, self.num_classes, self.seed = split, size, num_classes, seed
        self.load_audio = True

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, SPLITS.index(self.split), index])

    def lengths(self) -> list[float]:
        return [0.5 + self._rng(i).random() for i in range(self.size)]

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple:
        rng = self._rng(index)
        seconds = 0.5 + rng.random()
        label = int(rng.integers(self.num_classes))
        wav = None
        if self.load_audio:
            t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
            pitch = 150 * 2 ** ((label + rng.random()) * 0.9)
            tone = np.sin(2 * math.pi * pitch * t + rng.random() * 6.28)
            wav = torch.from_numpy((0.3 * tone + 0.1 * rng.standard_normal(len(t))).astype(np.float32))
        return f"example-{self.split}-{index:05d}", wav, label


class DownstreamExpert(nn.Module):
    METRIC = ("acc", "max")

    def __init__(self, upstream_dim: int, downstream_expert: dict, expdir: str, **kwargs: object) -> None:
        super().__init__()
        rc = expert_sections(downstream_expert, {"datarc": DATARC, "modelrc": MODELRC}, "example")
        self.datarc, modelrc = rc["datarc"], rc["modelrc"]
        self.datarc["num_utterances"] = merge_section(self.datarc["num_utterances"], DATARC["num_utterances"],
                                                      "example datarc.num_utterances")
        self.expdir = expdir
        self.model = nn.Sequential(nn.Linear(upstream_dim, modelrc["hidden_size"]), nn.ReLU(),
                                   nn.Linear(modelrc["hidden_size"], self.datarc["num_classes"]))
        self.datasets = {s: ToneDataset(s, self.datarc["num_utterances"][s], self.datarc["num_classes"],
                                        self.datarc["seed"]) for s in SPLITS}

    def get_dataloader(self, split: str):
        dataset = self.datasets[split]
        return make_dataloader(dataset, dataset.lengths(), self.datarc["batch_size"], train=split == "train",
                               seed=self.datarc["seed"])

    def forward(self, split: str, features: list[torch.Tensor], utt_ids: list[str], labels: list[int],
                records: dict) -> torch.Tensor:
        logits = self.model(masked_mean(*pad_features(features)))
        target = torch.tensor(labels, device=logits.device)
        loss = F.cross_entropy(logits, target)
        records.setdefault("loss", []).append(loss.item())
        records.setdefault("correct", []).extend((logits.argmax(-1) == target).tolist())
        records.setdefault("utt", []).extend(utt_ids)
        records.setdefault("pred", []).extend(logits.argmax(-1).tolist())
        return loss

    def log_records(self, split: str, records: dict, logger, global_step: int, **kwargs: object) -> None:
        accuracy = float(np.mean(records["correct"]))
        logger.add_scalar(f"{split}-acc", accuracy, global_step)
        logger.add_scalar(f"{split}-loss", float(np.mean(records["loss"])), global_step)
        if split == "test":
            with atomic_open(f"{self.expdir}/{split}_predictions.txt", "w", encoding="utf-8") as f:
                f.writelines(f"{u} {p}\n" for u, p in zip(records["utt"], records["pred"]))
