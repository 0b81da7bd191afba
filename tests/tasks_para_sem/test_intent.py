"""Intent classification: training on the tiny corpus, three heads, padding invariance, errors, metrics."""
from __future__ import annotations

import itertools
import json
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from speechbench.data.kaldi_dir import DataDir, DataDirError, read_kv, write_kv
from speechbench.downstream.intent.expert import DownstreamExpert
from speechbench.corpora.mini.intents import main as write_mini_classes, mini_classes
from testutil import dev_improves, run_cli


class Logger:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.values[tag] = value


def _dirs(tiny_data: str) -> dict[str, str]:
    return {s: os.path.join(tiny_data, "intent", s) for s in ("train", "dev", "test")}


def _expert(dirs: dict[str, str], expdir: str, **datarc) -> DownstreamExpert:
    return DownstreamExpert(8, {"datarc": {"classes": mini_classes(), **dirs, **datarc}}, expdir)


def test_trains_and_evaluates_on_the_tiny_corpus(tiny_data, tmp_path):
    assert write_mini_classes(["--out", str(tmp_path / "classes.yaml")]) == 0
    dirs = _dirs(tiny_data)
    overrides = ",,".join([*(f"config.downstream_expert.datarc.{s}={d}" for s, d in dirs.items()),
                           f"config.downstream_expert.datarc.classes={tmp_path}/classes.yaml",
                           "config.downstream_expert.datarc.batch_size=4", "config.runner.total_steps=6",
                           "config.runner.eval_step=3", "config.runner.log_step=3", "config.optimizer.lr=0.01"])
    train = run_cli(["-m", "train", "-n", "ic", "-u", "baseline", "-d", "intent", "-o", overrides], cwd=str(tmp_path))
    assert train.returncode == 0, train.stderr[-2000:]
    exp = tmp_path / "result/downstream/ic"
    ev = run_cli(["-m", "evaluate", "-e", str(exp / "best-states-dev.ckpt")], cwd=str(tmp_path))
    assert ev.returncode == 0, ev.stderr[-2000:]
    metrics = json.loads((exp / "test_results.json").read_text())["metrics"]
    assert sorted(metrics) == ["test-acc", "test-action_acc", "test-location_acc", "test-loss", "test-object_acc"]
    truth = read_kv(os.path.join(dirs["test"], "utt2intent"))
    rows = [line.split() for line in (exp / "test_predictions.txt").read_text().splitlines()]
    assert [r[0] for r in rows] == sorted(truth) and all(len(r) == 4 for r in rows)
    joint = sum(" ".join(r[1:]) == truth[r[0]] for r in rows) / len(rows)
    location = sum(r[3] == truth[r[0]].split()[2] for r in rows) / len(rows)
    assert metrics["test-acc"] == pytest.approx(joint)
    assert metrics["test-location_acc"] == pytest.approx(location)


def test_padding_never_changes_a_prediction(tiny_data, tmp_path):
    torch.manual_seed(0)
    expert = _expert(_dirs(tiny_data), str(tmp_path))
    expert.eval()
    features = [torch.randn(n, 8) * 3 for n in (5, 90, 33)]
    labels = [(0, 1, 2), (1, 2, 0), (2, 0, 1)]
    records: dict = {}
    expert("test", features, ["a", "b", "c"], labels, records)
    alone: dict = {}
    for f, utt, lab in zip(features, "abc", labels):
        expert("test", [f], [utt], [lab], alone)
    assert records["pred"] == alone["pred"]
    assert torch.allclose(expert.model(features), torch.cat([expert.model([f]) for f in features]), atol=1e-5)


def test_loss_is_the_sum_of_the_slot_cross_entropies(tiny_data, tmp_path):
    torch.manual_seed(0)
    expert = _expert(_dirs(tiny_data), str(tmp_path))
    assert expert.sizes == [len(v) for v in mini_classes().values()]
    features = [torch.randn(n, 8) for n in (7, 11)]
    labels = [(1, 12, 3), (5, 0, 2)]
    loss = expert("train", features, ["a", "b"], labels, {})
    logits = expert.model(features).split(expert.sizes, dim=-1)
    target = torch.tensor(labels)
    expected = sum(F.cross_entropy(logits[i], target[:, i]) for i in range(3))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_joint_label_head(tiny_data, tmp_path):
    torch.manual_seed(0)
    dirs = _dirs(tiny_data)
    expert = DownstreamExpert(8, {"datarc": {"classes": mini_classes(), **dirs}, "modelrc": {"joint": True}},
                              str(tmp_path))
    combinations = int(np.prod([len(v) for v in mini_classes().values()]))
    assert len(expert.intents) == combinations and expert.model.output.out_features == combinations
    features = [torch.randn(n, 8) for n in (9, 40, 4)]
    labels = [(1, 12, 3), (5, 0, 2), (0, 7, 2)]
    records: dict = {}
    loss = expert("test", features, list("abc"), labels, records)
    logits = expert.model(features)
    target = torch.tensor([expert.intents.index(t) for t in labels])
    assert loss.item() == pytest.approx(F.cross_entropy(logits, target).item(), rel=1e-6)
    assert records["pred"] == [list(expert.intents[i]) for i in logits.argmax(-1).tolist()]
    alone: dict = {}
    for f, utt, lab in zip(features, "abc", labels):
        expert("test", [f], [utt], [lab], alone)
    assert alone["pred"] == records["pred"]
    train_labels = read_kv(os.path.join(dirs["train"], "utt2intent"))
    seen = DownstreamExpert(8, {"datarc": {**dirs, "dev": dirs["train"], "test": dirs["train"]},
                                "modelrc": {"joint": True}}, str(tmp_path))
    assert len(seen.intents) == len(set(train_labels.values()))
    values = [sorted({v.split()[i] for v in train_labels.values()}) for i in range(3)]
    unseen = next(" ".join(c) for c in itertools.product(*values) if " ".join(c) not in train_labels.values())
    DataDir(dirs["train"]).write(tmp_path / "dev")
    first = sorted(train_labels)[0]
    write_kv(tmp_path / "dev/utt2intent", {**train_labels, first: unseen})
    with pytest.raises(DataDirError) as err:
        DownstreamExpert(8, {"datarc": {**dirs, "dev": str(tmp_path / "dev"), "test": dirs["train"]},
                             "modelrc": {"joint": True}}, str(tmp_path))
    assert str(err.value).startswith(f"{tmp_path}/dev/utt2intent:1: intent '{unseen}' of '{first}' is not among "
                                     f"the {len(seen.intents)} intents of {dirs['train']} (train)")


def test_slot_classes_come_from_train_and_unknown_dev_values_are_one_line(tiny_data, tmp_path):
    dirs = _dirs(tiny_data)
    DataDir(dirs["train"]).write(tmp_path / "train")
    DataDir(dirs["train"]).write(tmp_path / "dev")
    train_labels = read_kv(tmp_path / "train/utt2intent")
    expert = DownstreamExpert(8, {"datarc": {**dirs, "train": str(tmp_path / "train"), "dev": str(tmp_path / "dev"),
                                             "test": str(tmp_path / "dev")}}, str(tmp_path))
    for i, slot in enumerate(("action", "object", "location")):
        assert expert.classes[slot] == sorted({v.split()[i] for v in train_labels.values()})
    second = sorted(train_labels)[1]
    write_kv(tmp_path / "dev/utt2intent", {**train_labels, second: "bring lasagne none"})
    with pytest.raises(DataDirError) as err:
        DownstreamExpert(8, {"datarc": {**dirs, "train": str(tmp_path / "train"), "dev": str(tmp_path / "dev")}},
                         str(tmp_path))
    message = str(err.value)
    assert "\n" not in message
    assert f"{tmp_path}/dev/utt2intent:2: label 'lasagne' of '{second}'" in message
    assert f"slot 'object' of {tmp_path}/train (train)" in message


def test_malformed_label_line_and_bad_classes_are_named(tiny_data, tmp_path):
    dirs = _dirs(tiny_data)
    DataDir(dirs["train"]).write(tmp_path / "train")
    labels = read_kv(tmp_path / "train/utt2intent")
    first = sorted(labels)[0]
    write_kv(tmp_path / "train/utt2intent", {**labels, first: "activate lights"})
    with pytest.raises(DataDirError, match=r"train/utt2intent:1: expected 3 label\(s\) .* got 2"):
        _expert({**dirs, "train": str(tmp_path / "train")}, str(tmp_path))
    with pytest.raises(DataDirError, match="must map each slot"):
        _expert(dirs, str(tmp_path), classes={"action": ["bring"]})
    (tmp_path / "classes.yaml").write_text(yaml.safe_dump({"action": ["bring"], "object": ["socks"],
                                                           "location": ["none"]}))
    with pytest.raises(DataDirError, match=r"label '\w+' .* not among the 1 classes of slot"):
        _expert(dirs, str(tmp_path), classes=str(tmp_path / "classes.yaml"))


def test_joint_and_per_slot_accuracy(tiny_data, tmp_path):
    expert = _expert(_dirs(tiny_data), str(tmp_path))
    logger = Logger()
    records = {"loss": [2.0], "utt": list("abc"), "pred": [[0, 1, 2], [0, 1, 0], [1, 1, 2]],
               "true": [[0, 1, 2], [0, 1, 2], [0, 1, 2]]}
    expert.log_records("dev", records, logger, 1)
    assert dev_improves(expert, logger.values, None)
    assert logger.values == pytest.approx({"dev-acc": 1 / 3, "dev-action_acc": 2 / 3, "dev-object_acc": 1.0,
                                           "dev-location_acc": 2 / 3, "dev-loss": 2.0})
