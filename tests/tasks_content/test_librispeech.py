"""LibriSpeech prep on a tiny fake tree in the official layout: dirs, lexicon phones, MFA TextGrids."""
from __future__ import annotations

import os

import kaldiio
import numpy as np
import pytest
import soundfile

from speechbench.corpora.librispeech import (CorpusError, frame_labels, main, prepare_librispeech, read_lexicon,
                                             read_textgrid)
from speechbench.data.kaldi_dir import read_kv
from speechbench.data.validate import validate_data_dir

UTTS = {"train-clean-100": {"19-198-0000": "THE CAT", "19-198-0001": "A DOG'S HAT", "26-495-0000": "THE ZEBRA"},
        "dev-clean": {"84-121123-0000": "THE HAT"}}
LEXICON = "THE DH AH0\nTHE(2) DH IY0\nCAT K AE1 T\nA AH0\nDOG'S D AO1 G Z\nHAT HH AE1 T\n"

LONG_TEXTGRID = '''File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 0.5
tiers? <exists>
size = 2
item []:
    item [1]:
        class = "IntervalTier"
        name = "words"
        xmin = 0
        xmax = 0.5
        intervals: size = 1
        intervals [1]:
            xmin = 0
            xmax = 0.5
            text = "the"
    item [2]:
        class = "IntervalTier"
        name = "phones"
        xmin = 0
        xmax = 0.5
        intervals: size = 3
        intervals [1]:
            xmin = 0
            xmax = 0.1
            text = ""
        intervals [2]:
            xmin = 0.1
            xmax = 0.25
            text = "DH"
        intervals [3]:
            xmin = 0.25
            xmax = 0.5
            text = "AH0"
'''

SHORT_TEXTGRID = '''File type = "ooTextFile"
Object class = "TextGrid"

0
0.5
<exists>
1
"IntervalTier"
"phones"
0
0.5
2
0
0.2
"K"
0.2
0.5
"sp"
'''


def make_tree(root) -> str:
    db = os.path.join(root, "LibriSpeech")
    for subset, utts in UTTS.items():
        for utt, words in utts.items():
            spk, chapter, _ = utt.split("-")
            d = os.path.join(db, subset, spk, chapter)
            os.makedirs(d, exist_ok=True)
            soundfile.write(os.path.join(d, f"{utt}.flac"), np.zeros(8000, dtype=np.float32), 16000)
            with open(os.path.join(d, f"{spk}-{chapter}.trans.txt"), "a", encoding="utf-8") as f:
                f.write(f"{utt} {words}\n")
    return db


@pytest.fixture()
def tree(tmp_path) -> str:
    return make_tree(tmp_path / "corpus")


def test_data_dirs_with_lexicon_phones(tree, tmp_path):
    lex = tmp_path / "lexicon.txt"
    lex.write_text(LEXICON, encoding="utf-8")
    out = tmp_path / "data"
    counts = prepare_librispeech(os.path.dirname(tree), str(out), ["train-clean-100", "dev-clean"], ["train", "dev"],
                                 lexicon=str(lex))
    assert counts == {"train": 3, "dev": 1}
    train = str(out / "train")
    assert validate_data_dir(train, require=("text", "text.phn", "utt2dur")) == []
    assert read_kv(os.path.join(train, "text"))["19-198-0001"] == "A DOG'S HAT"
    assert read_kv(os.path.join(train, "utt2spk"))["26-495-0000"] == "26"
    assert float(read_kv(os.path.join(train, "utt2dur"))["19-198-0000"]) == pytest.approx(0.5)
    phn = read_kv(os.path.join(train, "text.phn"))
    assert phn["19-198-0000"] == "DH AH0 K AE1 T"          # first pronunciation of THE
    assert phn["26-495-0000"] == "DH AH0 SPN"              # ZEBRA is out of the lexicon
    assert read_kv(os.path.join(train, "wav.scp"))["19-198-0000"].endswith("train-clean-100/19/198/19-198-0000.flac")


def test_lexicon_without_stress_and_several_lexicons(tree, tmp_path):
    lex = tmp_path / "lexicon.txt"
    lex.write_text(LEXICON, encoding="utf-8")
    assert read_lexicon(str(lex), stress=False)["HAT"] == ["HH", "AE", "T"]
    extra = tmp_path / "g2p.txt"
    extra.write_text("ZEBRA Z IY1 B R AH0\nTHE DH IY1\n", encoding="utf-8")
    prepare_librispeech(tree, str(tmp_path / "d"), ["train-clean-100"], lexicon=f"{lex},{extra}")
    phn = read_kv(tmp_path / "d" / "train-clean-100" / "text.phn")
    assert phn["26-495-0000"] == "DH AH0 Z IY1 B R AH0"  # THE from the first file, ZEBRA from the second


def test_textgrid_long_and_short_formats(tmp_path):
    (tmp_path / "long.TextGrid").write_text(LONG_TEXTGRID, encoding="utf-8")
    (tmp_path / "short.TextGrid").write_text(SHORT_TEXTGRID, encoding="utf-8")
    long = read_textgrid(str(tmp_path / "long.TextGrid"))
    assert long["phones"] == [(0.0, 0.1, ""), (0.1, 0.25, "DH"), (0.25, 0.5, "AH0")]
    assert long["words"] == [(0.0, 0.5, "the")]
    assert read_textgrid(str(tmp_path / "short.TextGrid")) == {"phones": [(0.0, 0.2, "K"), (0.2, 0.5, "sp")]}
    (tmp_path / "bad.TextGrid").write_text("hello", encoding="utf-8")
    with pytest.raises(CorpusError, match="bad.TextGrid: cannot read as a Praat TextGrid"):
        read_textgrid(str(tmp_path / "bad.TextGrid"))


def test_frame_labels_take_the_phone_at_each_frame_centre():
    labels = frame_labels([(0.0, 0.1, ""), (0.1, 0.25, "DH"), (0.25, 0.5, "AH0")], 52)
    assert labels[:10] == ["sil"] * 10
    assert labels[10:25] == ["DH"] * 15        # centres 0.105 .. 0.245
    assert labels[25:50] == ["AH0"] * 25
    assert labels[50:] == ["sil", "sil"]       # past the last interval


def test_alignments_become_ali_ark_and_phones(tree, tmp_path):
    ali = tmp_path / "mfa"
    for utt, grid in (("19-198-0000", LONG_TEXTGRID), ("19-198-0001", SHORT_TEXTGRID), ("84-121123-0000", LONG_TEXTGRID)):
        os.makedirs(ali / utt.split("-")[0], exist_ok=True)
        (ali / utt.split("-")[0] / f"{utt}.TextGrid").write_text(grid, encoding="utf-8")
    out = tmp_path / "data"
    counts = prepare_librispeech(tree, str(out), ["train-clean-100", "dev-clean"], ["train", "dev"],
                                 alignments=str(ali), stress=False)
    assert counts == {"train": 2, "dev": 1}  # 26-495-0000 has no TextGrid: dropped
    table = {k: int(v) for k, v in read_kv(out / "train" / "phones.txt").items()}
    assert table == {"sil": 0, "AH": 1, "DH": 2, "K": 3}
    assert read_kv(out / "dev" / "phones.txt") == read_kv(out / "train" / "phones.txt")
    vectors = kaldiio.load_scp(str(out / "train" / "ali.scp"))
    assert sorted(vectors) == ["19-198-0000", "19-198-0001"]
    first = np.asarray(vectors["19-198-0000"])
    assert len(first) == 50 and first[0] == 0 and first[10] == 2 and first[30] == 1
    assert list(np.asarray(vectors["19-198-0001"])[[0, 19, 20, 49]]) == [3, 3, 0, 0]
    assert validate_data_dir(str(out / "train"), require=("ali.scp", "phones.txt")) == []


def test_missing_files_are_named(tree, tmp_path, capsys):
    os.remove(os.path.join(tree, "dev-clean", "84", "121123", "84-121123-0000.flac"))
    with pytest.raises(CorpusError, match=r"84-121123-0000.flac not found \(listed in .*84-121123.trans.txt:1\)"):
        prepare_librispeech(tree, str(tmp_path / "d"), ["dev-clean"])
    with pytest.raises(CorpusError, match="test-clean not found: extract test-clean.tar.gz"):
        prepare_librispeech(tree, str(tmp_path / "d"), ["test-clean"])
    assert main(["--db", str(tmp_path / "nowhere"), "--out", str(tmp_path / "d")]) == 2
    assert "no LibriSpeech subset" in capsys.readouterr().err
    with pytest.raises(CorpusError, match="lexicon .* not found"):
        prepare_librispeech(tree, str(tmp_path / "d"), ["train-clean-100"], lexicon=str(tmp_path / "nolex"))
