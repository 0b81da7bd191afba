import pytest

from speechbench.data.audio import AudioReader
from speechbench.data.kaldi_dir import read_kv
from speechbench.data.make_dir import MakeDirError, main, make_data_dir
from speechbench.data.validate import validate_data_dir


@pytest.fixture
def corpus(tmp_path, write_audio):
    root = tmp_path / "wavs"
    write_audio(str(root / "one.wav"), 0.5, 44100, channels=2)
    write_audio(str(root / "sub" / "two.flac"), 0.25, 8000)
    write_audio(str(root / "three.ogg"), 0.5, 16000)
    write_audio(str(root / "again" / "one.wav"), 0.5, 16000)
    return root


def test_tsv_with_text_speaker_and_labels(tmp_path, corpus, write_lines):
    table = tmp_path / "meta.tsv"
    write_lines(table, ["file\tsentence\tclient id\temotion\tintent",
                        "one.wav\tHello,  world\tspk A\thappy\tplay music",
                        "sub/two.flac\tbye\tB\tsad\tstop",
                        "three.ogg\tyo\tspk A\tneutral\tstop",
                        "again/one.wav\thi again\tspk A\thappy\tstop"])
    out = tmp_path / "data"
    n = make_data_dir(str(table), str(corpus), str(out), "file", text_col="sentence",
                      speaker_col="client id",
                      label_cols={"emotion": "utt2emotion", "intent": "utt2intent"})
    assert n == 4
    wav = read_kv(out / "wav.scp")
    assert list(wav) == ["B-two", "spk_A-one", "spk_A-one-2", "spk_A-three"]
    assert wav["B-two"] == str(corpus / "sub" / "two.flac")  # not converted, absolute
    assert read_kv(out / "text")["spk_A-one"] == "Hello, world"
    assert read_kv(out / "spk2utt") == {"B": "B-two", "spk_A": "spk_A-one spk_A-one-2 spk_A-three"}
    assert read_kv(out / "utt2intent")["spk_A-one"] == "play music"
    assert read_kv(out / "utt2dur") == {"B-two": "0.2500", "spk_A-one": "0.5000",
                                        "spk_A-one-2": "0.5000", "spk_A-three": "0.5000"}
    assert validate_data_dir(out, require=["text", "utt2spk", "utt2emotion"]) == []
    assert AudioReader(str(out))["spk_A-one"].numel() == 8000  # 44.1 kHz stereo read as 16 kHz


def test_csv_with_id_column_and_cli(tmp_path, corpus, write_lines, capsys):
    table = tmp_path / "meta.csv"
    write_lines(table, ["id,path,label", 'u1,one.wav,"a"', "u2,three.ogg,b"])
    out = tmp_path / "data"
    assert main(["--csv", str(table), "--audio-root", str(corpus), "--out", str(out),
                 "--path-col", "path", "--id-col", "id", "--label-col", "label"]) == 0
    assert "wrote 2 utterances" in capsys.readouterr().out
    assert read_kv(out / "utt2label") == {"u1": "a", "u2": "b"}
    assert not (out / "utt2spk").exists()


def test_missing_column_names_the_columns_present(tmp_path, corpus, write_lines, capsys):
    table = tmp_path / "meta.csv"
    write_lines(table, ["path,transcript", "one.wav,hi"])
    with pytest.raises(MakeDirError, match="column\\(s\\) 'text' not found; columns present: "
                                           "'path', 'transcript'"):
        make_data_dir(str(table), str(corpus), str(tmp_path / "d"), "path", text_col="text")
    assert main(["--csv", str(table), "--audio-root", str(corpus), "--out", str(tmp_path / "d"),
                 "--path-col", "file"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "'file' not found" in err and "Traceback" not in err


def test_missing_audio_names_line_and_path(tmp_path, corpus, write_lines):
    table = tmp_path / "meta.tsv"
    write_lines(table, ["path\ttext\tspk", "one.wav\thi\ta", "gone.wav\tx\ta", "\ty\ta",
                        "three.ogg\t\t "])
    with pytest.raises(MakeDirError) as e:
        make_data_dir(str(table), str(corpus), str(tmp_path / "d"), "path", text_col="text",
                      speaker_col="spk")
    assert str(e.value).splitlines() == [
        f"{table}:3: audio file not found: {corpus / 'gone.wav'} (column 'path' is relative to "
        f"--audio-root {corpus})",
        f"{table}:4: audio file not found: (empty path) (column 'path' is relative to "
        f"--audio-root {corpus})",
        f"{table}:5: empty value in column(s) 'text', 'spk': fill it in or remove the row"]
    assert not (tmp_path / "d").exists()


def test_empty_table_and_corrupt_audio(tmp_path, corpus, write_lines):
    table = tmp_path / "meta.csv"
    write_lines(table, ["path,text"])
    with pytest.raises(MakeDirError, match="empty table"):
        make_data_dir(str(table), str(corpus), str(tmp_path / "d"), "path")
    (corpus / "bad.wav").write_bytes(b"not audio at all" * 10)
    write_lines(table, ["path,text", "bad.wav,hi"])
    with pytest.raises(MakeDirError, match="cannot read audio header"):
        make_data_dir(str(table), str(corpus), str(tmp_path / "d"), "path")


def test_stale_files_non_utf8_and_empty_value(tmp_path, corpus, write_lines):
    table = tmp_path / "meta.csv"
    write_lines(table, ["path,text,emotion", "one.wav,hi,sad"])
    out = tmp_path / "d"
    make_data_dir(str(table), str(corpus), str(out), "path", label_cols={"emotion": "utt2emotion"})
    assert make_data_dir(str(table), str(corpus), str(out), "path",
                         label_cols={"emotion": "utt2emotion"}) == 1  # rerun is fine
    with pytest.raises(MakeDirError, match="already holds utt2emotion"):
        make_data_dir(str(table), str(corpus), str(out), "path", text_col="text")
    table.write_bytes("path,text\none.wav,caf\xe9\n".encode("latin-1"))
    with pytest.raises(MakeDirError, match="not UTF-8"):
        make_data_dir(str(table), str(corpus), str(tmp_path / "e"), "path")
    write_lines(table, ["path,text", "three.ogg,yo", "one.wav,"])
    with pytest.raises(MakeDirError, match=r"meta.csv:3: empty value in column\(s\) 'text'"):
        make_data_dir(str(table), str(corpus), str(tmp_path / "f"), "path", text_col="text")


@pytest.mark.parametrize("bad", ["header_only", "nan", "garbage"])
def test_a_corrupt_file_leaves_no_data_dir_and_keeps_the_old_one(tmp_path, corpus, write_lines, bad):
    import numpy as np
    import soundfile
    if bad == "header_only":
        soundfile.write(corpus / "bad.wav", np.zeros(0, dtype=np.float32), 16000)
    elif bad == "nan":
        soundfile.write(corpus / "bad.wav", np.full(1600, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    else:
        (corpus / "bad.wav").write_bytes(b"RIFF" + b"junk" * 100)
    table = tmp_path / "meta.csv"
    write_lines(table, ["path,text", "three.ogg,yo", "bad.wav,hi"])
    out = tmp_path / "d"
    with pytest.raises(MakeDirError, match=r"(?s)'bad'.*bad.wav") as e:
        make_data_dir(str(table), str(corpus), str(out), "path", text_col="text")
    assert f"{out} was not written" in str(e.value) and ".tmp" not in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meta.csv", "wavs"]  # no dir, no leftover
    write_lines(table, ["path,text", "three.ogg,yo"])
    assert make_data_dir(str(table), str(corpus), str(out), "path", text_col="text") == 1
    write_lines(table, ["path,text", "one.wav,hi", "bad.wav,hi"])
    with pytest.raises(MakeDirError):
        make_data_dir(str(table), str(corpus), str(out), "path", text_col="text")
    assert read_kv(out / "text") == {"three": "yo"}  # the earlier dir, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "meta.csv", "wavs"]
