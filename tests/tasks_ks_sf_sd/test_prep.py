"""Speech Commands, audio SNIPS and Libri2Mix preps on tiny fake trees in the official layouts."""
from __future__ import annotations

import pytest

from speechbench.corpora.errors import CorpusError
from speechbench.corpora.librimix import main as librimix_main, prepare_librimix
from speechbench.corpora.snips import main as snips_main, prepare_snips
from speechbench.corpora.speech_commands import main as speech_commands_main, prepare_speech_commands
from speechbench.data.kaldi_dir import read_kv
from speechbench.data.validate import check_data_dir
from speechbench.metrics.diarization import read_rttm
from tasks_ks_sf_sd.fake_trees import (librimix_tree, snips_tree, speech_commands_test_tree,
                                       speech_commands_tree)


def _silence_windows(out, name):
    segments = read_kv(out / name / "segments")
    labels = read_kv(out / name / "utt2label")
    return [(v.split()[0], float(v.split()[1]), float(v.split()[2])) for u, v in segments.items()
            if labels[u] == "_silence_"]


def test_speech_commands_splits_by_list_and_cuts_silence_per_set(tmp_path):
    db = speech_commands_tree(tmp_path)
    out = tmp_path / "data"
    counts = prepare_speech_commands(str(db), str(out), seed=3)
    for name in ("train", "dev", "test"):
        check_data_dir(str(out / name), require=["utt2label", "segments", "utt2spk"])
    words = {name: {u: l for u, l in read_kv(out / name / "utt2label").items() if l != "_silence_"}
             for name in ("train", "dev", "test")}
    assert words["train"] == {f"aaaa0001-{w}-{n}": w for w in ("yes", "no", "bed") for n in (0, 1)}
    assert words["dev"] == {f"bbbb0002-{w}-0": w for w in ("yes", "no", "bed")}
    assert words["test"] == {f"cccc0003-{w}-0": w for w in ("yes", "no", "bed")}
    assert read_kv(out / "train" / "segments")["aaaa0001-yes-1"] == "aaaa0001-yes-1 0.000 0.850"
    # silence: one-second windows inside each set's share of every noise recording, never overlapping
    lengths = {"bgnoise-white_noise": 12.0, "bgnoise-running_tap": 5.5}
    shares = {"train": (0.0, 0.8), "dev": (0.8, 0.9), "test": (0.9, 1.0)}
    for name, (lo, hi) in shares.items():
        windows = sorted(_silence_windows(out, name))
        for rec, start, end in windows:
            assert end - start == pytest.approx(1.0)
            assert lo * lengths[rec] <= start and end <= hi * lengths[rec] + 1e-6
        for (r1, _, e1), (r2, s2, _) in zip(windows, windows[1:]):
            assert r1 != r2 or s2 >= e1 - 1e-6
    white = [w for w in _silence_windows(out, "train") if w[0] == "bgnoise-white_noise"]
    assert len(white) in (8, 9)  # 9.6 s of train share from an offset in [0, 1)
    assert counts["train"] == 6 + len(_silence_windows(out, "train"))
    again = tmp_path / "again"
    prepare_speech_commands(str(db), str(again), seed=3)
    assert (again / "train" / "segments").read_text() == (out / "train" / "segments").read_text()


def test_speech_commands_separate_test_set(tmp_path):
    db, test_db = speech_commands_tree(tmp_path), speech_commands_test_tree(tmp_path)
    out = tmp_path / "data"
    prepare_speech_commands(str(db), str(out), test_db=str(test_db))
    assert read_kv(out / "test" / "utt2label") == {
        "dddd0004-_unknown_-0": "_unknown_", "dddd0004-yes-0": "yes", "eeee0005-_unknown_-1": "_unknown_",
        "silence-_silence_-silence_0": "_silence_"}
    check_data_dir(str(out / "test"), require=["utt2label"])


def test_speech_commands_errors_name_the_file(tmp_path, capsys):
    db = speech_commands_tree(tmp_path)
    (db / "testing_list.txt").write_text("yes/cccc0003_nohash_0.wav\nyes/gone_nohash_0.wav\n")
    with pytest.raises(CorpusError, match="testing_list.txt:2: yes/gone_nohash_0.wav not found"):
        prepare_speech_commands(str(db), str(tmp_path / "data"))
    (db / "testing_list.txt").unlink()
    assert speech_commands_main(["--db", str(db), "--out", str(tmp_path / "data")]) == 2
    assert "testing_list.txt not found" in capsys.readouterr().err


def test_snips_superb_speakers_normalised_text_and_slot_tags(tmp_path):
    db = snips_tree(tmp_path)
    out = tmp_path / "data"
    assert prepare_snips(str(db), str(out)) == {"train": 2, "dev": 1, "test": 1}
    for name in ("train", "dev", "test"):
        check_data_dir(str(out / name), require=["text", "text.slot", "utt2spk"])
    assert read_kv(out / "train" / "text.slot") == {
        "Ivy-snips-train-0": "PLAY B-artist THE BEATLES E-artist ON B-service SPOTIFY E-service",
        "Joanna-snips-train-1": "WHAT IS THE WEATHER"}  # '?' dropped; Zed is not a SUPERB speaker
    assert read_kv(out / "dev" / "text.slot") == {
        "Aditi-snips-valid-0": "PLAY B-genre ROCK AND ROLL E-genre BY B-artist BEYONCE E-artist"}
    assert read_kv(out / "dev" / "text") == {"Aditi-snips-valid-0": "PLAY ROCK AND ROLL BY BEYONCE"}
    assert read_kv(out / "test" / "text.slot") == {
        "Brian-snips-test-0": "BOOK A TABLE FOR B-party_size_number TWO E-party_size_number"}
    everyone = prepare_snips(str(db), str(tmp_path / "all"), {"train": "all"})
    assert everyone["train"] == 3


def test_snips_errors(tmp_path, capsys):
    db = snips_tree(tmp_path)
    with open(db / "all.iob.snips.txt", "a", encoding="utf-8") as f:
        f.write("Ivy-snips-train-9 BOS play it EOS\tO O O\n")
    assert snips_main(["--db", str(db), "--out", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "all.iob.snips.txt:6" in err and "one tag per token" in err
    with pytest.raises(CorpusError, match="no audio with a transcript"):
        prepare_snips(str(snips_tree(tmp_path / "b")), str(tmp_path / "x"), {"test": "Nobody"})


def test_librimix_recording_dirs_and_s3prl_layout(tmp_path):
    db, rttm_dir = librimix_tree(tmp_path, mix="clean")
    out = tmp_path / "data"
    assert prepare_librimix(str(db), str(rttm_dir), str(out), mix="clean") == {"train": 2, "dev": 1, "test": 1}
    for name in ("train", "dev", "test"):
        check_data_dir(str(out / name), require=["rttm"])
        check_data_dir(str(out / "s3prl" / name), require=["segments", "utt2spk", "rttm", "reco2dur"])
    mixture = "19-198-0001_26-495-0004"
    assert read_kv(out / "train" / "utt2dur")[mixture] == "3.0000"
    turns = sorted((t.speaker, round(t.start, 3), round(t.end, 3)) for t in read_rttm(str(out / "train" / "rttm"))[mixture])
    assert turns == [("19", 0.2, 1.4), ("19", 1.8, 2.9), ("26", 0.5, 2.0)]
    segments = read_kv(out / "s3prl" / "train" / "segments")
    assert segments[f"26-{mixture}_0000500_0002000"] == f"{mixture} 0.500 2.000"
    assert read_kv(out / "s3prl" / "train" / "utt2spk")[f"19-{mixture}_0001800_0002900"] == "19"
    assert read_kv(out / "s3prl" / "dev" / "reco2dur") == {"84-121-0001_251-136-0002": "2.0000"}


def test_librimix_errors(tmp_path, capsys):
    db, rttm_dir = librimix_tree(tmp_path, mix="clean")
    with pytest.raises(CorpusError, match="mixture_train-100_mix_both.csv not found"):
        prepare_librimix(str(db), str(rttm_dir), str(tmp_path / "data"))  # SUPERB's default reads mix_both
    text = (rttm_dir / "all.rttm").read_text().replace("SPEAKER 121726-0001", "SPEAKER 999-0001")
    (rttm_dir / "all.rttm").write_text(text)
    assert librimix_main(["--db", str(db), "--rttm-dir", str(rttm_dir), "--out", str(tmp_path / "d"),
                          "--mix", "clean"]) == 2
    assert "source '121-121726-0001' of '61-70968-0000_121-121726-0001' has no turns" in capsys.readouterr().err


def test_librimix_names_a_mixture_whose_header_is_unreadable(tmp_path, capsys):
    db, rttm_dir = librimix_tree(tmp_path, mix="clean")
    mixture = (db / "metadata" / "mixture_train-100_mix_clean.csv").read_text().splitlines()[1].split(",")[0]
    first = db / "train-100" / "mix_clean" / f"{mixture}.wav"  # the file whose header gives the rate
    first.write_bytes(b"not a wav file at all")
    assert librimix_main(["--db", str(db), "--rttm-dir", str(rttm_dir), "--out", str(tmp_path / "d"),
                          "--mix", "clean"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: utterance ") and "cannot read audio header" in err and str(first) in err
