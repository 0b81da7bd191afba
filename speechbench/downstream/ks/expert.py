"""Keyword spotting (SUPERB KS, Speech Commands v0.01): twelve-way utterance classification.

Data dir files beyond ``wav.scp``: ``utt2label`` (``utt word``): a keyword, any other word,
``_unknown_`` or ``_silence_``; ``utt2dur`` for length bucketing when present. The twelve
classes are ``datarc.keywords`` (SUPERB: yes no up down left right on off stop go), then
``_unknown_`` (every other word) and ``_silence_``.

Balance: SUPERB draws the twelve classes equally often (s3prl samples with class weights).
Here a training epoch holds every keyword clip once plus, drawn afresh each epoch from
``datarc.seed`` and the epoch number, as many ``_unknown_`` and as many ``_silence_`` clips as
a keyword class has on average (with replacement only when a pool is smaller than that), so
a resumed or cached run sees the same draws; dev is one such draw, fixed; test is scored as
given (the v0.01 test set is balanced by construction). ``datarc.balance`` lists the
balanced splits.

Head (SUPERB): ``Linear(D -> 256)``, mean pooling, ``Linear(256 -> 12)``; cross entropy;
metric ``acc`` (best checkpoint by dev accuracy). The test split writes
``test_predictions.txt`` (``utt predicted true``).
"""
from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from speechbench.config_sections import SPLITS, expert_sections
from speechbench.data.dataset import UtteranceDataset
from speechbench.data.kaldi_dir import DataDirError
from speechbench.data.loader import make_dataloader
from speechbench.downstream._modules.labels import read_label_lines
from speechbench.downstream._modules.utterance_head import UtteranceClassifier, classification_step, write_predictions
from speechbench.metrics.classification import accuracy
from speechbench.errors import ConfigError

UNKNOWN, SILENCE = "_unknown_", "_silence_"
SUPERB_KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
DATARC = {"train": "data/train", "dev": "data/dev", "test": "data/test", "label_file": "utt2label",
          "keywords": SUPERB_KEYWORDS, "balance": ["train", "dev"], "batch_size": 32, "num_workers": 0, "seed": 0}
MODELRC = {"projector_dim": 256, "pooling": "mean", "dropout": 0.0}


def balanced_draw(classes: list[int], num_keywords: int, rng: np.random.Generator) -> list[int]:
    """Indices: every keyword item once, plus ``_unknown_`` and ``_silence_`` items (classes
    ``num_keywords`` and ``num_keywords + 1``) as many as the mean keyword class has."""
    labels = np.asarray(classes)
    keyword_items = np.flatnonzero(labels < num_keywords)
    per_class = int(round(len(keyword_items) / num_keywords))
    drawn = [keyword_items]
    for extra in (num_keywords, num_keywords + 1):
        pool = np.flatnonzero(labels == extra)
        if len(pool) and per_class:
            drawn.append(rng.choice(pool, per_class, replace=len(pool) < per_class))
    return sorted(int(i) for i in np.concatenate(drawn))


class KeywordDataset(UtteranceDataset):
    """Items ``(utt, wav | None, class index)``; a balanced split redraws its items per epoch."""

    def __init__(self, data_dir: str, label_file: str, keywords: list[str], balanced: bool, seed: int,
                 split: str) -> None:
        self.require = (label_file,)
        super().__init__(data_dir)
        lines = read_label_lines(os.path.join(data_dir, label_file), 1, "keyword spotting")
        missing = [u for u in self.utts if u not in lines]
        if missing:
            raise DataDirError(f"{data_dir}/{label_file}: {len(missing)} utterances have no label (e.g. {missing[:3]}); "
                               f"run `python -m speechbench.data.validate {data_dir} --fix`")
        index = {w: i for i, w in enumerate([*keywords, UNKNOWN, SILENCE])}
        self.all_utts = list(self.utts)
        self.targets = {u: index.get(lines[u][1][0], index[UNKNOWN]) for u in self.all_utts}
        self.num_keywords, self.balanced, self.seed, self.split = len(keywords), balanced, seed, split
        if balanced and not any(self.targets[u] < self.num_keywords for u in self.all_utts):
            raise DataDirError(f"{data_dir}/{label_file}: no clip of any keyword ({' '.join(keywords)}); "
                               f"check datarc.keywords against the labels")
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Draw the epoch's items (train: per epoch; dev: one fixed draw; unbalanced: all)."""
        if not self.balanced:
            return
        stream = [self.seed, 1, epoch] if self.split == "train" else [self.seed, 2]
        classes = [self.targets[u] for u in self.all_utts]
        self.utts = [self.all_utts[i] for i in balanced_draw(classes, self.num_keywords, np.random.default_rng(stream))]

    def labels(self, utt: str) -> tuple:
        return (self.targets[utt],)


class DownstreamExpert(nn.Module):
    METRIC = ("acc", "max")

    def __init__(self, upstream_dim: int, downstream_expert: dict, expdir: str, **kwargs: object) -> None:
        super().__init__()
        rc = expert_sections(downstream_expert, {"datarc": DATARC, "modelrc": MODELRC}, "ks")
        self.datarc, modelrc = rc["datarc"], rc["modelrc"]
        keywords = list(self.datarc["keywords"])
        if not all(isinstance(k, str) for k in keywords):
            raise ConfigError(f"ks datarc.keywords must be words, got {keywords}; quote yes/no/on/off in YAML "
                              f"(unquoted they read as booleans)")
        if not keywords or len(set(keywords)) != len(keywords) or {UNKNOWN, SILENCE} & set(keywords):
            raise ConfigError(f"ks datarc.keywords must be distinct words other than {UNKNOWN} and {SILENCE}, "
                              f"got {keywords}")
        bad = sorted(set(self.datarc["balance"]) - set(SPLITS))
        if bad:
            raise ConfigError(f"ks datarc.balance names unknown splits {bad}; valid: {list(SPLITS)}")
        self.classes = [*keywords, UNKNOWN, SILENCE]
        self.expdir = expdir
        self.datasets: dict[str, KeywordDataset] = {}
        for split in SPLITS[:2]:  # a bad train/dev dir fails now, not after training
            self._dataset(split)
        self.model = UtteranceClassifier(upstream_dim, len(self.classes), **modelrc)

    def _dataset(self, split: str) -> KeywordDataset:
        if split not in self.datasets:
            d = self.datarc
            self.datasets[split] = KeywordDataset(d[split], d["label_file"], self.classes[:-2], split in d["balance"],
                                                  d["seed"], split)
        return self.datasets[split]

    def get_dataloader(self, split: str):
        ds = self._dataset(split)
        return make_dataloader(ds, ds.lengths(), self.datarc["batch_size"], train=split == "train",
                               seed=self.datarc["seed"], num_workers=self.datarc["num_workers"])

    def forward(self, split: str, features: list[torch.Tensor], utt_ids: list[str], labels: list[int],
                records: dict) -> torch.Tensor:
        return classification_step(self.model(features), labels, utt_ids, records)

    def log_records(self, split: str, records: dict, logger, global_step: int, **kwargs: object) -> None:
        acc = accuracy(records["pred"], records["true"])
        logger.add_scalar(f"{split}-acc", acc, global_step)
        logger.add_scalar(f"{split}-loss", float(np.mean(records["loss"])), global_step)
        if split == "test":
            write_predictions(self.expdir, records, self.classes)
