"""Speaker verification: an x-vector head trained as a speaker classifier, scored by cosine.

Data dir files beyond ``wav.scp``: train needs ``utt2spk`` (the training speakers); dev and
test need ``trials`` (``utt1 utt2 target|nontarget``, both utterances in the dir; their
``utt2spk`` is not read). ``utt2dur`` saves reading audio headers for bucketing, crops and
the ``datarc.min_train_seconds`` filter (SUPERB drops training utterances shorter than 2 s).
Dev speakers should be disjoint from train: ``python -m speechbench.data.trials``
holds out whole training speakers and writes their trials, so the best checkpoint is never
chosen on the test trials.

Head (SUPERB ASV): Linear(D -> ``modelrc.input_size`` 512) -> 5 TDNN layers (``channels``
512, the last ``stats_channels`` 1500) -> masked mean+std pooling -> Linear(``embedding_size``
512), trained with AM-softmax (``modelrc.loss``: amsoftmax or aamsoftmax, ``scale`` 30,
``margin`` 0.4) over the training speakers, on random crops of at most
``datarc.max_train_seconds`` (seeded by ``datarc.seed``, epoch and item, so resume is exact).
The embedding (the layer under the margin classifier) of every whole dev/test utterance,
``datarc.eval_batch_size`` at a time, is scored by cosine similarity over the trials.
Metrics: EER and minDCF (``datarc.p_target`` 0.01); best checkpoint by dev EER;
``test_scores.txt`` holds ``utt1 utt2 score target|nontarget``.
"""
from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from speechbench.config_sections import expert_sections
from speechbench.data.loader import make_dataloader
from speechbench.data.trials import LABELS, Trial, read_trials
from speechbench.downstream._modules.speaker_data import SpeakerDataset, crop_features
from speechbench.downstream.asv.model import MarginSoftmax, XVector
from speechbench.metrics.verification import verification_metrics
from speechbench.utils_io import atomic_open

DATARC = {"train": "data/train", "dev": "data/dev", "test": "data/test", "batch_size": 10,
          "eval_batch_size": 8, "max_train_seconds": 8.0, "min_train_seconds": 2.0, "p_target": 0.01,
          "num_workers": 0, "seed": 0}
MODELRC = {"input_size": 512, "channels": 512, "stats_channels": 1500, "embedding_size": 512,
           "loss": "amsoftmax", "scale": 30.0, "margin": 0.4}


def cosine_scores(embeddings: dict[str, torch.Tensor], trials: list[Trial]) -> np.ndarray:
    """Cosine similarity of each trial's two embeddings."""
    utts = sorted(embeddings)
    row = {u: i for i, u in enumerate(utts)}
    matrix = F.normalize(torch.stack([embeddings[u] for u in utts]).double(), dim=-1)
    a = matrix[[row[t[0]] for t in trials]]
    b = matrix[[row[t[1]] for t in trials]]
    return (a * b).sum(-1).numpy()


class DownstreamExpert(nn.Module):
    METRIC = ("EER", "min")
    OTHER_METRICS = {"minDCF": "min"}

    def __init__(self, upstream_dim: int, downstream_expert: dict, expdir: str, upstream_rate: int = 160,
                 **kwargs: object) -> None:
        super().__init__()
        rc = expert_sections(downstream_expert, {"datarc": DATARC, "modelrc": MODELRC}, "asv")
        self.datarc, modelrc = rc["datarc"], rc["modelrc"]
        self.expdir, self.upstream_rate = expdir, upstream_rate
        self.datasets: dict[str, SpeakerDataset] = {}
        self.trials: dict[str, list[Trial]] = {}
        self.speakers = self._dataset("train").speakers
        self.xvector = XVector(upstream_dim, modelrc["input_size"], modelrc["channels"], modelrc["stats_channels"],
                               modelrc["embedding_size"])
        self.loss = MarginSoftmax(modelrc["embedding_size"], len(self.speakers), modelrc["loss"],
                                  float(modelrc["scale"]), float(modelrc["margin"]))

    def _dataset(self, split: str) -> SpeakerDataset:
        if split not in self.datasets:
            d = self.datarc
            if split == "train":
                ds = SpeakerDataset(d["train"], max_seconds=d["max_train_seconds"],
                                    min_seconds=d["min_train_seconds"], seed=d["seed"])
            else:
                ds = SpeakerDataset(d[split], speakers=self.speakers, strict=False)
                self.trials[split] = read_trials(os.path.join(d[split], "trials"), set(ds.utts))
            self.datasets[split] = ds
        return self.datasets[split]

    def get_dataloader(self, split: str):
        ds = self._dataset(split)
        train = split == "train"
        return make_dataloader(ds, ds.lengths(), self.datarc["batch_size" if train else "eval_batch_size"],
                               train=train, seed=self.datarc["seed"], num_workers=self.datarc["num_workers"])

    def forward(self, split: str, features: list[torch.Tensor], utt_ids: list[str], speakers: list[int],
                crops: list, records: dict) -> torch.Tensor:
        embeddings = self.xvector(crop_features(features, crops, self.upstream_rate))
        if split != "train":
            records.setdefault("embeddings", []).extend(zip(utt_ids, embeddings.detach().float().cpu()))
            return embeddings.new_zeros(())
        target = torch.tensor(speakers, device=embeddings.device)
        loss, cos = self.loss(embeddings, target)
        records.setdefault("loss", []).append(loss.item())
        records.setdefault("correct", []).extend((cos.argmax(-1) == target).tolist())
        return loss

    def log_records(self, split: str, records: dict, logger, global_step: int, **kwargs: object) -> None:
        if split == "train":
            logger.add_scalar("train-loss", float(np.mean(records["loss"])), global_step)
            logger.add_scalar("train-acc", float(np.mean(records["correct"])), global_step)
            return
        self._dataset(split)  # loads the trials
        trials = self.trials[split]
        scores = cosine_scores(dict(records["embeddings"]), trials)
        result = verification_metrics(scores, [t[2] for t in trials], p_target=self.datarc["p_target"])
        logger.add_scalar(f"{split}-EER", result.eer, global_step)
        logger.add_scalar(f"{split}-minDCF", result.min_dcf, global_step)
        if split == "test":
            names = {v: k for k, v in LABELS.items()}
            with atomic_open(os.path.join(self.expdir, "test_scores.txt"), "w", encoding="utf-8") as f:
                f.writelines(f"{a} {b} {s:.6f} {names[y]}\n" for (a, b, y), s in zip(trials, scores))
