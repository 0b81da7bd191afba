"""Spoken QA through run_benchmark.py on the tiny corpus, and data-dir errors."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from speechbench.data.kaldi_dir import DataDirError
from speechbench.downstream.qa.expert import QADataset
from testutil import run_cli


def _overrides(qa: str, extra: str = "") -> str:
    o = (f"config.downstream_expert.datarc.train={qa}/train,,config.downstream_expert.datarc.dev={qa}/dev,,"
         f"config.downstream_expert.datarc.test={qa}/test,,config.runner.total_steps=4,,config.runner.eval_step=2,,"
         f"config.runner.log_step=2,,config.runner.save_step=2,,config.downstream_expert.modelrc.hidden_size=16")
    return o + extra


def test_train_and_evaluate(tiny_data, tmp_path):
    qa = f"{tiny_data}/qa"
    exp = tmp_path / "exp"
    r = run_cli(["-m", "train", "-n", "qa", "-p", str(exp), "-u", "baseline", "-d", "qa", "-o", _overrides(qa)],
                cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    assert (exp / "best-states-dev.ckpt").is_file()
    assert (exp / "vocab.txt").read_text().splitlines()[:2] == ["<pad>", "<unk>"]
    r = run_cli(["-m", "evaluate", "-e", str(exp / "best-states-dev.ckpt"), "-t", "test"], cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads((exp / "test_results.json").read_text())
    assert result["downstream"] == "qa" and set(result["metrics"]) == {"test-loss", "test-ff1", "test-aos"}
    assert 0.0 <= result["metrics"]["test-aos"] <= result["metrics"]["test-ff1"] <= 1.0
    lines = (exp / "test_predictions.txt").read_text().splitlines()
    test_utts = [line.split()[0] for line in open(f"{qa}/test/wav.scp")]
    assert [line.split()[0] for line in lines] == test_utts
    for line in lines:
        start, end = map(float, line.split()[1:])
        assert 0.0 <= start < end <= start + 5.0 + 1e-6  # datarc.max_answer_seconds


def _copy(tiny_data: str, tmp_path) -> str:
    d = tmp_path / "dev"
    shutil.copytree(f"{tiny_data}/qa/dev", d)
    return str(d)


def test_missing_answer_file_is_named(tiny_data, tmp_path):
    d = _copy(tiny_data, tmp_path)
    os.remove(os.path.join(d, "utt2answer"))
    with pytest.raises(ValueError, match="utt2answer"):
        QADataset(d)


def test_bad_span_line_is_named(tiny_data, tmp_path):
    d = _copy(tiny_data, tmp_path)
    path = os.path.join(d, "utt2answer")
    lines = open(path).read().splitlines()
    utt = lines[0].split()[0]
    lines[0] = f"{utt} 2.5 1.0"
    open(path, "w").write("\n".join(lines) + "\n")
    with pytest.raises(DataDirError, match=f"utt2answer: '{utt} 2.5 1.0'.*0 <= start < end"):
        QADataset(d)


def test_answer_after_the_audio_is_refused(tiny_data, tmp_path):
    d = _copy(tiny_data, tmp_path)
    path = os.path.join(d, "utt2answer")
    lines = open(path).read().splitlines()
    utt = lines[0].split()[0]
    lines[0] = f"{utt} 100.0 101.0"
    open(path, "w").write("\n".join(lines) + "\n")
    with pytest.raises(DataDirError, match="answers end after their audio"):
        QADataset(d)
