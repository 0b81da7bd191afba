"""Keyword spotting: balanced seeded draws of _unknown_/_silence_, the dataset and config checks."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from speechbench.corpora.speech_commands import prepare_speech_commands
from speechbench.downstream.ks.expert import DownstreamExpert, KeywordDataset, balanced_draw
from speechbench.train.config import ConfigError
from tasks_ks_sf_sd.fake_trees import speech_commands_tree


def test_balanced_draw_keeps_keywords_and_matches_the_mean_keyword_class():
    classes = [0] * 5 + [1] * 3 + [2] * 10 + [3] * 2   # keywords 0/1 (mean 4), unknown 2, silence 3
    drawn = balanced_draw(classes, 2, np.random.default_rng(0))
    counts = Counter(classes[i] for i in drawn)
    assert counts == {0: 5, 1: 3, 2: 4, 3: 4}
    assert set(range(8)) <= set(drawn)                                   # every keyword item once
    assert len({i for i in drawn if classes[i] == 2}) == 4                # unknown: no repeats (pool of 10)
    assert {i for i in drawn if classes[i] == 3} == {18, 19}             # silence: pool of 2, with repeats
    assert drawn == balanced_draw(classes, 2, np.random.default_rng(0))  # seeded
    assert balanced_draw([0, 1, 0], 2, np.random.default_rng(0)) == [0, 1, 2]  # no pools: keywords only


@pytest.fixture(scope="module")
def ks_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ks")
    prepare_speech_commands(str(speech_commands_tree(root)), str(root / "data"))
    return root / "data"


def test_training_epochs_redraw_unknown_and_silence_deterministically(ks_data):
    ds = KeywordDataset(str(ks_data / "train"), "utt2label", ["yes", "no"], True, 0, "train")
    labels = [ds.targets[u] for u in ds.utts]
    assert Counter(labels)[0] == 2 and Counter(labels)[1] == 2            # keywords yes, no of aaaa0001
    assert Counter(labels)[2] == 2 and Counter(labels)[3] == 2            # bed -> _unknown_, silence windows
    epochs = []
    for epoch in (0, 1, 2, 3, 0):
        ds.set_epoch(epoch)
        epochs.append(list(ds.utts))
    assert epochs[0] == epochs[4] and len({tuple(e) for e in epochs}) > 1
    assert all(len(e) == len(epochs[0]) for e in epochs)
    item = ds[0]
    assert item[0] == ds.utts[0] and item[1].ndim == 1 and item[2] == ds.targets[ds.utts[0]]
    test = KeywordDataset(str(ks_data / "test"), "utt2label", ["yes", "no"], False, 0, "test")
    assert test.utts == test.all_utts                                     # the test set is scored as given


def _config(ks_data, **datarc):
    return {"datarc": {"train": str(ks_data / "train"), "dev": str(ks_data / "dev"), "test": str(ks_data / "test"),
                       **datarc}, "modelrc": {"projector_dim": 8}}


def test_expert_checks_its_config(ks_data, tmp_path):
    expert = DownstreamExpert(4, _config(ks_data, keywords=["yes", "no"]), str(tmp_path))
    assert expert.classes == ["yes", "no", "_unknown_", "_silence_"]
    with pytest.raises(ConfigError, match="quote yes/no/on/off"):
        DownstreamExpert(4, _config(ks_data, keywords=[True, False]), str(tmp_path))
    with pytest.raises(ConfigError, match="unknown keys in ks datarc"):
        DownstreamExpert(4, _config(ks_data, keyword=["yes"]), str(tmp_path))
    with pytest.raises(ConfigError, match="balance names unknown splits"):
        DownstreamExpert(4, _config(ks_data, balance=["tarin"]), str(tmp_path))
    with pytest.raises(ValueError, match="no clip of any keyword"):
        DownstreamExpert(4, _config(ks_data, keywords=["up"]), str(tmp_path))
