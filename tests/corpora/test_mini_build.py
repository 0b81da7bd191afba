"""Building the mini corpus: deterministic, idempotent, resumable, clear errors."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from speechbench.corpora.mini import espeak, prepare_mini
from speechbench.corpora.mini.espeak import Synthesis
from speechbench.corpora.mini.phones import espeak_to_cmu
from speechbench.corpora.mini.plan import make_plan
from speechbench.corpora.mini.build import chunks, run_forked
from speechbench.corpora.mini.render import make_babble, render_chunk
from speechbench.corpora.mini.timing import compute_timings, join_words
from speechbench.data.kaldi_dir import read_kv


def _tree_hash(corpus: str) -> str:
    """Hash of every data and wav file, with the corpus path taken out of the contents."""
    h = hashlib.sha256()
    for root, _, files in sorted(os.walk(corpus)):
        for name in sorted(files):
            if root == corpus:
                continue
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                h.update(os.path.relpath(path, corpus).encode())
                h.update(f.read().replace(corpus.encode(), b"CORPUS"))
    return h.hexdigest()


def test_plan_is_a_function_of_the_seed():
    assert make_plan("tiny", 0) == make_plan("tiny", 0)
    assert make_plan("tiny", 0).utts != make_plan("tiny", 1).utts


def test_rendering_a_chunk_again_gives_identical_audio(tiny_corpus, tmp_path):
    plan = make_plan("tiny", 0)
    utts = chunks(plan)[1]
    partial = str(tmp_path)
    for sub in ("wav", "meta"):
        os.makedirs(os.path.join(partial, sub))

    run_forked([("babble", lambda: np.save(os.path.join(partial, "babble.npy"), make_babble(0)))],
               nj=1)
    run_forked([("chunk 1", lambda: render_chunk(plan, utts, 0, partial))], nj=1)
    for utt in utts:
        with open(os.path.join(partial, "wav", f"{utt}.wav"), "rb") as a, \
                open(os.path.join(tiny_corpus, "wav", f"{utt}.wav"), "rb") as b:
            assert a.read() == b.read(), utt


def test_a_failing_child_is_reported_with_its_name():
    def boom() -> None:
        raise ValueError("no")
    with pytest.raises(RuntimeError, match="chunk 7 failed"):
        run_forked([("chunk 7", boom)], nj=2)


def test_rebuild_is_skipped_when_the_marker_matches(tiny_corpus):
    marker = os.path.join(tiny_corpus, ".done")
    before = os.stat(marker).st_mtime_ns
    start = time.time()
    assert prepare_mini(tiny_corpus, size="tiny", seed=0) == os.path.join(tiny_corpus, "data")
    assert time.time() - start < 1.0
    assert os.stat(marker).st_mtime_ns == before
    with open(marker) as f:
        assert json.load(f) == {"size": "tiny", "seed": 0, "version": 1}


@pytest.mark.slow
def test_same_seed_same_files_whatever_nj(tiny_corpus, tmp_path):
    other = str(tmp_path / "again")
    prepare_mini(other, size="tiny", seed=0, nj=2)
    assert _tree_hash(other) == _tree_hash(tiny_corpus)


@pytest.mark.slow
def test_a_killed_build_resumes_to_the_same_corpus(tiny_corpus, tmp_path):
    other = str(tmp_path / "killed")
    proc = subprocess.Popen([sys.executable, "-m", "speechbench.corpora.mini", "--size", "tiny",
                             "--out", other, "--nj", "2"], stderr=subprocess.DEVNULL)
    chunk_dir = os.path.join(other, ".partial", "chunks")
    deadline = time.time() + 120
    while not (os.path.isdir(chunk_dir) and os.listdir(chunk_dir)) and time.time() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert not os.path.exists(os.path.join(other, ".done"))
    done_before = len(os.listdir(chunk_dir))
    assert 0 < done_before < len(chunks(make_plan("tiny", 0)))
    subprocess.run([sys.executable, "-m", "speechbench.corpora.mini", "--size", "tiny",
                    "--out", other], check=True, stdout=subprocess.DEVNULL)
    assert not os.path.exists(os.path.join(other, ".partial"))
    assert _tree_hash(other) == _tree_hash(tiny_corpus)


@pytest.mark.slow
def test_a_new_seed_rebuilds(tiny_corpus, tmp_path):
    other = str(tmp_path / "seed1")
    prepare_mini(other, size="tiny", seed=0)
    prepare_mini(other, size="tiny", seed=1)
    with open(os.path.join(other, ".done")) as f:
        assert json.load(f)["seed"] == 1
    assert _tree_hash(other) != _tree_hash(tiny_corpus)


def test_refuses_a_foreign_non_empty_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a mini corpus"):
        prepare_mini(str(tmp_path), size="tiny")


def test_unknown_size_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="tiny, mini"):
        prepare_mini(str(tmp_path / "x"), size="huge")


def test_missing_library_names_the_package(monkeypatch):
    def no_lib(name):
        raise OSError(f"{name}: cannot open shared object file")
    monkeypatch.setattr(espeak.ctypes, "CDLL", no_lib)
    with pytest.raises(espeak.EspeakError, match="apt-get install espeak-ng"):
        espeak._load_library()


def test_espeak_phonemes_map_to_the_cmu_set():
    assert espeak_to_cmu("tS") == ("ch",)
    assert espeak_to_cmu("aI@") == ("ay",)
    assert espeak_to_cmu("_:") == ("sil",)
    assert espeak_to_cmu(";") == ()
    with pytest.raises(ValueError, match="unknown espeak-ng phoneme 'Q~'"):
        espeak_to_cmu("Q~")


def test_words_merged_by_espeak_are_split_by_their_phone_counts():
    """espeak reports 'on the' as one word: its four phones are shared out 2 + 2."""
    text, offsets = join_words([["go", "on", "the", "bus"]])
    synth = Synthesis(
        audio=np.zeros(1000, np.int16),
        phones=[(0, "g"), (100, "oU"), (200, "O2"), (300, "n"), (400, "D"), (500, "@2"),
                (600, "b"), (700, "V"), (800, "s"), (900, "_:")],
        words=[(0, 0, 2), (200, 3, 2), (600, 10, 3)])
    counts = {1: 2, 2: 2}
    timings = compute_timings(synth, offsets, lambda i: counts.get(i, 3))
    assert timings.words == [(0, 200), (200, 400), (400, 600), (600, 900)]
    assert timings.segments[-1] == (900, 1000, "sil")
