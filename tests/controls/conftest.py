"""Fixtures for the control runs: each task's data dirs in the tiny corpus, prepared as the recipes do."""
from __future__ import annotations

import os

import pytest

from speechbench.corpora import librimix, snips, speech_commands
from speechbench.corpora.mini import intents as intent_classes
from speechbench.corpora.mini.ks import prepare_mini_ks
from speechbench.corpora.mini.sd import prepare_mini_sd
from speechbench.corpora.mini.sf import prepare_mini_sf
from speechbench.data import trials
from speechbench.downstream._modules import units


def _units(text: str, unit: str, out: str) -> str:
    assert units.main(["--text", text, "--unit", unit, "--out-dir", out]) == 0
    return f",,config.downstream_expert.datarc.tokens={out}/tokens.txt"


def _task_data(task: str, corpus: str, work: str) -> tuple[str, str]:
    """``(dir holding train/dev/test, extra runner overrides)`` of ``task``, as its recipe's stage 1 makes them."""
    base = os.path.join(corpus, "data")
    subset = {"phone": "read", "pr": "read", "asr": "read", "speaker": "read", "emotion": "emotion",
              "intent": "intent", "qa": "qa"}
    if task in subset:
        data = os.path.join(base, subset[task])
        if task == "pr":
            return data, _units(f"{data}/train/text.phn", "token", os.path.join(work, "lang_phone"))
        if task == "asr":
            return data, _units(f"{data}/train/text", "char", os.path.join(work, "lang_char")) + \
                ",,config.downstream_expert.datarc.unit=char"
        if task == "intent":
            classes = os.path.join(work, "classes.yaml")
            assert intent_classes.main(["--out", classes]) == 0
            return data, f",,config.downstream_expert.datarc.classes={classes}"
        return data, ""
    data = os.path.join(work, "data")
    if task == "asv":
        assert trials.main(["--train", f"{base}/asv/train", "--out-train", f"{data}/train", "--out-dev",
                            f"{data}/dev", "--dev-speakers", "4", "--seed", "0"]) == 0
        os.symlink(f"{base}/asv/test", f"{data}/test")
        return data, ""
    if task == "ks":
        tree = prepare_mini_ks(os.path.join(work, "ks"), "tiny", seed=0, nj=1)
        assert speech_commands.main(["--db", tree, "--out", data]) == 0
        return data, ""
    if task == "sf":
        tree = prepare_mini_sf(os.path.join(work, "sf"), "tiny", seed=0, nj=1)
        assert snips.main(["--db", tree, "--out", data, "--train-speakers", "all",
                           "--valid-speakers", "all", "--test-speakers", "all"]) == 0
        return data, _units(f"{data}/train/text.slot", "char_slot", os.path.join(work, "lang_char_slot"))
    if task == "sd":
        mix = prepare_mini_sd(corpus, os.path.join(work, "sd"))
        assert librimix.main(["--db", f"{mix}/Libri2Mix/wav16k/max", "--rttm-dir", f"{mix}/metadata/LibriSpeech",
                              "--out", data, "--mix", "clean", "--splits", "train,dev,test"]) == 0
        return data, ""
    raise ValueError(f"no control data for task '{task}'")


@pytest.fixture
def task_data(tiny_corpus, tmp_path):
    """``task_data(task)``: its data dirs and overrides in this test's ``tmp_path``."""
    return lambda task: _task_data(task, tiny_corpus, str(tmp_path))
