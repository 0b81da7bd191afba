"""Stage 1 of the task recipes refuses a real corpus it cannot prepare, in one line, before any work."""
from __future__ import annotations

import pytest

from testutil import REPO

REAL_CORPORA = [("asr", "librispeech"), ("pr", "librispeech"), ("phone", "librispeech"), ("phone", "timit"),
                ("speaker", "voxceleb1"), ("asv", "voxceleb1"), ("emotion", "iemocap"),
                ("intent", "fluent_commands"), ("qa", "spoken_squad"), ("std", "quesst14")]


def _run(bash, task: str, tmp_path, *args: str):
    return bash(f"{REPO}/egs/{task}/run.sh", "--expdir", tmp_path / "exp", "--data-tag", "probe", *args,
                cwd=tmp_path)


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
