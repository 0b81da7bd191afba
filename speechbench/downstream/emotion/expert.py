"""Emotion recognition: utterance classification with the SUPERB head (project, mean-pool, linear).

Data dir files beyond ``wav.scp``: ``utt2emotion`` (``utt label``, one label name per
utterance, e.g. ``neu``/``hap``/``ang``/``sad`` for IEMOCAP or ``neutral``/``happy``/...
for the mini corpus); ``utt2dur`` is used for length bucketing when present. The class list
is the sorted set of training labels, or ``datarc.classes``; a dev/test label outside it is
an error naming the file and line. Metrics: accuracy (``acc``, the SUPERB number) and
unweighted average recall over the classes present (``ua``); best checkpoint by dev
accuracy. The test split writes ``test_predictions.txt`` (``utt predicted true``).
IEMOCAP's leave-one-session-out folds are formed and averaged by
:mod:`speechbench.downstream.emotion.cross_validation`.
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
from speechbench.downstream._modules.labels import class_list, encode_labels, read_label_lines
from speechbench.downstream._modules.utterance_head import UtteranceClassifier, classification_step, write_predictions
from speechbench.metrics.classification import accuracy, per_class_accuracy

DATARC = {"train": "data/train", "dev": "data/dev", "test": "data/test", "label_file": "utt2emotion",
          "classes": None, "batch_size": 4, "num_workers": 0, "seed": 0}
MODELRC = {"projector_dim": 256, "pooling": "mean", "dropout": 0.0}


class EmotionDataset(UtteranceDataset):
    """Items ``(utt, wav | None, class_index)``; ``classes`` None takes them from this dir."""

    def __init__(self, data_dir: str, label_file: str, classes: list[str] | None, source: str) -> None:
        self.require = (label_file,)
        super().__init__(data_dir)
        path = os.path.join(data_dir, label_file)
        lines = read_label_lines(path, 1, "emotion recognition")
        self.classes = class_list((f[0] for _, f in lines.values()), classes, "datarc.classes")
        self.targets = encode_labels(lines, 0, self.classes, path, source)

    def labels(self, utt: str) -> tuple:
        return (self.targets[utt],)


class DownstreamExpert(nn.Module):
    METRIC = ("acc", "max")
    OTHER_METRICS = {"ua": "max"}

    def __init__(self, upstream_dim: int, downstream_expert: dict, expdir: str, **kwargs: object) -> None:
        super().__init__()
        rc = expert_sections(downstream_expert, {"datarc": DATARC, "modelrc": MODELRC}, "emotion")
        self.datarc, modelrc = rc["datarc"], rc["modelrc"]
        self.expdir = expdir
        given = self.datarc["classes"]
        self.class_source = "datarc.classes" if given is not None else f"{self.datarc['train']} (train)"
        train = EmotionDataset(self.datarc["train"], self.datarc["label_file"], given, self.class_source)
        self.classes = train.classes
        if len(self.classes) < 2:
            raise DataDirError(f"{self.class_source}: only the class {self.classes} (a classifier needs at least 2); "
                               f"check {os.path.join(self.datarc['train'], self.datarc['label_file'])}")
        self.datasets = {"train": train}
        for split in SPLITS[1:]:  # existing dev/test dirs are checked now, not after hours of training
            if os.path.isdir(self.datarc[split]):
                self._dataset(split)
        self.model = UtteranceClassifier(upstream_dim, len(self.classes), **modelrc)

    def _dataset(self, split: str) -> EmotionDataset:
        if split not in self.datasets:
            self.datasets[split] = EmotionDataset(self.datarc[split], self.datarc["label_file"], self.classes,
                                                  self.class_source)
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
        recalls = per_class_accuracy(records["pred"], records["true"], len(self.classes))
        logger.add_scalar(f"{split}-acc", acc, global_step)
        logger.add_scalar(f"{split}-ua", float(np.mean(list(recalls.values()))), global_step)
        logger.add_scalar(f"{split}-loss", float(np.mean(records["loss"])), global_step)
        if split == "test":
            write_predictions(self.expdir, records, self.classes)
