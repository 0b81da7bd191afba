"""TIMIT prep on a fake LDC tree: splits, 61->39 folding, 10 ms frame labels, errors."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from speechbench.corpora.timit import (CORE_TEST_SPEAKERS, DEV_SPEAKERS, PHONE_IDS, CorpusError, fold_segments,
                                       prepare_timit)
from speechbench.data.audio import load_audio
from speechbench.data.kaldi_dir import read_kv
from speechbench.downstream.phone.expert import AlignedDataset
from testutil import REPO

# One crafted utterance (1000 samples = 7 frames, centres 80, 240, ..., 1040):
# h# -> sil, ao -> aa, q takes the phone before it, ix -> ih, bcl -> sil, last centre uncovered -> sil.
CRAFTED_PHN = [(0, 100, "h#"), (100, 300, "ao"), (300, 460, "q"), (460, 620, "ix"), (620, 700, "bcl"),
               (700, 1000, "b")]
CRAFTED_FRAMES = ["sil", "aa", "aa", "ih", "b", "b", "sil"]
PLAIN_PHN = [(0, 400, "h#"), (400, 1200, "iy"), (1200, 1600, "h#")]


def write_sphere(path: str, samples: np.ndarray, utt: str) -> None:
    """A NIST SPHERE file with TIMIT's own header fields (1024-byte header, little-endian PCM)."""
    fields = ["database_id -s5 TIMIT", "database_version -s3 1.0", f"utterance_id -s{len(utt)} {utt}",
              "channel_count -i 1", f"sample_count -i {len(samples)}", "sample_rate -i 16000",
              f"sample_min -i {int(samples.min())}", f"sample_max -i {int(samples.max())}",
              "sample_n_bytes -i 2", "sample_byte_format -s2 01", "sample_sig_bits -i 16", "end_head"]
    header = ("NIST_1A\n   1024\n" + "\n".join(fields) + "\n").encode("ascii")
    with open(path, "wb") as f:
        f.write(header.ljust(1024, b" "))
        f.write(samples.astype("<i2").tobytes())


def write_utt(spk_dir: str, utt: str, phn: list, words: str, upper: bool, seed: int) -> None:
    name = (lambda s: s.upper()) if upper else (lambda s: s.lower())
    samples = np.random.default_rng(seed).integers(-3000, 3000, phn[-1][1]).astype(np.int16)
    write_sphere(os.path.join(spk_dir, name(f"{utt}.wav")), samples, utt)
    with open(os.path.join(spk_dir, name(f"{utt}.phn")), "w") as f:
        f.writelines(f"{s} {e} {p}\n" for s, e, p in phn)
    step = phn[-1][1] // len(words.split())
    with open(os.path.join(spk_dir, name(f"{utt}.wrd")), "w") as f:
        f.writelines(f"{i * step} {(i + 1) * step} {w}\n" for i, w in enumerate(words.split()))
    with open(os.path.join(spk_dir, name(f"{utt}.txt")), "w") as f:
        f.write(f"0 {phn[-1][1]} {words.capitalize()}.\n")


def make_tree(root: str, upper: bool) -> str:
    """TRAIN: 2 speakers (SA1 + 2 others each); TEST: every dev/core speaker (SX1 + SA2) and one other."""
    name = (lambda s: s.upper()) if upper else (lambda s: s.lower())
    db = os.path.join(root, name("timit"))
    seed = 0
    layout = [("train", "dr1", "fcjf0", ["sa1", "si1027", "sx37"]), ("train", "dr2", "marc0", ["sa1", "si1188", "sx108"])]
    layout += [("test", f"dr{i % 8 + 1}", spk, ["sa2", "sx1"]) for i, spk in enumerate(sorted(DEV_SPEAKERS | CORE_TEST_SPEAKERS))]
    layout += [("test", "dr3", "mabc0", ["si1", "sx2"])]
    for part, region, spk, utts in layout:
        spk_dir = os.path.join(db, name(part), name(region), name(spk))
        os.makedirs(spk_dir, exist_ok=True)
        for utt in utts:
            seed += 1
            phn = CRAFTED_PHN if (spk, utt) == ("fcjf0", "si1027") else PLAIN_PHN
            write_utt(spk_dir, utt, phn, "she had your dark suit", upper, seed)
    return db


@pytest.mark.parametrize("upper", [True, False])
def test_splits_labels_and_phone_task_reads_them(tmp_path, upper):
    db = make_tree(str(tmp_path), upper)
    counts = prepare_timit(str(tmp_path), str(tmp_path / "data"))  # the parent of TIMIT/ works too
    assert counts == {"train": 4, "dev": 50, "test": 24}
    train = tmp_path / "data" / "train"
    assert list(read_kv(train / "utt2spk").items()) == [
        ("fcjf0_si1027", "fcjf0"), ("fcjf0_sx37", "fcjf0"), ("marc0_si1188", "marc0"), ("marc0_sx108", "marc0")]
    assert read_kv(train / "spk2utt")["marc0"] == "marc0_si1188 marc0_sx108"
    assert read_kv(train / "text")["fcjf0_sx37"] == "she had your dark suit"
    assert read_kv(train / "utt2dur")["fcjf0_si1027"] == "0.0625"
    assert set(read_kv(tmp_path / "data" / "dev" / "utt2spk").values()) == DEV_SPEAKERS
    assert set(read_kv(tmp_path / "data" / "test" / "utt2spk").values()) == CORE_TEST_SPEAKERS
    table = read_kv(train / "phones.txt")
    assert list(table.items())[:3] == [("sil", "0"), ("aa", "1"), ("ae", "2")]
    assert len(table) == 39 and table["z"] == "38"
    assert "q" not in table and "ao" not in table

    ds = AlignedDataset(str(train), "ali.scp", "phones.txt")
    crafted = ds.labels("fcjf0_si1027")[0].tolist()
    assert [ds.table[i] for i in crafted] == CRAFTED_FRAMES
    assert ds.labels("fcjf0_sx37")[0].tolist() == [0] * 2 + [PHONE_IDS["iy"]] * 5 + [0] * 3  # centres 400..1040

    wav = read_kv(train / "wav.scp")["fcjf0_sx37"]
    assert os.path.isabs(wav) and wav.startswith(db)
    expected = np.random.default_rng(3).integers(-3000, 3000, 1600).astype(np.int16)
    audio = load_audio(wav, "fcjf0_sx37").numpy()
    np.testing.assert_allclose(audio, expected / 32768.0, atol=1e-7)


def test_q_at_the_start_takes_the_next_phone():
    assert fold_segments([(0, 10, "q"), (10, 20, "axr"), (20, 30, "q"), (30, 40, "zh")]) == [
        (0, 10, "er"), (10, 20, "er"), (20, 30, "er"), (30, 40, "sh")]
    with pytest.raises(CorpusError, match="unknown TIMIT phone 'xx'"):
        fold_segments([(0, 10, "xx")], "a.PHN")


def test_missing_phn_names_the_file(tmp_path):
    db = make_tree(str(tmp_path), upper=True)
    os.remove(os.path.join(db, "TRAIN", "DR2", "MARC0", "SX108.PHN"))
    with pytest.raises(CorpusError, match=r"TRAIN/DR2/MARC0/SX108\.PHN not found"):
        prepare_timit(db, str(tmp_path / "data"))


def test_cli_reports_missing_core_speaker_in_one_line(tmp_path):
    db = make_tree(str(tmp_path), upper=False)
    region = next(r for r in os.listdir(os.path.join(db, "test")) if os.path.isdir(os.path.join(db, "test", r, "mdab0")))
    os.rename(os.path.join(db, "test", region, "mdab0"), os.path.join(db, "test", region, "xdab0"))
    proc = subprocess.run([sys.executable, "-m", "speechbench.corpora.timit", "--db", db, "--out", str(tmp_path / "d")],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert "1 speakers of the dev/core test sets are missing (e.g. mdab0)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_wrong_db_says_what_is_expected(tmp_path):
    with pytest.raises(CorpusError, match="no TRAIN/ and TEST/ directories here or in"):
        prepare_timit(str(tmp_path), str(tmp_path / "data"))
    with pytest.raises(CorpusError, match="not found: point --db at the TIMIT directory"):
        prepare_timit(str(tmp_path / "nowhere"), str(tmp_path / "data"))
