"""Phoneme recognition on the tiny corpus: train, evaluate (greedy and beam), reports, data errors."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from speechbench.data.kaldi_dir import read_kv, write_kv
from testutil import run_cli


@pytest.fixture(scope="module")
def trained(tiny_read, lang, overrides, tmp_path_factory) -> str:
    cwd = tmp_path_factory.mktemp("pr")
    o = overrides(lang["phone"]) + ",,config.optimizer.lr=0.01"
    r = run_cli(["-m", "train", "-n", "pr", "-u", "baseline", "-d", "pr", "-o", o], cwd=str(cwd))
    assert r.returncode == 0, r.stderr[-3000:]
    return str(cwd / "result" / "downstream" / "pr")


def test_train_then_evaluate_writes_sclite_reports(trained, tiny_read):
    assert os.path.isfile(os.path.join(trained, "best-states-dev.ckpt"))
    for decoder in ("beam",):  # greedy is what dev used during training
        r = run_cli(["-m", "evaluate", "-e", os.path.join(trained, "best-states-dev.ckpt"), "-t", "test",
                     "-o", f"config.downstream_expert.decoderc.type={decoder}"], cwd=trained)
        assert r.returncode == 0, r.stderr[-3000:]
        metrics = json.load(open(os.path.join(trained, "test_results.json")))["metrics"]
        assert 0.0 < metrics["test-per_beam5"] <= 1.5
        report = os.path.join(trained, f"decode_test_{decoder}", "phone")
        refs = read_kv(os.path.join(tiny_read, "test", "text.phn"))
        ref_lines = open(os.path.join(report, "ref.trn"), encoding="utf-8").read().splitlines()
        assert ref_lines == [f"{refs[u]} ({u})" for u in sorted(refs)]
        summary = open(os.path.join(report, "result.txt"), encoding="utf-8").read()
        assert summary.startswith("PER") and f"{100 * metrics['test-per_beam5']:6.2f}" in summary
        assert os.path.getsize(os.path.join(report, "alignment.txt")) > 0
    predictions = open(os.path.join(trained, "test_predictions.txt"), encoding="utf-8").read().splitlines()
    assert [p.split()[0] for p in predictions] == sorted(refs)


def test_unknown_dev_phone_is_one_clear_error(tiny_read, lang, overrides, tmp_path):
    dev = tmp_path / "dev"
    shutil.copytree(os.path.join(tiny_read, "dev"), dev, ignore=shutil.ignore_patterns("ali.*"))
    phn = read_kv(dev / "text.phn")
    first = sorted(phn)[0]
    phn[first] += " QX"
    write_kv(dev / "text.phn", phn)
    r = run_cli(["-m", "train", "-n", "x", "-u", "baseline", "-d", "pr", "-o", overrides(lang["phone"], dev=str(dev))],
                cwd=str(tmp_path))
    assert r.returncode != 0
    assert f"1 symbols are not in {lang['phone']}: 'QX' (e.g. in {first})" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_phone_transcripts_are_named(tiny_read, lang, overrides, tmp_path):
    train = tmp_path / "train"
    shutil.copytree(os.path.join(tiny_read, "train"), train, ignore=shutil.ignore_patterns("text.phn", "ali.*"))
    r = run_cli(["-m", "train", "-n", "x", "-u", "baseline", "-d", "pr", "-o", overrides(lang["phone"], train=str(train))],
                cwd=str(tmp_path))
    assert r.returncode != 0 and "text.phn" in r.stderr and "Traceback" not in r.stderr
