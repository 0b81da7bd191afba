"""Stage 1 of the task recipes refuses a real corpus it cannot prepare, in one line, before any work."""
from __future__ import annotations

import os
import shutil

import pytest

from testutil import REPO

REAL_CORPORA = [("asr", "librispeech"), ("pr", "librispeech"), ("phone", "librispeech"), ("phone", "timit"),
                ("speaker", "voxceleb1"), ("asv", "voxceleb1"), ("emotion", "iemocap"),
                ("intent", "fluent_commands"), ("qa", "spoken_squad"), ("std", "quesst14")]


def _run(bash, task: str, tmp_path, *args: str):
    tag = f"probe_{os.getpid()}"
    try:
        return bash(f"{REPO}/egs/{task}/run.sh", "--expdir", tmp_path / "exp", "--data-tag", tag, *args,
                    cwd=tmp_path)
    finally:
        shutil.rmtree(os.path.join(REPO, "egs", task, "data", tag), ignore_errors=True)


@pytest.mark.parametrize("task,corpus", REAL_CORPORA)
def test_a_real_corpus_without_db_says_db_is_required(bash, tmp_path, task, corpus):
    out = _run(bash, task, tmp_path, "--corpus", corpus)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last == f"{REPO}/egs/{task}/run.sh: --corpus {corpus} needs --db, the {corpus} root directory"
    assert not (tmp_path / "exp" / ".done").exists()


def test_a_db_that_is_not_a_directory_is_named(bash, tmp_path):
    out = _run(bash, "speaker", tmp_path, "--corpus", "voxceleb1", "--db", tmp_path / "nowhere")
    assert out.returncode != 0
    assert f"--db '{tmp_path}/nowhere' is not a directory; point it at the voxceleb1 root" in out.stderr


def test_an_unknown_corpus_lists_the_known_ones(bash, tmp_path):
    out = _run(bash, "phone", tmp_path, "--corpus", "librispeach", "--db", tmp_path)
    assert out.returncode != 0
    assert "--corpus must be one of: mini librispeech timit (or give your own data dirs, see --help)" in out.stderr


def test_phone_on_librispeech_without_alignments_fails_in_stage_1(bash, tmp_path):
    out = _run(bash, "phone", tmp_path, "--corpus", "librispeech", "--db", tmp_path)
    assert out.returncode != 0
    assert "--corpus librispeech needs --alignments, the MFA TextGrid dir (the frame labels)" in out.stderr
    assert not (tmp_path / "exp" / ".done").exists()


def _speaker_dirs(root, broken: str) -> list[str]:
    """train/dev/test data dirs of two speakers; the train dir's first file is ``broken``."""
    import numpy as np
    import soundfile

    from speechbench.data.kaldi_dir import write_kv

    args = []
    for name in ("train", "dev", "test"):
        d = root / name
        d.mkdir(parents=True)
        wavs = {}
        (root / "audio" / name).mkdir(parents=True)
        for utt in ("s1-a", "s2-b"):
            wavs[utt] = str(root / "audio" / name / f"{utt}.wav")
            soundfile.write(wavs[utt], np.full(8000, 0.1, dtype=np.float32), 16000, subtype="FLOAT")
        write_kv(d / "wav.scp", wavs)
        write_kv(d / "utt2spk", {u: u.split("-")[0] for u in wavs})
        args += [f"--{name}-dir", str(d)]
    bad = root / "audio" / "train" / "s1-a.wav"
    if broken == "header_only":
        soundfile.write(bad, np.zeros(0, dtype=np.float32), 16000)
    else:
        samples = np.full(8000, 0.1, dtype=np.float32)
        samples[10] = np.nan
        soundfile.write(bad, samples, 16000, subtype="FLOAT")
    return args


@pytest.mark.parametrize("broken,reason", [("header_only", "audio is empty (0 samples)"),
                                           ("nan", "audio contains NaN/Inf samples")])
def test_unusable_audio_stops_the_recipe_in_stage_1(bash, tmp_path, broken, reason):
    out = _run(bash, "speaker", tmp_path, *_speaker_dirs(tmp_path / "data", broken))
    assert out.returncode != 0
    assert f"ERROR wav.scp:1: audio of 's1-a' is unusable: {reason}: {tmp_path}/data/audio/train/s1-a.wav" in out.stdout
    assert "/train: 1 errors, 0 warnings" in out.stdout
    assert "stage 1: data dirs for speaker from your data dirs" in out.stderr
    assert "stage 1: done" not in out.stderr and "stage 2" not in out.stderr


@pytest.mark.parametrize("task,dirs", [("speaker", ["--train-dir", "t", "--dev-dir", "d", "--test-dir", "e"]),
                                       ("std", ["--docs-dir", "t", "--dev-dir", "d", "--eval-dir", "e"])])
def test_own_data_dirs_skip_the_mini_corpus(bash, tmp_path, task, dirs):
    out = _run(bash, task, tmp_path, *dirs, "--stop-stage", "0")
    assert out.returncode == 0, out.stderr
    assert "stage 0" not in out.stderr
