"""Speaker identification: which of the training speakers is talking (SUPERB SID).

Data dir files beyond ``wav.scp``: ``utt2spk`` (the speaker of each utterance; dev and test
speakers must all occur in train) and, for length bucketing and crops without reading audio
headers, ``utt2dur``. Head: Linear(D -> ``modelrc.hidden_size``) -> masked utterance pooling
(``modelrc.pooling``: ``mean`` as SUPERB, ``mean_std`` or ``attentive`` statistics) ->
Linear(number of training speakers). Training utterances longer than
``datarc.max_train_seconds`` are randomly cropped (SUPERB: 8 s), the crop seeded by
(``datarc.seed``, epoch, item) so a resumed run sees the same crops. Metric: accuracy; best
checkpoint by dev accuracy; ``test_predictions.txt`` holds ``utt predicted_speaker``.
"""
from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from speechbench.config_sections import expert_sections
from speechbench.data.loader import make_dataloader
from speechbench.downstream._modules.pooling import UtterancePooling, pad_features
from speechbench.downstream._modules.speaker_data import SpeakerDataset, crop_features
from speechbench.utils_io import atomic_open

DATARC = {"train": "data/train", "dev": "data/dev", "test": "data/test", "batch_size": 8,
          "max_train_seconds": 8.0, "num_workers": 0, "seed": 0}
MODELRC = {"hidden_size": 256, "pooling": "mean"}


class SpeakerClassifier(nn.Module):
    """Projection, masked pooling, linear classifier: padding never changes a prediction."""

    def __init__(self, input_dim: int, hidden_size: int, num_speakers: int, pooling: str) -> None:
        super().__init__()
        self.project = nn.Linear(input_dim, hidden_size)
        self.pool = UtterancePooling(hidden_size, pooling)
        self.classify = nn.Linear(self.pool.output_dim, num_speakers)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        padded, mask = pad_features(features)
        return self.classify(self.pool(self.project(padded), mask))


class DownstreamExpert(nn.Module):
    METRIC = ("acc", "max")

    def __init__(self, upstream_dim: int, downstream_expert: dict, expdir: str, upstream_rate: int = 160,
                 **kwargs: object) -> None:
        super().__init__()
        rc = expert_sections(downstream_expert, {"datarc": DATARC, "modelrc": MODELRC}, "speaker")
        self.datarc, modelrc = rc["datarc"], rc["modelrc"]
        self.expdir, self.upstream_rate = expdir, upstream_rate
        self.datasets: dict[str, SpeakerDataset] = {}
        self.speakers = self._dataset("train").speakers
        self.model = SpeakerClassifier(upstream_dim, modelrc["hidden_size"], len(self.speakers), modelrc["pooling"])

    def _dataset(self, split: str) -> SpeakerDataset:
        if split not in self.datasets:
            train = split == "train"
            self.datasets[split] = SpeakerDataset(
                self.datarc[split], speakers=None if train else self.speakers, strict=True,
                max_seconds=self.datarc["max_train_seconds"] if train else None, seed=self.datarc["seed"])
        return self.datasets[split]

    def get_dataloader(self, split: str):
        ds = self._dataset(split)
        return make_dataloader(ds, ds.lengths(), self.datarc["batch_size"], train=split == "train",
                               seed=self.datarc["seed"], num_workers=self.datarc["num_workers"])

    def forward(self, split: str, features: list[torch.Tensor], utt_ids: list[str], speakers: list[int],
                crops: list, records: dict) -> torch.Tensor:
        logits = self.model(crop_features(features, crops, self.upstream_rate))
        target = torch.tensor(speakers, device=logits.device)
        loss = F.cross_entropy(logits, target)
        predicted = logits.argmax(-1)
        records.setdefault("loss", []).append(loss.item())
        records.setdefault("correct", []).extend((predicted == target).tolist())
        if split != "train":
            records.setdefault("predictions", []).extend(zip(utt_ids, predicted.tolist()))
        return loss

    def log_records(self, split: str, records: dict, logger, global_step: int, **kwargs: object) -> None:
        accuracy = float(np.mean(records["correct"]))
        logger.add_scalar(f"{split}-acc", accuracy, global_step)
        logger.add_scalar(f"{split}-loss", float(np.mean(records["loss"])), global_step)
        if split == "test":
            with atomic_open(os.path.join(self.expdir, "test_predictions.txt"), "w", encoding="utf-8") as f:
                f.writelines(f"{utt} {self.speakers[p]}\n" for utt, p in sorted(records["predictions"]))
