"""QUESST 2014 and Spoken SQuAD (NMSQA) data prep on tiny fake trees in the official layouts."""
from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
import soundfile

from speechbench.corpora import quesst14, spoken_squad
from speechbench.corpora.quesst14 import CorpusError as QuesstError
from speechbench.corpora.quesst14 import main as quesst14_main
from speechbench.corpora.quesst14 import prepare_quesst14
from speechbench.corpora.spoken_squad import CorpusError as SquadError
from speechbench.corpora.spoken_squad import main as spoken_squad_main
from speechbench.corpora.spoken_squad import prepare_spoken_squad
from speechbench.data.kaldi_dir import read_kv
from speechbench.data.validate import check_data_dir
from testutil import assert_bug_propagates, one_error_line


def _wav(path, seconds: float, sr: int) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    soundfile.write(path, np.zeros(int(seconds * sr), dtype=np.int16), sr, subtype="PCM_16")


@pytest.fixture()
def quesst(tmp_path):
    db = tmp_path / "quesst14Database"
    docs = {"quesst14_00001": "nnenglish", "quesst14_00002": "nnenglish", "quesst14_00003": "czech"}
    dev = {"quesst14_dev_0001": "nnenglish", "quesst14_dev_0002": "nnenglish", "quesst14_dev_0003": "basque"}
    ev = {"quesst14_eval_0001": "nnenglish"}
    for name, folder, table in (("utterances", "Audio", docs), ("dev", "dev_queries", dev), ("eval", "eval_queries", ev)):
        for utt in table:
            _wav(db / folder / f"{utt}.wav", 1.5, 8000)
        os.makedirs(db / "scoring", exist_ok=True)
        (db / "scoring" / f"language_key_{name}.lst").write_text(
            "".join(f"quesst14Database/{folder}/{u}.wav {lang}\n" for u, lang in table.items()))
    for split, lines in (("dev", ["LEXEME quesst14_00002 1 0.50 0.40 quesst14_dev_0001 <NA> <NA> <NA>",
                                  "LEXEME quesst14_00001 1 0.10 0.30 quesst14_dev_0001 <NA> <NA> <NA>",
                                  "LEXEME quesst14_00003 1 0.10 0.30 quesst14_dev_0003 <NA> <NA> <NA>",
                                  "SPEAKER quesst14_00001 1 0.0 1.5 <NA> <NA> spk <NA>"]),
                         ("eval", ["LEXEME quesst14_00001 1 1.00 0.25 quesst14_eval_0001 <NA> <NA> <NA>"])):
        gt = db / "scoring" / f"groundtruth_quesst14_{split}"
        os.makedirs(gt)
        (gt / f"quesst14_{split}.rttm").write_text("\n".join(lines) + "\n")
    return db


def test_quesst14_english_dirs(quesst, tmp_path):
    counts = prepare_quesst14(str(quesst), str(tmp_path / "data"))
    assert counts == {"docs": 2, "queries_dev": 2, "queries_eval": 1}
    data = tmp_path / "data"
    for d in ("docs", "queries_dev", "queries_eval"):
        check_data_dir(str(data / d), require=("utt2dur",) + (("ground_truth",) if d != "docs" else ()))
    assert read_kv(data / "docs" / "wav.scp") == {
        u: str(quesst / "Audio" / f"{u}.wav") for u in ("quesst14_00001", "quesst14_00002")}
    assert float(read_kv(data / "docs" / "utt2dur")["quesst14_00001"]) == pytest.approx(1.5)
    assert (data / "queries_dev" / "ground_truth").read_text().splitlines() == [
        "quesst14_dev_0001 quesst14_00001 0.100 0.400", "quesst14_dev_0001 quesst14_00002 0.500 0.900"]
    assert (data / "queries_eval" / "ground_truth").read_text() == "quesst14_eval_0001 quesst14_00001 1.000 1.250\n"


def test_quesst14_all_languages(quesst, tmp_path):
    counts = prepare_quesst14(str(quesst), str(tmp_path / "data"), languages=["nnenglish", "czech", "basque"])
    assert counts == {"docs": 3, "queries_dev": 3, "queries_eval": 1}
    assert len((tmp_path / "data" / "queries_dev" / "ground_truth").read_text().splitlines()) == 3


def test_quesst14_missing_files_are_named(quesst, tmp_path):
    os.remove(quesst / "scoring" / "groundtruth_quesst14_eval" / "quesst14_eval.rttm")
    with pytest.raises(QuesstError, match="quesst14_eval.rttm not found.*ground-truth RTTM"):
        prepare_quesst14(str(quesst), str(tmp_path / "a"))
    os.remove(quesst / "Audio" / "quesst14_00002.wav")
    with pytest.raises(QuesstError, match=r"language_key_utterances.lst:2: audio .*quesst14_00002.wav not found"):
        prepare_quesst14(str(quesst), str(tmp_path / "b"))


def test_quesst14_cli_names_a_bad_list_file(quesst, tmp_path, capsys):
    (quesst / "scoring" / "language_key_dev.lst").write_bytes(b"\xff\xfe\x00binary")
    line = one_error_line(capsys, quesst14_main, ["--db", str(quesst), "--out", str(tmp_path / "d")])
    assert line.startswith("error: ") and "language_key_dev.lst is not UTF-8 text" in line


@pytest.fixture()
def nmsqa(tmp_path):
    db = tmp_path / "NMSQA"
    squad = {"data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [
        {"id": "h1", "question": "Who  built\nit?", "answers": [{"text": "the king", "answer_start": 0}]},
        {"id": "h2", "question": "When?", "answers": [{"text": "1850", "answer_start": 3}]},
        {"id": "h3", "question": "Where?", "answers": [{"text": "here", "answer_start": 5}]}]}]}]}
    for split in ("train", "dev"):
        (db / f"{split}_audios").mkdir(parents=True)
        (db / f"{split}-v1.1.json").write_text(json.dumps(squad))
        _wav(db / f"{split}_audios" / "context-0_0.wav", 4.0, 16000)
        with open(db / f"{split}-answer-span.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id", "hash", "utterance", "start", "end"])
            w.writerow([0, "h1", "context-0_0", "0.52", "1.10"])
            w.writerow([1, "h2", "context-0_0", "2.0", "2.5"])
            w.writerow([2, "h3", "context-0_0", "3.0", "3.0"])  # empty span: dropped
    return db


def test_spoken_squad_dirs(nmsqa, tmp_path):
    counts = prepare_spoken_squad(str(nmsqa), str(tmp_path / "data"))
    assert counts == {"train": {"kept": 2, "dropped": 1}, "dev": {"kept": 2, "dropped": 1}}
    d = tmp_path / "data" / "train"
    check_data_dir(str(d), require=("question", "utt2answer", "utt2dur"))
    assert read_kv(d / "question") == {"h1": "Who built it?", "h2": "When?"}
    assert read_kv(d / "utt2answer") == {"h1": "0.520 1.100", "h2": "2.000 2.500"}
    assert read_kv(d / "answer") == {"h1": "the king", "h2": "1850"}
    assert read_kv(d / "spk2utt") == {"context-0_0": "h1 h2"}
    assert set(read_kv(d / "wav.scp").values()) == {str(nmsqa / "train_audios" / "context-0_0.wav")}


def test_spoken_squad_errors(nmsqa, tmp_path, capsys):
    with open(nmsqa / "dev-answer-span.csv", "a") as f:
        f.write("3,h9,context-0_0,1.0,2.0\n")
    with pytest.raises(SquadError, match="1 question ids of dev-answer-span.csv are not in dev-v1.1.json"):
        prepare_spoken_squad(str(nmsqa), str(tmp_path / "a"))
    os.remove(nmsqa / "train_audios" / "context-0_0.wav")
    line = one_error_line(capsys, spoken_squad_main, ["--db", str(nmsqa), "--out", str(tmp_path / "b"), "--splits", "train"])
    assert "context-0_0.wav not found: passage audio of question 'h1'" in line
    (nmsqa / "dev-v1.1.json").write_bytes(b"\xff\xfe{")
    line = one_error_line(capsys, spoken_squad_main, ["--db", str(nmsqa), "--out", str(tmp_path / "b"), "--splits", "dev"])
    assert "dev-v1.1.json is not valid JSON" in line
    (nmsqa / "train-answer-span.csv").write_text("hash,start,end\nh1,0,1\n")
    with pytest.raises(SquadError, match=r"header lacks columns \['utterance'\]"):
        prepare_spoken_squad(str(nmsqa), str(tmp_path / "c"), splits=["train"])


@pytest.mark.parametrize("module, prepare", [(quesst14, "prepare_quesst14"), (spoken_squad, "prepare_spoken_squad")])
def test_a_bug_in_a_prep_keeps_its_traceback(module, prepare, monkeypatch, tmp_path):
    assert_bug_propagates(monkeypatch, module.main, module, prepare, ["--db", str(tmp_path), "--out", str(tmp_path)])
