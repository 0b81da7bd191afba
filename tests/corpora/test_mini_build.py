"""Building the mini corpus: deterministic, idempotent, resumable, clear errors."""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from speechbench.corpora.mini import VERSION, espeak, prepare_mini
from speechbench.corpora.mini.espeak import Synthesis, Voice
from speechbench.corpora.mini.phones import espeak_to_cmu
from speechbench.corpora.mini.plan import make_plan
from speechbench.corpora.mini import build
from speechbench.corpora.mini.build import chunks, run_forked
from speechbench.corpora.mini.render import make_babble, render_chunk
from speechbench.corpora.mini.timing import compute_timings, join_words


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


def test_rebuild_is_skipped_when_the_marker_matches(tiny_corpus, monkeypatch):
    marker = os.path.join(tiny_corpus, ".done")
    before = os.stat(marker).st_mtime_ns

    def no_synthesis(*args, **kwargs):
        raise AssertionError("a corpus with a matching marker was synthesised again")

    monkeypatch.setattr(build, "_synthesise", no_synthesis)
    assert prepare_mini(tiny_corpus, size="tiny", seed=0) == os.path.join(tiny_corpus, "data")
    assert os.stat(marker).st_mtime_ns == before
    with open(marker) as f:
        assert json.load(f) == {"size": "tiny", "seed": 0, "version": VERSION}


# The tiny corpus's tree hash per espeak-ng version (the engine's phonemes, timing and noise
# change between versions; nothing else on the machine may change the bytes).
PINNED_TINY = {"1.51": "f9078995e07aca27e2c511f3d858b0df4b13edaaaafd229847a918b0f01f49fd"}


def test_the_tiny_corpus_has_the_pinned_bytes(tiny_corpus):
    version = espeak.library_version()
    if version not in PINNED_TINY:
        pytest.skip(f"no pinned tree hash for espeak-ng {version} (pinned: {sorted(PINNED_TINY)})")
    assert _tree_hash(tiny_corpus) == PINNED_TINY[version]


def _speak_breathy(out: str, rand_calls: int = 0, seed: int | None = None) -> None:
    """In a forked child: draw from libc rand() as another library might, then synthesise
    with a voice whose breath noise comes from the engine's generator; save the samples."""
    libc = ctypes.CDLL(None)
    for _ in range(rand_calls):
        libc.rand()
    if seed is not None:
        espeak.noise_seed = lambda text, voice: seed
    synth = espeak.Engine.get().synthesize("the cat sat on the mat",
                                           Voice(name="en-us+f2", rate=160, pitch=50))
    np.save(out, synth.audio)


def test_engine_noise_does_not_depend_on_what_else_drew_from_libc_rand(tmp_path):
    paths = {k: str(tmp_path / f"{k}.npy") for k in ("clean", "drawn", "reseeded")}
    run_forked([("clean", lambda: _speak_breathy(paths["clean"])),
                ("drawn", lambda: _speak_breathy(paths["drawn"], rand_calls=24)),
                ("reseeded", lambda: _speak_breathy(paths["reseeded"], seed=12345))], nj=2)
    clean, drawn, reseeded = (np.load(p) for p in paths.values())
    assert np.array_equal(clean, drawn)
    assert len(reseeded) == len(clean) and not np.array_equal(reseeded, clean)


def _fresh_machine_env(root: str) -> dict:
    """The environment of a first build on a new machine: empty HOME and TMPDIR, no runtime
    dir, so that the sound library espeak-ng opens creates its directories (libpulse draws
    the name of its /tmp dir from libc rand())."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH", "PULSE_SERVER")}
    for sub in ("home", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    return {**env, "HOME": os.path.join(root, "home"), "TMPDIR": os.path.join(root, "tmp")}


@pytest.mark.slow
def test_a_first_build_on_a_fresh_machine_under_load_gives_the_same_files(tiny_corpus, tmp_path):
    """nj=2 in a fresh process, a CPU hog beside it, vs the in-process nj=1 session corpus."""
    other = str(tmp_path / "again")
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        subprocess.run([sys.executable, "-m", "speechbench.corpora.mini", "--size", "tiny",
                        "--out", other, "--nj", "2"], check=True, stdout=subprocess.DEVNULL,
                       env=_fresh_machine_env(str(tmp_path / "machine")))
    finally:
        hog.kill()
        hog.wait()
    assert _tree_hash(other) == _tree_hash(tiny_corpus)


@pytest.mark.slow
def test_a_killed_build_resumes_to_the_same_corpus(tiny_corpus, tmp_path):
    other = str(tmp_path / "killed")
    proc = subprocess.Popen([sys.executable, "-m", "speechbench.corpora.mini", "--size", "tiny",
                             "--out", other, "--nj", "2"], stderr=subprocess.DEVNULL,
                            env=_fresh_machine_env(str(tmp_path / "machine")))
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
