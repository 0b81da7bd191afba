"""Phone classification: a frame-level linear probe (the Mockingjay/TERA protocol).

Data dir files beyond ``wav.scp``: ``ali.scp`` (or ``ali.ark`` / text ``ali``; set
``datarc.alignment``): one phone id per 10 ms frame, frame i covering [10i, 10i+10) ms;
``phones.txt``: ``symbol id`` lines naming the ids. Labels are taken at each upstream
frame's centre, so any upstream rate works. Head: Linear (or one hidden layer with
``modelrc.hidden_size > 0``). Metric: frame accuracy; best checkpoint by dev accuracy.
"""
from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from speechbench.config_sections import expert_sections
from speechbench.data.dataset import UtteranceDataset
from speechbench.data.kaldi_dir import DataDirError
from speechbench.data.loader import make_dataloader
from speechbench.downstream._modules.frames import labels_at_upstream_rate
from speechbench.downstream._modules.pooling import pad_features
from speechbench.utils_io import atomic_open, read_fields

DATARC = {"train": "data/train", "dev": "data/dev", "test": "data/test", "alignment": "ali.scp",
          "phones": "phones.txt", "batch_size": 16, "label_rate": 160, "num_workers": 0, "seed": 0}
MODELRC = {"hidden_size": 0, "dropout": 0.0}


def read_phone_table(path: str) -> dict[int, str]:
    """``symbol id`` lines -> id -> symbol."""
    if not os.path.isfile(path):
        raise DataDirError(f"{path} not found: phone classification needs the phone table (`symbol id` lines)")
    return {int(index): symbol for _, (symbol, index) in
            read_fields(path, 2, "`symbol id`", DataDirError, valid=lambda f: f[1].isdigit())}


class AlignedDataset(UtteranceDataset):
    """Utterances with frame-level phone labels."""

    def __init__(self, data_dir: str, alignment: str, phones: str) -> None:
        self.require = (alignment, phones)
        super().__init__(data_dir)
        self.table = read_phone_table(os.path.join(data_dir, phones))
        self.alignment = self.data.int_vectors(alignment, needed_for="phone classification labels")
        missing = [u for u in self.utts if u not in self.alignment]
        if missing:
            raise DataDirError(f"{data_dir}/{alignment}: {len(missing)} utterances have no alignment "
                               f"(e.g. {missing[:3]}); run `python -m speechbench.data.validate {data_dir} --fix`")
        top = max(int(v.max()) for v in self.alignment.values())
        if top not in self.table:
            raise DataDirError(f"{data_dir}/{alignment}: phone id {top} is not in {phones}")

    def lengths(self) -> list[float]:
        return [len(self.alignment[u]) / 100 for u in self.utts]

    def labels(self, utt: str) -> tuple:
        return (torch.from_numpy(self.alignment[utt].astype(np.int64)),)


class DownstreamExpert(nn.Module):
    METRIC = ("acc", "max")

    def __init__(self, upstream_dim: int, downstream_expert: dict, expdir: str, upstream_rate: int = 160,
                 **kwargs: object) -> None:
        super().__init__()
        rc = expert_sections(downstream_expert, {"datarc": DATARC, "modelrc": MODELRC}, "phone")
        self.datarc, modelrc = rc["datarc"], rc["modelrc"]
        self.expdir, self.upstream_rate = expdir, upstream_rate
        self.datasets: dict[str, AlignedDataset] = {}
        self.table = self._dataset("train").table
        num_classes = max(self.table) + 1
        hidden = modelrc["hidden_size"]
        self.model = nn.Sequential(nn.Dropout(modelrc["dropout"]), nn.Linear(upstream_dim, num_classes)) if not hidden \
            else nn.Sequential(nn.Linear(upstream_dim, hidden), nn.ReLU(), nn.Dropout(modelrc["dropout"]),
                               nn.Linear(hidden, num_classes))

    def _dataset(self, split: str) -> AlignedDataset:
        if split not in self.datasets:
            self.datasets[split] = AlignedDataset(self.datarc[split], self.datarc["alignment"], self.datarc["phones"])
        return self.datasets[split]

    def get_dataloader(self, split: str):
        ds = self._dataset(split)
        return make_dataloader(ds, ds.lengths(), self.datarc["batch_size"], train=split == "train",
                               seed=self.datarc["seed"], num_workers=self.datarc["num_workers"])

    def forward(self, split: str, features: list[torch.Tensor], utt_ids: list[str], labels: list[torch.Tensor],
                records: dict) -> torch.Tensor:
        padded, mask = pad_features(features)
        targets = torch.full(mask.shape, -100, dtype=torch.long, device=padded.device)
        for i, (feat, lab) in enumerate(zip(features, labels)):
            frame_labels, valid = labels_at_upstream_rate(lab.to(padded.device), len(feat), self.upstream_rate,
                                                          self.datarc["label_rate"])
            targets[i, :len(feat)] = frame_labels.masked_fill(~valid, -100)
        logits = self.model(padded)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
        predicted = logits.argmax(-1)
        counted = targets != -100
        records.setdefault("loss", []).append(loss.item())
        records.setdefault("correct", []).append(int(((predicted == targets) & counted).sum()))
        records.setdefault("frames", []).append(int(counted.sum()))
        if split != "train":
            for utt, pred, n in zip(utt_ids, predicted, counted.sum(1).tolist()):
                records.setdefault("predictions", []).append((utt, pred[:n].tolist()))
        return loss

    def log_records(self, split: str, records: dict, logger, global_step: int, **kwargs: object) -> None:
        accuracy = sum(records["correct"]) / max(1, sum(records["frames"]))
        logger.add_scalar(f"{split}-acc", accuracy, global_step)
        logger.add_scalar(f"{split}-loss", float(np.mean(records["loss"])), global_step)
        if split == "test":
            with atomic_open(os.path.join(self.expdir, "test_predictions.txt"), "w", encoding="utf-8") as f:
                for utt, pred in sorted(records["predictions"]):
                    f.write(f"{utt} {' '.join(self.table.get(p, str(p)) for p in pred)}\n")
