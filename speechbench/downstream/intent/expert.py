"""Intent classification (Fluent Speech Commands style): one head per slot over a pooled utterance.

Data dir files beyond ``wav.scp``: ``utt2intent`` (``utt action object location``: one value
per slot, in the order of ``datarc.slots``, no spaces inside a value, ``none`` when absent);
``utt2dur`` is used for length bucketing when present. Each slot's class list is the sorted
set of its training values, or ``datarc.classes`` (a mapping slot -> list of values, or the
path of a YAML file holding one, as the recipe writes for the mini corpus); a dev/test value
outside it is an error naming the file and line. Head (SUPERB):
``Linear(D->256)``, mean pooling, ``Linear(256 -> sum of slot sizes)`` split into per-slot
logits; loss = sum of the per-slot cross entropies. ``modelrc.context: N`` (odd) projects each frame
with its N-frame neighbourhood (a convolution and ReLU) and ``pooling: max`` keeps where each
detector fired most: the mini config's head, since a mean of fbank or small-upstream frames does not
say which words were spoken. ``modelrc.joint: true`` instead classifies
the whole intent with one head (its classes: the intents seen in train, or every combination
of ``datarc.classes``). Metrics: ``acc`` = joint accuracy (every slot right, the SUPERB IC
number) and ``<slot>_acc`` per slot; best checkpoint by dev joint accuracy. The test split writes ``test_predictions.txt`` (``utt`` then predicted values).
"""
from __future__ import annotations

import itertools
import os

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from speechbench.config_sections import SPLITS, expert_sections
from speechbench.data.dataset import UtteranceDataset
from speechbench.data.kaldi_dir import DataDirError
from speechbench.data.loader import make_dataloader
from speechbench.downstream._modules.labels import class_list, encode_labels, read_label_lines
from speechbench.downstream._modules.utterance_head import UtteranceClassifier
from speechbench.metrics.classification import accuracy, joint_accuracy
from speechbench.utils_io import atomic_open

DATARC = {"train": "data/train", "dev": "data/dev", "test": "data/test", "label_file": "utt2intent",
          "slots": ["action", "object", "location"], "classes": None, "batch_size": 32, "num_workers": 0,
          "seed": 0}
MODELRC = {"projector_dim": 256, "pooling": "mean", "dropout": 0.0, "context": 0, "joint": False}


class IntentDataset(UtteranceDataset):
    """Items ``(utt, wav | None, (slot indices...))``; ``classes`` None takes them from this dir."""

    def __init__(self, data_dir: str, label_file: str, slots: list[str], classes: dict[str, list[str]] | None,
                 source: str) -> None:
        self.require = (label_file,)
        super().__init__(data_dir)
        path = self.label_path = os.path.join(data_dir, label_file)
        lines = read_label_lines(path, len(slots), "intent classification")
        self.line_of = {utt: lineno for utt, (lineno, _) in lines.items()}
        self.classes: dict[str, list[str]] = {}
        per_slot = []
        for i, slot in enumerate(slots):
            given = None if classes is None else classes[slot]
            self.classes[slot] = class_list((f[i] for _, f in lines.values()), given, f"datarc.classes.{slot}")
            per_slot.append(encode_labels(lines, i, self.classes[slot], path, f"slot '{slot}' of {source}"))
        self.targets = {utt: tuple(t[utt] for t in per_slot) for utt in lines}

    def labels(self, utt: str) -> tuple:
        return (self.targets[utt],)


def load_classes(classes: object, slots: list[str]) -> dict[str, list[str]] | None:
    """``datarc.classes``: None, a mapping slot -> values, or the path of a YAML file holding one."""
    if isinstance(classes, str):
        if not os.path.isfile(classes):
            raise DataDirError(f"datarc.classes: {classes} not found (a YAML mapping of each slot to its values)")
        with open(classes, encoding="utf-8") as f:
            classes = yaml.safe_load(f)
    if classes is None:
        return None
    if not isinstance(classes, dict) or sorted(classes) != sorted(slots):
        raise DataDirError(f"datarc.classes must map each slot {slots} to its list of values, got {classes!r}")
    return classes


class DownstreamExpert(nn.Module):
    METRIC = ("acc", "max")

    def __init__(self, upstream_dim: int, downstream_expert: dict, expdir: str, **kwargs: object) -> None:
        super().__init__()
        rc = expert_sections(downstream_expert, {"datarc": DATARC, "modelrc": MODELRC}, "intent")
        self.datarc, modelrc = rc["datarc"], rc["modelrc"]
        self.expdir = expdir
        self.slots = list(self.datarc["slots"])
        given = load_classes(self.datarc["classes"], self.slots)
        self.class_source = "datarc.classes" if given is not None else f"{self.datarc['train']} (train)"
        train = IntentDataset(self.datarc["train"], self.datarc["label_file"], self.slots, given, self.class_source)
        self.classes = train.classes
        self.sizes = [len(self.classes[s]) for s in self.slots]
        self.joint = modelrc.pop("joint")
        # joint: one class per (action, object, location) seen in train, or every combination of given values
        self.intents = sorted(set(train.targets.values())) if given is None \
            else list(itertools.product(*(range(n) for n in self.sizes)))
        self.intent_index = {intent: i for i, intent in enumerate(self.intents)}
        self.datasets = {"train": train}
        for split in SPLITS[1:]:  # existing dev/test dirs are checked now, not after hours of training
            if os.path.isdir(self.datarc[split]):
                self._dataset(split)
        self.model = UtteranceClassifier(upstream_dim, len(self.intents) if self.joint else sum(self.sizes),
                                         **modelrc)

    def _dataset(self, split: str) -> IntentDataset:
        if split not in self.datasets:
            ds = IntentDataset(self.datarc[split], self.datarc["label_file"], self.slots, self.classes,
                               self.class_source)
            if self.joint:
                self._check_intents(ds)
            self.datasets[split] = ds
        return self.datasets[split]

    def _check_intents(self, ds: IntentDataset) -> None:
        """With one joint label, an intent never seen in train cannot be predicted."""
        for utt, target in ds.targets.items():
            if target not in self.intent_index:
                values = " ".join(self.classes[s][t] for s, t in zip(self.slots, target))
                raise DataDirError(f"{ds.label_path}:{ds.line_of[utt]}: intent '{values}' of '{utt}' is not among "
                                   f"the {len(self.intents)} intents of {self.class_source} (modelrc.joint is true); "
                                   f"fix the label, or use one head per slot (modelrc.joint: false)")

    def get_dataloader(self, split: str):
        ds = self._dataset(split)
        return make_dataloader(ds, ds.lengths(), self.datarc["batch_size"], train=split == "train",
                               seed=self.datarc["seed"], num_workers=self.datarc["num_workers"])

    def forward(self, split: str, features: list[torch.Tensor], utt_ids: list[str], labels: list[tuple[int, ...]],
                records: dict) -> torch.Tensor:
        target = torch.tensor(labels, device=features[0].device)
        if self.joint:
            logits = self.model(features)
            loss = F.cross_entropy(logits, torch.tensor([self.intent_index[t] for t in labels], device=target.device))
            predicted = torch.tensor(self.intents, device=target.device)[logits.argmax(-1)]
        else:
            per_slot = self.model(features).split(self.sizes, dim=-1)
            loss = sum(F.cross_entropy(slot_logits, target[:, i]) for i, slot_logits in enumerate(per_slot))
            predicted = torch.stack([slot_logits.argmax(-1) for slot_logits in per_slot], dim=1)
        records.setdefault("loss", []).append(loss.item())
        records.setdefault("utt", []).extend(utt_ids)
        records.setdefault("pred", []).extend(predicted.tolist())
        records.setdefault("true", []).extend(target.tolist())
        return loss

    def log_records(self, split: str, records: dict, logger, global_step: int, **kwargs: object) -> None:
        pred, true = np.array(records["pred"]), np.array(records["true"])
        acc = joint_accuracy(pred, true)
        logger.add_scalar(f"{split}-acc", acc, global_step)
        for i, slot in enumerate(self.slots):
            logger.add_scalar(f"{split}-{slot}_acc", accuracy(pred[:, i], true[:, i]), global_step)
        logger.add_scalar(f"{split}-loss", float(np.mean(records["loss"])), global_step)
        if split == "test":
            rows = sorted(zip(records["utt"], records["pred"]))
            with atomic_open(os.path.join(self.expdir, "test_predictions.txt"), "w", encoding="utf-8") as f:
                f.writelines(f"{u} {' '.join(self.classes[s][p] for s, p in zip(self.slots, ps))}\n"
                             for u, ps in rows)
