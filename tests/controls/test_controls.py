"""Ceiling controls on the tiny corpus: a head fed the answer must reach its task's maximum.

A ceiling far from the maximum means the head, its config or the step budget cannot learn the
task even from perfect features, so no upstream comparison on it means anything. Each control
trains the recipe's mini config for a few steps from features written by
``speechbench.upstream.control.write`` (no audio is read); the task's data dirs are made as its
recipe's stage 1 makes them (the ``tiny_task`` fixture). The chance control needs no training here:
its features are checked to be one constant, so its head can learn only the label prior.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from speechbench.cli_benchmark import main as run_benchmark
from speechbench.data.kaldi_dir import read_kv
from speechbench.downstream.std.score import main as score_std
from speechbench.features.cache import FeatureCache
from speechbench.report.metrics import declared_primary, value_of
from speechbench.upstream.control.write import _spread, value_vector, write_control
from testutil import REPO, quick_steps

pytestmark = pytest.mark.slow

# task: (is the primary metric near the maximum, training steps, more overrides)
CEILINGS = {
    "phone": (lambda v: v >= 0.95, 40, ""),
    "pr": (lambda v: v <= 0.10, 300, ",,config.optimizer.lr=1.0e-2"),
    "asr": (lambda v: v <= 0.10, 250, ""),
    "ks": (lambda v: v >= 0.95, 100, ""),
    "qa": (lambda v: v >= 0.80, 60, ""),
    "speaker": (lambda v: v >= 0.95, 40, ""),
    "asv": (lambda v: v <= 0.05, 40, ""),
    "sd": (lambda v: v <= 0.10, 60, ""),
    "emotion": (lambda v: v >= 0.95, 40, ""),
    "sf": (lambda v: v >= 0.90, 150, ""),
}


def _write(task: str, kind: str, dirs: dict[str, str], out: str) -> list[str]:
    """Control features of each set's data dir into ``out/kind/<set>``; the dump dirs, in order."""
    dumps = [os.path.join(out, kind, s) for s in dirs]
    for data, dump in zip(dirs.values(), dumps):
        write_control(task, kind, data, dump)
    return dumps


def _train_and_test(task: str, datarc: dict, overrides: str, work: str, steps: int) -> dict:
    dumps = _write(task, "ceiling", {s: datarc[s] for s in ("train", "dev", "test")}, work)
    exp = os.path.join(work, "exp")
    data = ",,".join(f"config.downstream_expert.datarc.{k}={v}" for k, v in datarc.items())
    args = ["-n", "ceiling", "-p", exp, "-u", "control", "--upstream_options", "kind=ceiling", "-d", task,
            "-c", os.path.join(REPO, "egs", task, "conf", "mini.yaml"), "--feature_cache", ",".join(dumps),
            "--device", "cpu"]
    assert run_benchmark(["-m", "train", *args, "-o", f"{quick_steps(steps)},,{data}{overrides}"]) == 0
    assert run_benchmark(["-m", "evaluate", "-e", os.path.join(exp, "best-states-dev.ckpt"), "-t", "test"]) == 0
    with open(os.path.join(exp, "test_results.json"), encoding="utf-8") as f:
        return json.load(f)["metrics"]


@pytest.mark.parametrize("task", sorted(CEILINGS))
def test_ceiling_control_reaches_the_maximum(task, tiny_task, tmp_path):
    near_max, steps, more = CEILINGS[task]
    value = value_of(_train_and_test(task, tiny_task(task), more, str(tmp_path), steps), declared_primary()[task])
    assert near_max(value), f"{task}: ceiling control {declared_primary()[task]} = {value:.4f} after {steps} steps: the head cannot learn it"


def test_intent_ceiling_gets_every_command_whose_slot_values_train_shows(tiny_task, tmp_path):
    """The tiny corpus's test set holds objects its train set lacks: no head can name those."""
    datarc = tiny_task("intent")
    labels = {s: read_kv(os.path.join(datarc[s], "utt2intent")) for s in ("train", "test")}
    seen = {(i, v) for intent in labels["train"].values() for i, v in enumerate(intent.split())}
    reachable = np.mean([all((i, v) in seen for i, v in enumerate(x.split())) for x in labels["test"].values()])
    assert 0 < reachable
    acc = _train_and_test("intent", datarc, "", str(tmp_path), 60)["test-acc"]
    assert acc >= reachable - 1e-9, f"intent: ceiling control accuracy {acc:.4f} < {reachable:.4f}, the reachable maximum"


def test_std_ceiling_control_finds_every_term(tiny_corpus, tmp_path):
    data = os.path.join(tiny_corpus, "data", "std")
    sets = ("docs", "queries_dev", "queries_eval")
    docs, dev, test = _write("std", "ceiling", {s: os.path.join(data, s) for s in sets}, str(tmp_path))
    out = str(tmp_path / "exp")
    assert score_std(["--upstream", "control", "--upstream-options", "kind=ceiling", "--docs", f"{data}/docs",
                      "--queries", f"{data}/queries_dev", f"{data}/queries_eval", "--feature-cache-docs", docs,
                      "--feature-cache-queries", dev, test, "--out", out]) == 0
    with open(os.path.join(out, "eval_results.json"), encoding="utf-8") as f:
        mtwv = json.load(f)["metrics"]["eval-mtwv"]
    assert mtwv >= 0.8, f"std: ceiling control MTWV = {mtwv:.4f}"


def test_control_features_carry_the_labels_or_nothing(tiny_corpus, tmp_path):
    data = os.path.join(tiny_corpus, "data", "read", "test")
    write_control("speaker", "ceiling", data, str(tmp_path / "c"))
    write_control("speaker", "chance", data, str(tmp_path / "z"))
    ceiling = FeatureCache(str(tmp_path / "c"), upstream="control", upstream_options={"kind": "ceiling"})
    chance = FeatureCache(str(tmp_path / "z"), upstream="control", upstream_options={"kind": "chance"})
    with open(os.path.join(data, "utt2spk"), encoding="utf-8") as f:
        spk = dict(line.split() for line in f)
    assert len(set(spk.values())) > 1
    for utt in ceiling:
        feats = ceiling.load(utt)[0].numpy()
        assert np.array_equal(feats, np.tile(value_vector(f"0:{spk[utt]}"), (len(feats), 1)))
        assert np.all(chance.load(utt)[0].numpy() == 1.0) and chance.num_frames(utt) == len(feats)


def test_spread_marks_each_unit_and_keeps_repeated_units_apart():
    names = {n: value_vector(n) for n in ("a", "a~", "b", "b~")} | {"_": value_vector("<sil>")}
    feats = _spread(["a", "a", "b"], 9)
    assert [next(n for n, v in names.items() if np.array_equal(row, v)) for row in feats] == \
        ["a", "a~", "_", "a", "a~", "_", "b", "b~", "_"]
