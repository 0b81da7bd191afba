"""VoxCeleb1 data prep on tiny fake trees in both release layouts (wav/, or dev/wav + test/wav)."""
from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile

from speechbench.corpora.voxceleb1 import CorpusError, main, prepare_voxceleb1, utt_id
from speechbench.data.kaldi_dir import read_kv
from speechbench.data.validate import check_data_dir
from speechbench.data.trials import read_trials

DEV_SPEAKERS = ("id10001", "id10002", "id10003", "id10004")
TEST_SPEAKERS = ("id10270", "id10271")
VIDEOS = ("1zcIwhmdeo4", "a-b_C9")


def _rels(spk: str) -> list[str]:
    return [f"{spk}/{v}/{n:05d}.wav" for v in VIDEOS for n in (1, 2)]


def make_tree(root, split_zips: bool = False, meta: bool = True) -> str:
    """Four dev and two test speakers, 2 videos x 2 utterances of 0.5 s each."""
    rng = np.random.default_rng(0)
    for spk in DEV_SPEAKERS + TEST_SPEAKERS:
        base = ("dev/wav" if spk in DEV_SPEAKERS else "test/wav") if split_zips else "wav"
        for rel in _rels(spk):
            path = root / base / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(str(path), (0.1 * rng.standard_normal(8000)).astype(np.float32), 16000)
    lines = []
    for spk in DEV_SPEAKERS + TEST_SPEAKERS:
        r = _rels(spk)
        lines += [f"1 {r[0]}", f"1 {r[1]}", f"2 {r[2]}", f"3 {r[3]}"]
    (root / "iden_split.txt").write_text("\n".join(lines) + "\n")
    a, b = _rels(TEST_SPEAKERS[0]), _rels(TEST_SPEAKERS[1])
    (root / "veri_test2.txt").write_text(f"1 {a[0]} {a[2]}\n0 {a[0]} {b[1]}\n1 {b[0]} {b[3]}\n0 {b[2]} {a[3]}\n")
    if meta:
        rows = ["VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet"]
        rows += [f"{s}\tName_{s}\tm\tUSA\t{'dev' if s in DEV_SPEAKERS else 'test'}"
                 for s in DEV_SPEAKERS + TEST_SPEAKERS]
        (root / "vox1_meta.csv").write_text("\n".join(rows) + "\n")
    return str(root)


def test_utt_id():
    assert utt_id("id10001/a-b_C9/00002.wav") == "id10001-a-b_C9-00002"
    with pytest.raises(CorpusError, match="not a VoxCeleb1 path"):
        utt_id("id10001/00002.wav")


@pytest.mark.parametrize("split_zips", [False, True])
def test_speaker_identification_split(tmp_path, split_zips):
    db = make_tree(tmp_path / "vox", split_zips)
    counts = prepare_voxceleb1(db, str(tmp_path / "data"), task="speaker")
    assert counts == {"train": 12, "dev": 6, "test": 6}
    for name in ("train", "dev", "test"):
        out = str(tmp_path / "data" / name)
        check_data_dir(out, require=("wav.scp", "utt2spk", "utt2dur"))
        assert set(read_kv(f"{out}/utt2spk").values()) == set(DEV_SPEAKERS + TEST_SPEAKERS)
    wav = read_kv(tmp_path / "data" / "test" / "wav.scp")
    assert wav["id10270-a-b_C9-00002"].endswith(("test/wav/" if split_zips else "wav/") + "id10270/a-b_C9/00002.wav")
    assert read_kv(tmp_path / "data" / "dev" / "utt2dur")["id10001-a-b_C9-00001"] == "0.5000"


@pytest.mark.parametrize("meta", [True, False])
def test_verification_split(tmp_path, meta):
    db = make_tree(tmp_path / "vox", split_zips=True, meta=meta)
    out = tmp_path / "data"
    counts = prepare_voxceleb1(db, str(out), task="asv", dev_speakers=2)
    assert counts == {"test": 7, "train_all": 16, "train": 8, "dev": 8}
    test_utts = set(read_kv(out / "test" / "wav.scp"))
    assert read_trials(str(out / "test" / "trials"), test_utts)[:2] == [
        ("id10270-1zcIwhmdeo4-00001", "id10270-a-b_C9-00001", 1),
        ("id10270-1zcIwhmdeo4-00001", "id10271-1zcIwhmdeo4-00002", 0)]
    train = set(read_kv(out / "train" / "utt2spk").values())
    dev = set(read_kv(out / "dev" / "utt2spk").values())
    assert train | dev == set(DEV_SPEAKERS) and not train & dev
    assert read_trials(str(out / "dev" / "trials"), set(read_kv(out / "dev" / "wav.scp")))


def test_missing_files_are_named(tmp_path, capsys):
    db = make_tree(tmp_path / "vox")
    os.unlink(os.path.join(db, "iden_split.txt"))
    with pytest.raises(CorpusError, match="iden_split.txt not found"):
        prepare_voxceleb1(db, str(tmp_path / "data"))
    os.unlink(os.path.join(db, "wav", "id10271", VIDEOS[0], "00002.wav"))
    with pytest.raises(CorpusError, match=r"1 listed audio files are missing \(e.g. .*id10271/1zcIwhmdeo4/00002.wav\)"):
        prepare_voxceleb1(db, str(tmp_path / "data"), task="asv", dev_speakers=2)
    assert main(["--db", str(tmp_path / "nowhere"), "--out", str(tmp_path / "d")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_meta_marking_a_test_speaker_as_dev_is_an_error(tmp_path):
    db = make_tree(tmp_path / "vox")
    meta = tmp_path / "vox" / "vox1_meta.csv"
    meta.write_text(meta.read_text().replace("id10270\tName_id10270\tm\tUSA\ttest",
                                             "id10270\tName_id10270\tm\tUSA\tdev"))
    with pytest.raises(CorpusError, match="must be disjoint"):
        prepare_voxceleb1(db, str(tmp_path / "data"), task="asv", dev_speakers=2)


def test_bad_trial_line_names_file_and_line(tmp_path):
    db = make_tree(tmp_path / "vox")
    with open(os.path.join(db, "veri_test2.txt"), "a") as f:
        f.write("yes a b\n")
    with pytest.raises(CorpusError, match=r"veri_test2.txt:5: expected"):
        prepare_voxceleb1(db, str(tmp_path / "data"), task="asv", dev_speakers=2)


def test_asv_training_set_comes_from_the_lists_and_a_missing_file_is_an_error(tmp_path):
    db = make_tree(tmp_path / "vox", split_zips=True)
    extra = tmp_path / "vox" / "dev" / "wav" / "id10001" / "unlisted" / "00001.wav"
    extra.parent.mkdir(parents=True)
    soundfile.write(str(extra), np.zeros(8000, dtype=np.float32), 16000)
    counts = prepare_voxceleb1(db, str(tmp_path / "data"), task="asv", dev_speakers=None)
    assert counts == {"test": 7, "train_all": 16}  # the unlisted file is not part of the corpus
    assert "id10001-unlisted-00001" not in read_kv(tmp_path / "data" / "train_all" / "wav.scp")
    os.unlink(os.path.join(db, "dev", "wav", "id10002", VIDEOS[1], "00001.wav"))
    with pytest.raises(CorpusError, match=r"1 listed audio files are missing \(e.g. .*id10002/a-b_C9/00001.wav\)"):
        prepare_voxceleb1(db, str(tmp_path / "data2"), task="asv", dev_speakers=2)


def test_dev_speakers_advice_names_a_value_that_works(tmp_path):
    db = make_tree(tmp_path / "vox")
    with pytest.raises(CorpusError, match=r"use --dev-speakers 2 \(any value from 2 to 2 works\)"):
        prepare_voxceleb1(db, str(tmp_path / "data"), task="asv", dev_speakers=3)
    assert prepare_voxceleb1(db, str(tmp_path / "data"), task="asv", dev_speakers=2)["dev"] == 8


def test_three_training_speakers_are_told_to_bring_a_dev_set(tmp_path):
    db = make_tree(tmp_path / "vox")
    split = tmp_path / "vox" / "iden_split.txt"
    split.write_text("".join(x for x in split.read_text().splitlines(True) if "id10004" not in x))
    for dev_speakers in (0, 1, 2, 3):
        with pytest.raises(CorpusError, match="no --dev-speakers value works: give a dev set of your own with "
                                              "--dev-dir"):
            prepare_voxceleb1(db, str(tmp_path / "data"), task="asv", dev_speakers=dev_speakers)
