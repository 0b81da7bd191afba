import kaldiio
import numpy as np
import pytest

from speechbench.data.audio import compute_utt2dur
from speechbench.data.kaldi_dir import (DataDir, DataDirError, read_int_vectors, read_kv, split_data_dir,
                                        write_int_vectors, write_kv)


def make_dir(root, audio_dir, n=7):
    d = root / "data"
    d.mkdir()
    utts = [f"spk{i % 2}-u{i}" for i in range(n)]
    write_kv(d / "wav.scp", {u: str(audio_dir / "a.wav") for u in utts})
    write_kv(d / "text", {u: f"word {u}" for u in utts})
    write_kv(d / "utt2spk", {u: u.split("-")[0] for u in utts})
    write_kv(d / "utt2emotion", {u: "happy" for u in utts})
    (d / "feats_dim").write_text("768\n")
    return d, sorted(utts)


def test_write_kv_round_trip_sorts_in_c_order(tmp_path):
    mapping = {"b": "2", "B": "1", "a-1": "x y", "a": ["p", "q"]}
    write_kv(tmp_path / "f", mapping)
    assert open(tmp_path / "f").read() == "B 1\na p q\na-1 x y\nb 2\n"
    assert read_kv(tmp_path / "f") == {"B": "1", "a": "p q", "a-1": "x y", "b": "2"}


def test_datadir_loads_files_lazily_and_names_missing_file(tmp_path, audio_dir):
    d, utts = make_dir(tmp_path, audio_dir)
    dd = DataDir(d)
    assert dd.utts == utts and dd.path == str(d)
    assert dd.has("text") and not dd.has("segments")
    assert dd.file("utt2emotion")["spk0-u0"] == "happy"
    assert dd.names() == ["text", "utt2emotion", "utt2spk", "wav.scp"]
    with pytest.raises(DataDirError, match=r"utt2intent not found: it is needed for intent"):
        dd.file("utt2intent")
    with pytest.raises(DataDirError, match="needed for my task"):
        dd.file("utt2foo", needed_for="my task")
    with pytest.raises(DataDirError, match="data dir not found"):
        DataDir(tmp_path / "nope")


def test_write_subset_regenerates_spk2utt_and_copies_metadata(tmp_path, audio_dir):
    d, utts = make_dir(tmp_path, audio_dir)
    (d / "ctm").write_text("spk1-u1 1 0.0 0.1 a\nspk0-u0 1 0.0 0.1 b\nspk1-u1 1 0.1 0.1 c\n")
    (d / "trials").write_text("spk1-u1 spk0-u2 nontarget\nspk1-u1 spk1-u3 target\n")
    sub = DataDir(d).write(tmp_path / "sub", ["spk1-u1", "spk0-u2"])
    assert (tmp_path / "sub" / "ctm").read_text() == "spk1-u1 1 0.0 0.1 a\nspk1-u1 1 0.1 0.1 c\n"
    assert (tmp_path / "sub" / "trials").read_text() == "spk1-u1 spk0-u2 nontarget\n"
    assert sub.utts == ["spk0-u2", "spk1-u1"]
    assert sub.file("text") == {"spk0-u2": "word spk0-u2", "spk1-u1": "word spk1-u1"}
    assert sub.file("spk2utt") == {"spk0": "spk0-u2", "spk1": "spk1-u1"}
    assert open(tmp_path / "sub" / "feats_dim").read() == "768\n"
    with pytest.raises(DataDirError, match="have no audio"):
        DataDir(d).write(tmp_path / "bad", ["ghost"])


def test_write_subset_with_segments_keeps_only_used_recordings(tmp_path, audio_dir):
    d = tmp_path / "seg"
    d.mkdir()
    write_kv(d / "wav.scp", {"r1": str(audio_dir / "a.wav"), "r2": str(audio_dir / "b.flac")})
    write_kv(d / "segments", {"r1-s1": "r1 0.0 0.2", "r2-s1": "r2 0.1 0.5", "r2-s2": "r2 0.5 0.9"})
    write_kv(d / "reco2dur", {"r1": "0.5", "r2": "1.0"})
    dd = DataDir(d)
    assert dd.utts == ["r1-s1", "r2-s1", "r2-s2"]
    assert dd.segments()["r2-s2"] == ("r2", 0.5, 0.9)
    sub = dd.write(tmp_path / "sub", ["r2-s2"])
    assert sub.file("wav.scp") == {"r2": str(audio_dir / "b.flac")}
    assert sub.file("reco2dur") == {"r2": "1.0"}


def test_split_data_dir_like_kaldi(tmp_path, audio_dir):
    d, utts = make_dir(tmp_path, audio_dir)
    parts = split_data_dir(d, 3)
    assert parts == [str(d / "split3" / str(i)) for i in (1, 2, 3)]
    chunks = [DataDir(p).utts for p in parts]
    assert [len(c) for c in chunks] == [2, 2, 3]
    assert sum(chunks, []) == utts
    assert DataDir(parts[2]).file("spk2utt")  # speakers regenerated per part
    out = split_data_dir(d, 2, tmp_path / "elsewhere")
    assert out[0] == str(tmp_path / "elsewhere" / "split2" / "1")
    with pytest.raises(DataDirError, match="into 8 parts"):
        split_data_dir(d, 8)


def test_compute_utt2dur_from_headers_and_segments(tmp_path, audio_dir):
    d = tmp_path / "d"
    d.mkdir()
    write_kv(d / "wav.scp", {"a": str(audio_dir / "a.wav"), "b": str(audio_dir / "b.flac"),
                             "c": str(audio_dir / "c.wav")})
    assert compute_utt2dur(d) == pytest.approx({"a": 0.5, "b": 1.0, "c": 0.25}, abs=1e-4)
    assert read_kv(d / "utt2dur") == {"a": "0.5000", "b": "1.0000", "c": "0.2500"}
    write_kv(d / "segments", {"a-1": "a 0.10 0.35"})
    assert compute_utt2dur(d) == pytest.approx({"a-1": 0.25})


def test_read_kv_splits_on_tabs_and_names_duplicates(tmp_path):
    (tmp_path / "f").write_text("a\t/x y.wav\nb  two  words \n")
    assert read_kv(tmp_path / "f") == {"a": "/x y.wav", "b": "two  words"}
    (tmp_path / "g").write_text("a 1\na 2\n")
    with pytest.raises(ValueError, match=r"g:2: duplicate key 'a'.*validate .* --fix"):
        read_kv(tmp_path / "g")


@pytest.mark.parametrize("name", ["phones.ark", "ali.txt"])
def test_int_vector_alignments_round_trip(tmp_path, name):
    ali = {"u2": np.array([3, 3, 4]), "u1": np.array([0, 1])}
    d = tmp_path / "d"
    d.mkdir()
    write_int_vectors(d / name, ali)
    got = DataDir(d).int_vectors(name)
    assert list(got) == ["u1", "u2"]
    assert [v.tolist() for v in got.values()] == [[0, 1], [3, 3, 4]]
    with pytest.raises(DataDirError, match="needed for phone classification"):
        DataDir(d).int_vectors("other.ark", needed_for="phone classification")


def test_int_vectors_reject_non_integer_labels(tmp_path):
    (tmp_path / "ali").write_text("u1 1 2\nu2 1 x\n")
    with pytest.raises(DataDirError, match=r"ali:2: 'u2' has a non-integer label"):
        read_int_vectors(tmp_path / "ali")
    kaldiio.save_ark(str(tmp_path / "feats.ark"), {"u1": np.zeros((2, 3), dtype=np.float32)})
    with pytest.raises(DataDirError, match="not an integer vector"):
        read_int_vectors(tmp_path / "feats.ark")
