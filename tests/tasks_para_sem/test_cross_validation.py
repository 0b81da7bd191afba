"""Leave-one-session-out folds: data dirs of a fold, and the average over folds."""
from __future__ import annotations

import json
import os

import pytest

from speechbench.data.kaldi_dir import read_kv, write_kv
from speechbench.data.validate import validate_data_dir
from speechbench.downstream.emotion import cross_validation
from speechbench.downstream.emotion.cross_validation import average_results, main, make_fold
from speechbench.report.results import write_results
from testutil import assert_bug_propagates, one_error_line


def _sessions(root, n_sessions: int = 3, per_session: int = 10) -> list[str]:
    dirs = []
    for s in range(1, n_sessions + 1):
        d = root / f"session{s}"
        d.mkdir()
        wav = root / "a.wav"
        wav.write_bytes(b"")
        utts = {f"Ses0{s}F-u{i:02d}": "Ses0{}F".format(s) for i in range(per_session)}
        write_kv(d / "wav.scp", {u: str(wav) for u in utts})
        write_kv(d / "utt2spk", utts)
        write_kv(d / "utt2emotion", {u: ("neu", "hap", "ang", "sad")[i % 4] for i, u in enumerate(sorted(utts))})
        write_kv(d / "utt2dur", {u: "1.0" for u in utts})
        dirs.append(str(d))
    return dirs


def test_fold_tests_on_its_session_and_holds_out_a_seeded_dev_slice(tmp_path):
    sessions = _sessions(tmp_path)
    counts = make_fold(sessions, 2, str(tmp_path / "fold2"), dev_fraction=0.2, seed=3)
    assert counts == {"train": 16, "dev": 4, "test": 10}
    keys = {s: set(read_kv(tmp_path / "fold2" / s / "utt2emotion")) for s in ("train", "dev", "test")}
    assert keys["test"] == set(read_kv(tmp_path / "session2/wav.scp"))
    others = set(read_kv(tmp_path / "session1/wav.scp")) | set(read_kv(tmp_path / "session3/wav.scp"))
    assert keys["train"] | keys["dev"] == others and not keys["train"] & keys["dev"]
    for s in ("train", "dev", "test"):
        assert [p for p in validate_data_dir(tmp_path / "fold2" / s, ("utt2emotion",)) if p.severity == "error"] == []
    make_fold(sessions, 2, str(tmp_path / "again"), dev_fraction=0.2, seed=3)
    assert set(read_kv(tmp_path / "again/dev/wav.scp")) == keys["dev"]
    make_fold(sessions, 2, str(tmp_path / "other"), dev_fraction=0.2, seed=4)
    assert set(read_kv(tmp_path / "other/dev/wav.scp")) != keys["dev"]


def test_fold_errors(tmp_path, capsys, monkeypatch):
    sessions = _sessions(tmp_path)
    with pytest.raises(ValueError, match=r"fold 4 out of range: there are 3 sessions"):
        make_fold(sessions, 4, str(tmp_path / "f"))
    write_kv(tmp_path / "session3/utt2spk", {**read_kv(tmp_path / "session3/utt2spk"), "Ses01F-u00": "Ses01F"})
    write_kv(tmp_path / "session3/wav.scp", {**read_kv(tmp_path / "session3/wav.scp"),
                                             "Ses01F-u00": str(tmp_path / "a.wav")})
    line = one_error_line(capsys, main, ["make-fold", "--sessions", ",".join(sessions), "--fold", "2",
                                         "--out", str(tmp_path / "f")])
    assert "'Ses01F-u00' is in more than one session dir" in line
    line = one_error_line(capsys, main, ["average", "--out", str(tmp_path / "cv"), str(tmp_path / "fold9")])
    assert line == f"error: {tmp_path / 'fold9' / 'test_results.json'} not found: evaluate that fold first"
    assert_bug_propagates(monkeypatch, main, cross_validation, "average_results",
                          ["average", "--out", str(tmp_path / "cv"), str(tmp_path / "fold9")])


def _fold_result(path, acc: float, upstream: str = "baseline") -> str:
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "test_results.json"), "w") as f:
        json.dump({"split": "test", "metrics": {"test-acc": acc, "test-ua": acc / 2}, "checkpoint": "x.ckpt",
                   "step": 5, "upstream": upstream, "downstream": "emotion", "layer": None, "upstream_ckpt": None}, f)
    return str(path)


def test_average_over_folds_is_reported_like_one_experiment(tmp_path):
    folds = [_fold_result(tmp_path / f"fold{k}", acc) for k, acc in enumerate((0.5, 0.6, 0.7, 0.4, 0.8), 1)]
    result = average_results(folds, str(tmp_path / "cv"))
    assert result["metrics"] == pytest.approx({"test-acc": 0.6, "test-ua": 0.3})
    assert result["metrics_std"]["test-acc"] == pytest.approx(0.1414214, rel=1e-5)
    assert [f["metrics"]["test-acc"] for f in result["folds"]] == [0.5, 0.6, 0.7, 0.4, 0.8]
    write_results(str(tmp_path / "cv"), summary=str(tmp_path / "RESULTS.md"))
    assert "| acc | test | 0.6000 |" in (tmp_path / "cv/RESULTS.md").read_text()
    other = _fold_result(tmp_path / "apc", 0.9, upstream="apc")
    with pytest.raises(ValueError, match="different metrics or upstream"):
        average_results([folds[0], other], str(tmp_path / "cv2"))
    with pytest.raises(FileNotFoundError, match="fold9/test_results.json not found"):
        average_results([folds[0], str(tmp_path / "fold9")], str(tmp_path / "cv3"))
