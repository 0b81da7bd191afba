"""The task corpora made from the mini corpus: plans, layouts and byte-for-byte determinism."""
from __future__ import annotations

import hashlib
import os
from collections import Counter

import pytest

from speechbench.corpora.mini.ks import KEYWORDS, make_ks_plan
from speechbench.corpora.mini.sd import prepare_mini_sd
from speechbench.corpora.mini.sf import make_sf_plan, prepare_mini_sf
from speechbench.corpora.snips import parse_line


def tree_hash(root: str) -> str:
    """sha256 over every file's relative path and bytes (markers included)."""
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, root).encode() + b"\0")
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


def test_keyword_plan_splits_by_speaker_in_the_speech_commands_layout():
    plan, words, files = make_ks_plan("tiny", 0)
    speakers = {split: {plan.utts[u].speaker.spk_id for u in utts} for split, utts in plan.sets.items()}
    assert len(speakers["train"]) == 8 and len(speakers["dev"]) == 2 and len(speakers["test"]) == 2
    assert not (speakers["train"] & speakers["dev"]) and not (speakers["dev"] & speakers["test"])
    for spk in speakers["train"]:
        said = Counter(w for u, w in words.items() if plan.utts[u].speaker.spk_id == spk)
        assert all(said[k] == 1 for k in KEYWORDS) and sum(said.values()) == 12
    assert len(set(files.values())) == len(files)
    assert all(files[u] == f"{w}/{plan.utts[u].speaker.spk_id}_nohash_0.wav" for u, w in words.items())
    assert make_ks_plan("tiny", 0)[2] == files and make_ks_plan("tiny", 1)[2] != files


def test_slot_plan_lines_read_back_with_their_slots():
    plan, lines = make_sf_plan("mini", 0)
    types = Counter()
    for utt, line in lines.items():
        parsed, words, kinds = parse_line(line, "plan")
        assert parsed == utt and [w.lower() for w in words] == list(plan.utts[utt].words)
        types.update(k for k in kinds if k != "O")
    assert set(types) == {"object", "language", "location", "person", "time"}
    assert Counter(u.split("-")[2] for u in lines) == {"train": 800, "valid": 100, "test": 100}


@pytest.mark.slow
def test_slot_corpus_bytes_do_not_depend_on_nj(tmp_path):
    one = prepare_mini_sf(str(tmp_path / "nj1"), "tiny", seed=0, nj=1)
    two = prepare_mini_sf(str(tmp_path / "nj2"), "tiny", seed=0, nj=2)
    assert tree_hash(one) == tree_hash(two)
    assert len(os.listdir(os.path.join(one, "train"))) == 24


@pytest.mark.slow
def test_mixtures_are_deterministic_and_rebuilt_only_when_asked(tiny_corpus, tmp_path):
    a = prepare_mini_sd(tiny_corpus, str(tmp_path / "a"))
    b = prepare_mini_sd(tiny_corpus, str(tmp_path / "b"))
    assert tree_hash(os.path.join(a, "Libri2Mix")) == tree_hash(os.path.join(b, "Libri2Mix"))
    assert tree_hash(os.path.join(a, "metadata")) == tree_hash(os.path.join(b, "metadata"))
    stamp = os.path.getmtime(os.path.join(a, ".done"))
    prepare_mini_sd(tiny_corpus, str(tmp_path / "a"))  # same parameters: nothing to do
    assert os.path.getmtime(os.path.join(a, ".done")) == stamp
    c = prepare_mini_sd(tiny_corpus, str(tmp_path / "c"), seed=1)
    assert tree_hash(os.path.join(c, "Libri2Mix")) != tree_hash(os.path.join(a, "Libri2Mix"))
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        prepare_mini_sd(tiny_corpus, str(tmp_path / "foreign"))
