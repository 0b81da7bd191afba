"""Emotion recognition: training on the tiny corpus, padding invariance, label errors, metrics."""
from __future__ import annotations

import json
import os

import pytest
import torch

from speechbench.data.kaldi_dir import DataDir, DataDirError, read_kv, write_kv
from speechbench.downstream.emotion.expert import DownstreamExpert
from testutil import dev_improves, run_cli


class Logger:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.values[tag] = value


def _dirs(tiny_data: str) -> dict[str, str]:
    return {s: os.path.join(tiny_data, "emotion", s) for s in ("train", "dev", "test")}


def _expert(dirs: dict[str, str], expdir: str, **datarc) -> DownstreamExpert:
    return DownstreamExpert(8, {"datarc": {**dirs, **datarc}}, expdir)


def _overrides(dirs: dict[str, str]) -> str:
    return ",,".join([*(f"config.downstream_expert.datarc.{s}={d}" for s, d in dirs.items()),
                      "config.runner.total_steps=8", "config.runner.eval_step=4", "config.runner.log_step=4",
                      "config.runner.gradient_accumulate_steps=1", "config.optimizer.lr=0.01"])


def test_trains_and_evaluates_on_the_tiny_corpus(tiny_data, tmp_path):
    dirs = _dirs(tiny_data)
    train = run_cli(["-m", "train", "-n", "er", "-u", "baseline", "-d", "emotion", "-o", _overrides(dirs)],
                    cwd=str(tmp_path))
    assert train.returncode == 0, train.stderr[-2000:]
    exp = tmp_path / "result/downstream/er"
    ev = run_cli(["-m", "evaluate", "-e", str(exp / "best-states-dev.ckpt")], cwd=str(tmp_path))
    assert ev.returncode == 0, ev.stderr[-2000:]
    metrics = json.loads((exp / "test_results.json").read_text())["metrics"]
    assert sorted(metrics) == ["test-acc", "test-loss", "test-ua"]
    assert 0.0 <= metrics["test-acc"] <= 1.0 and 0.0 <= metrics["test-ua"] <= 1.0
    truth = read_kv(os.path.join(dirs["test"], "utt2emotion"))
    rows = [line.split() for line in (exp / "test_predictions.txt").read_text().splitlines()]
    assert [r[0] for r in rows] == sorted(truth)
    assert all(r[2] == truth[r[0]] and r[1] in ("angry", "happy", "neutral", "sad") for r in rows)
    correct = sum(r[1] == r[2] for r in rows) / len(rows)
    assert metrics["test-acc"] == pytest.approx(correct)


@pytest.mark.parametrize("pooling", ["mean", "mean_std", "attentive"])
def test_padding_never_changes_a_prediction(tiny_data, tmp_path, pooling):
    torch.manual_seed(0)
    expert = DownstreamExpert(8, {"datarc": _dirs(tiny_data), "modelrc": {"pooling": pooling}}, str(tmp_path))
    expert.eval()
    features = [torch.randn(n, 8) * 3 for n in (3, 120, 17, 64)]
    batched = expert.model(features)
    single = torch.cat([expert.model([f]) for f in features])
    assert torch.allclose(batched, single, atol=1e-5)
    records: dict = {}
    expert("test", features, ["a", "b", "c", "d"], [0, 1, 2, 3], records)
    alone: dict = {}
    for f, utt, lab in zip(features, "abcd", range(4)):
        expert("test", [f], [utt], [lab], alone)
    assert records["pred"] == alone["pred"] == batched.argmax(-1).tolist()


def test_classes_come_from_train_sorted_or_from_the_config(tiny_data, tmp_path):
    dirs = _dirs(tiny_data)
    assert _expert(dirs, str(tmp_path)).classes == ["angry", "happy", "neutral", "sad"]
    order = ["sad", "neutral", "happy", "angry"]
    expert = _expert(dirs, str(tmp_path), classes=order)
    truth = read_kv(os.path.join(dirs["train"], "utt2emotion"))
    train = expert.datasets["train"]
    assert expert.classes == order and all(order[train.labels(u)[0]] == truth[u] for u in train.utts)
    with pytest.raises(DataDirError, match=r"label 'sad' .* not among the 3 classes of datarc.classes"):
        _expert(dirs, str(tmp_path), classes=["angry", "happy", "neutral"])


def test_dev_label_unknown_to_train_is_one_line_naming_file_line_and_classes(tiny_data, tmp_path):
    dirs = _dirs(tiny_data)
    DataDir(dirs["dev"]).write(tmp_path / "dev")
    labels = read_kv(tmp_path / "dev/utt2emotion")
    third = sorted(labels)[2]
    write_kv(tmp_path / "dev/utt2emotion", {**labels, third: "bored"})
    with pytest.raises(DataDirError) as err:
        _expert({**dirs, "dev": str(tmp_path / "dev")}, str(tmp_path))
    message = str(err.value)
    assert "\n" not in message
    assert f"{tmp_path}/dev/utt2emotion:3: label 'bored' of '{third}'" in message
    assert "(angry, happy, neutral, sad)" in message and f"{dirs['train']} (train)" in message


def test_a_single_training_class_is_refused(tiny_data, tmp_path):
    dirs = _dirs(tiny_data)
    DataDir(dirs["train"]).write(tmp_path / "train")
    write_kv(tmp_path / "train/utt2emotion", {u: "sad" for u in read_kv(tmp_path / "train/utt2emotion")})
    with pytest.raises(DataDirError, match=r"only the class \['sad'\] \(a classifier needs at least 2\)"):
        _expert({**dirs, "train": str(tmp_path / "train"), "dev": str(tmp_path / "none"),
                 "test": str(tmp_path / "none")}, str(tmp_path))


def test_missing_label_file_is_named(tiny_data, tmp_path):
    dirs = _dirs(tiny_data)
    DataDir(dirs["train"]).write(tmp_path / "train")
    os.unlink(tmp_path / "train/utt2emotion")
    with pytest.raises(DataDirError, match="utt2emotion: required file missing"):
        _expert({**dirs, "train": str(tmp_path / "train")}, str(tmp_path))


def test_metrics_and_best_checkpoint_rule(tiny_data, tmp_path):
    expert = _expert(_dirs(tiny_data), str(tmp_path))
    logger = Logger()
    records = {"loss": [1.0, 3.0], "utt": list("abcd"), "pred": [0, 0, 0, 0], "true": [0, 0, 0, 1]}
    expert.log_records("dev", records, logger, 10)
    assert dev_improves(expert, logger.values, None)
    assert logger.values == {"dev-acc": 0.75, "dev-ua": 0.5, "dev-loss": 2.0}  # recall 1.0 (class 0), 0.0 (class 1)
    best = logger.values["dev-acc"]
    worse = {**records, "pred": [1, 1, 1, 1]}
    expert.log_records("dev", worse, logger, 20)
    assert not dev_improves(expert, logger.values, best)
    assert best == 0.75
