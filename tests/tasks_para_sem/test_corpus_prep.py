"""IEMOCAP and Fluent Speech Commands data prep on tiny fake trees in the official layouts."""
from __future__ import annotations

import os

import pytest

from speechbench.corpora import fluent_commands, iemocap
from speechbench.corpora.fluent_commands import CorpusError as FscError, main as fsc_main, prepare_fluent_commands
from speechbench.corpora.iemocap import CorpusError, main as iemocap_main, prepare_iemocap
from speechbench.data.kaldi_dir import read_kv
from speechbench.data.validate import validate_data_dir
from tasks_para_sem.fake_trees import fsc_tree, iemocap_tree
from testutil import assert_bug_propagates, one_error_line


def test_iemocap_keeps_four_classes_per_session_dir(tmp_path):
    db = iemocap_tree(tmp_path)
    counts = prepare_iemocap(str(db), str(tmp_path / "data"), sessions=(1, 2))
    assert counts == {"session1": 5, "session2": 5}
    d = tmp_path / "data/session1"
    assert read_kv(d / "utt2emotion") == {
        "Ses01F-Ses01F_impro01_F000": "neu", "Ses01M-Ses01F_impro01_M000": "hap",
        "Ses01M-Ses01M_script02_1_M000": "ang", "Ses01F-Ses01M_script02_1_F000": "hap",
        "Ses01M-Ses01M_script02_1_M001": "sad"}
    assert read_kv(d / "utt2spk")["Ses01M-Ses01F_impro01_M000"] == "Ses01M"
    assert read_kv(d / "wav.scp")["Ses01F-Ses01M_script02_1_F000"] == str(
        db / "Session1/sentences/wav/Ses01M_script02_1/Ses01M_script02_1_F000.wav")
    assert float(read_kv(d / "utt2dur")["Ses01M-Ses01M_script02_1_M001"]) == pytest.approx(1.0)
    assert [p for p in validate_data_dir(d, require=("utt2emotion",)) if p.severity == "error"] == []


def test_iemocap_missing_parts_are_named(tmp_path, capsys):
    db = iemocap_tree(tmp_path, sessions=1)
    with pytest.raises(CorpusError, match="Session2 not found"):
        prepare_iemocap(str(db), str(tmp_path / "data"), sessions=(1, 2))
    os.unlink(db / "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M000.wav")
    line = one_error_line(capsys, iemocap_main, ["--db", str(db), "--out", str(tmp_path / "data"), "--sessions", "1"])
    assert "Ses01F_impro01_M000.wav not found" in line
    line = one_error_line(capsys, iemocap_main, ["--db", str(db), "--out", str(tmp_path / "data"), "--sessions", "1,x"])
    assert line == "error: --sessions '1,x': expected comma-separated session numbers from 1 to 5, e.g. --sessions 1,2,3"


def test_fluent_commands_writes_three_dirs_with_utt2intent(tmp_path):
    db = fsc_tree(tmp_path)
    counts = prepare_fluent_commands(str(db), str(tmp_path / "data"))
    assert counts == {"train": 2, "dev": 1, "test": 1}
    train = tmp_path / "data/train"
    assert read_kv(train / "utt2intent") == {"spkA-a1": "activate lights kitchen",
                                              "spkB-b1": "change_language Chinese none"}
    assert read_kv(train / "text")["spkB-b1"] == "switch to chinese"
    assert read_kv(tmp_path / "data/dev/wav.scp") == {"spkA-a2": str(db / "wavs/speakers/spkA/a2.wav")}
    for split in ("train", "dev", "test"):
        assert [p for p in validate_data_dir(tmp_path / "data" / split, require=("utt2intent",))
                if p.severity == "error"] == []


def test_fluent_commands_errors_name_file_line_or_column(tmp_path, capsys):
    db = fsc_tree(tmp_path)
    os.unlink(db / "wavs/speakers/spkB/b1.wav")
    with pytest.raises(FscError, match=r"train_data.csv:3: audio not found: .*spkB/b1.wav"):
        prepare_fluent_commands(str(db), str(tmp_path / "data"))
    (db / "data/test_data.csv").write_text(",path,speakerId,transcription,action,object\n0,x.wav,s,t,a,o\n")
    with pytest.raises(FscError, match=r"test_data.csv: column\(s\) \['location'\] not found"):
        prepare_fluent_commands(str(db), str(tmp_path / "data"), splits={"test": "test"})
    line = one_error_line(capsys, fsc_main, ["--db", str(tmp_path / "nowhere"), "--out", str(tmp_path / "data")])
    assert "nowhere not found" in line


@pytest.mark.parametrize("module, prepare", [(iemocap, "prepare_iemocap"), (fluent_commands, "prepare_fluent_commands")])
def test_a_bug_in_a_prep_keeps_its_traceback(module, prepare, monkeypatch, tmp_path):
    assert_bug_propagates(monkeypatch, module.main, module, prepare, ["--db", str(tmp_path), "--out", str(tmp_path)])
