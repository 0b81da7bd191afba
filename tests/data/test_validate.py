import os

import pytest

from speechbench.data.kaldi_dir import read_kv, write_kv
from speechbench.data.kaldi_dir import DataDirError
from speechbench.data.validate import (Problem, check_data_dir, fix_data_dir, main,
                                       validate_data_dir)


@pytest.fixture
def good_dir(tmp_path, audio_dir):
    d = tmp_path / "good"
    d.mkdir()
    utts = ["s1-a", "s1-b", "s2-c", "s2-d"]
    write_kv(d / "wav.scp", {u: str(audio_dir / "a.wav") for u in utts})
    write_kv(d / "text", {u: "hello world" for u in utts})
    write_kv(d / "utt2spk", {u: u.split("-")[0] for u in utts})
    write_kv(d / "spk2utt", {"s1": "s1-a s1-b", "s2": "s2-c s2-d"})
    write_kv(d / "utt2label", {u: "yes" for u in utts})
    return d


def found(problems: list[Problem]) -> set[tuple]:
    return {(p.file, p.line, p.severity) for p in problems}


def only(problems, text):
    hits = [p for p in problems if text in p.message]
    assert len(hits) == 1, (text, [str(p) for p in problems])
    assert hits[0].fix
    return hits[0]


def test_good_dir_has_no_problem(good_dir, capsys):
    assert validate_data_dir(good_dir, require=["text", "utt2spk"]) == []
    assert main([str(good_dir)]) == 0
    assert "0 errors, 0 warnings" in capsys.readouterr().out


def test_missing_required_files_and_dir(good_dir, tmp_path):
    os.remove(good_dir / "wav.scp")
    problems = validate_data_dir(good_dir, require=["text", "utt2intent"])
    assert ("wav.scp", None, "error") in found(problems)
    assert ("utt2intent", None, "error") in found(problems)
    assert only(problems, "needed for intent classification").file == "utt2intent"
    assert validate_data_dir(tmp_path / "nope")[0].message == "data dir not found"


def test_unsorted_and_duplicates_with_line_numbers(good_dir, write_lines, audio_dir):
    wav = str(audio_dir / "a.wav")
    write_lines(good_dir / "wav.scp", [f"s1-b {wav}", f"s1-a {wav}", f"s1-a {wav}",
                                       f"s2-c {wav}", f"s2-d {wav}", f"s2-d {wav}"])
    problems = validate_data_dir(good_dir)
    assert only(problems, "not sorted").line == 2
    dups = [p for p in problems if "duplicate key" in p.message]
    assert [(p.file, p.line) for p in dups] == [("wav.scp", 3), ("wav.scp", 6)]
    assert "first at line 2" in dups[0].message and "first at line 5" in dups[1].message


def test_utterances_without_audio_and_missing_entries(good_dir, write_lines):
    write_lines(good_dir / "text", ["s1-a hi", "s1-b hi", "s2-c hi", "s2-d hi", "s3-x ghost"])
    write_lines(good_dir / "utt2label", ["s1-a yes", "s2-c no", "s2-d no"])
    problems = validate_data_dir(good_dir)
    p = only(problems, "'s3-x' has no audio")
    assert (p.file, p.line, p.severity) == ("text", 5, "error")
    p = only(problems, "have no entry")
    assert p.file == "utt2label" and "'s1-b'" in p.message


def test_speaker_prefix_is_a_warning_and_spk2utt_mismatch_an_error(good_dir, write_lines):
    write_lines(good_dir / "utt2spk", ["s1-a s1", "s1-b s1", "s2-c s1", "s2-d s2"])
    problems = validate_data_dir(good_dir)
    p = only(problems, "do not start with their speaker id")
    assert (p.file, p.line, p.severity) == ("utt2spk", 3, "warning")
    assert [(p.file, p.line) for p in problems if "does not match utt2spk" in p.message] == [
        ("spk2utt", 1), ("spk2utt", 2)]
    assert all(p.severity == "error" for p in problems if p.file == "spk2utt")


def test_empty_transcript_bad_segments_and_malformed_lines(good_dir, write_lines, audio_dir):
    write_lines(good_dir / "text", ["s1-a hi", "s1-b", "s2-c hi", "s2-d   "])
    write_lines(good_dir / "wav.scp", [f"r1 {audio_dir / 'a.wav'}"])
    write_lines(good_dir / "segments", ["s1-a r1 0 0.2", "s1-b r1 0.3 0.3", "s2-c r1 x 1",
                                        "s2-d r1 0.1", "s3-e r9 0 1"])
    write_lines(good_dir / "utt2spk", ["s1-a s1", "s1-b s1 extra", "", "s2-c s2", "s2-d s2"])
    (good_dir / "utt2label").write_bytes(b"s1-a yes\ns1-b \xff\xfe\ns2-c no\ns2-d no\n")
    problems = validate_data_dir(good_dir)
    got = {(p.file, p.line) for p in problems}
    assert {("text", 2), ("text", 4)} <= got
    assert only(problems, "empty transcript for 's1-b'").line == 2
    assert only(problems, "bad segment times for 's1-b'").line == 2
    assert only(problems, "times are not numbers").line == 3
    assert only(problems, "expected `utt recording start end`").line == 4
    assert only(problems, "recording 'r9'").line == 5
    assert only(problems, "speaker id of 's1-b' has spaces").line == 2
    assert only(problems, "empty line").file == "utt2spk"
    assert only(problems, "not UTF-8").line == 2


def test_missing_audio_file_and_bad_durations(good_dir, write_lines, audio_dir):
    write_lines(good_dir / "wav.scp", [f"s1-a {audio_dir / 'a.wav'}", "s1-b /no/such.wav",
                                       f"s2-c {audio_dir / 'a.wav'}", "s2-d sox x.wav -t wav - |"])
    write_lines(good_dir / "utt2dur", ["s1-a 0.5", "s1-b 1", "s2-c -1", "s2-d abc"])
    problems = validate_data_dir(good_dir)
    assert only(problems, "/no/such.wav").line == 2
    assert [p.line for p in problems if "positive duration" in p.message] == [3, 4]


def test_cli_exit_code_and_every_problem_printed(good_dir, write_lines, capsys):
    write_lines(good_dir / "text", ["s1-b hi", "s1-a", "s1-a x", "s2-c hi", "s2-d hi"])
    assert main([str(good_dir), "--require", "text,utt2dur"]) == 1
    out = capsys.readouterr().out
    for needle in ["ERROR utt2dur: required file missing", "ERROR text:2: empty transcript",
                   "ERROR text:3: duplicate key 's1-a'", "fix: ", "errors, 0 warnings"]:
        assert needle in out


def test_fix_keeps_intersection_and_counts_drops(good_dir, write_lines, audio_dir):
    wav = str(audio_dir / "a.wav")
    write_lines(good_dir / "wav.scp", [f"s1-b {wav}", f"s1-a {wav}", f"s1-a {wav}",
                                       f"s2-c {wav}", "s2-d /missing.wav", f"s3-e {wav}"])
    write_lines(good_dir / "text", ["s1-a hi", "s1-b", "s2-c hi", "s2-d hi", "s9-z ghost"])
    write_lines(good_dir / "utt2spk", ["s1-a s1", "s1-b s1", "s2-c s2", "s2-d s2", "s3-e s3"])
    write_lines(good_dir / "trials", ["s1-a s2-c nontarget", "s1-a s1-b target"])
    dropped = fix_data_dir(good_dir)
    assert dropped == {"spk2utt": 0, "text": 3, "trials": 1, "utt2label": 2, "utt2spk": 3,
                       "wav.scp": 4}
    assert read_kv(good_dir / "wav.scp") == {"s1-a": wav, "s2-c": wav}
    assert read_kv(good_dir / "spk2utt") == {"s1": "s1-a", "s2": "s2-c"}
    assert open(good_dir / "trials").read() == "s1-a s2-c nontarget\n"
    assert (good_dir / ".backup" / "text").read_text().count("\n") == 5
    assert validate_data_dir(good_dir) == []


def test_fix_with_segments_drops_unused_recordings(tmp_path, audio_dir, write_lines):
    d = tmp_path / "seg"
    d.mkdir()
    write_lines(d / "wav.scp", [f"r1 {audio_dir / 'a.wav'}", f"r2 {audio_dir / 'b.flac'}"])
    write_lines(d / "segments", ["r1-a r1 0 0.2", "r1-b r1 0.3 0.2", "r2-a r2 0 0.5"])
    write_lines(d / "text", ["r1-a hi", "r1-b hi"])
    assert only(validate_data_dir(d), "have no entry").file == "text"
    assert fix_data_dir(d) == {"segments": 2, "text": 1, "wav.scp": 1}
    assert read_kv(d / "wav.scp") == {"r1": str(audio_dir / "a.wav")}
    assert validate_data_dir(d) == []


def test_cli_fix_prints_drops(good_dir, write_lines, capsys):
    write_lines(good_dir / "text", ["s1-a hi", "s1-b hi", "s2-c hi"])
    assert main([str(good_dir), "--fix"]) == 0
    out = capsys.readouterr().out
    assert "utt2label: dropped 1 entries" in out and "0 errors" in out


def test_check_data_dir_raises_with_every_error(good_dir, write_lines):
    check_data_dir(good_dir, require=["text"])
    write_lines(good_dir / "text", ["s1-a hi", "s1-b", "s2-c hi", "s2-d"])
    with pytest.raises(DataDirError, match=r"\(2 errors\)") as e:
        check_data_dir(good_dir)
    assert "text:2: empty transcript" in str(e.value) and "text:4: empty" in str(e.value)


def test_fix_refuses_to_drop_everything(good_dir, write_lines, capsys):
    write_lines(good_dir / "utt2label", ["x1 yes", "x2 no"])
    with pytest.raises(DataDirError, match="utt2label shares no utterance"):
        fix_data_dir(good_dir)
    assert not (good_dir / ".backup").exists()  # refused before touching any file
    os.remove(good_dir / "wav.scp")
    assert main([str(good_dir), "--fix"]) == 1
    assert "wav.scp not found" in capsys.readouterr().err


def test_multi_line_files_allow_repeated_keys(good_dir, write_lines):
    write_lines(good_dir / "ctm", ["s1-a 1 0.10 0.20 hello", "s1-a 1 0.30 0.20 world",
                                   "s9-x 1 0.00 0.10 ghost", "s2-c 1 0.00 0.10 hi"])
    write_lines(good_dir / "phones.txt", ["sil 0", "ah 1"])  # symbol table: not utt-keyed
    problems = validate_data_dir(good_dir)
    assert [(p.file, p.line) for p in problems] == [("ctm", 3)]
    assert "'s9-x'" in problems[0].message
    assert fix_data_dir(good_dir)["ctm"] == 1
    assert open(good_dir / "ctm").read().splitlines() == [
        "s1-a 1 0.10 0.20 hello", "s1-a 1 0.30 0.20 world", "s2-c 1 0.00 0.10 hi"]
