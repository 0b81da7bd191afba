"""PASE+: the .cfg + FE_e199.ckpt pair loads strictly and matches pase's forward."""
from __future__ import annotations

import json
import math
import os

import pytest
import torch

from speechbench.checkpoints import CheckpointError
from speechbench.registry import expert_class
from speechbench.upstream.pase.model import ConfigError
from upstream_raw import layouts, reference

EXPECTED_FRAMES = [math.ceil(int(d * 16000) / 10) // 16 for d in layouts.DURATIONS]


@pytest.fixture(scope="module")
def pase_files(tmp_path_factory) -> tuple[str, str, dict, dict]:
    cfg = layouts.pase_config()
    state = layouts.pase_state(cfg)
    cfg_path, ckpt = layouts.save_pase(str(tmp_path_factory.mktemp("pase")), cfg, state)
    return cfg_path, ckpt, cfg, state


@pytest.fixture(scope="module")
def pase(pase_files):
    return expert_class("upstream", "pase")(ckpt=pase_files[1])


def test_shapes_frames_reference_and_batching(pase, pase_files):
    _, _, cfg, state = pase_files
    wavs = layouts.wavs()
    with torch.no_grad():
        out = pase(wavs)
        again = pase(wavs)
    assert EXPECTED_FRAMES == [100, 170, 230, 310]
    assert out["feature_lengths"].tolist() == EXPECTED_FRAMES
    assert len(out["hidden_states"]) == 9
    assert all(h.shape == (4, 310, 32) for h in out["hidden_states"])
    assert all(torch.equal(a, b) for a, b in zip(out["hidden_states"], again["hidden_states"]))
    for i in (0, 3):
        n = EXPECTED_FRAMES[i]
        with torch.no_grad():
            ref = reference.pase_forward(state, cfg, wavs[i])
            alone = pase([wavs[i]])
        for layer, r in enumerate(ref):
            assert r.shape[0] == n
            assert (out["hidden_states"][layer][i, :n] - r).abs().max() < 1e-4, f"utt {i} layer {layer}"
            assert torch.equal(out["hidden_states"][layer][i, :n], alone["hidden_states"][layer][0])


def test_bare_state_dict_and_explicit_config(pase, pase_files, tmp_path):
    cfg_path, _, cfg, state = pase_files
    _, bare = layouts.save_pase(str(tmp_path), cfg, state, bare=True, legacy=True)
    os.remove(tmp_path / "PASE+.cfg")
    with pytest.raises(ValueError, match="model_config=PATH"):
        expert_class("upstream", "pase")(ckpt=bare)
    other = expert_class("upstream", "pase")(ckpt=bare, model_config=cfg_path)
    wav = layouts.wavs()[:1]
    with torch.no_grad():
        assert torch.equal(other(wav)["last_hidden_state"], pase(wav)["last_hidden_state"])


def test_config_and_key_errors(pase_files, tmp_path):
    _, _, cfg, state = pase_files
    with open(tmp_path / "odd.cfg", "w") as f:
        json.dump({**cfg, "resblocks": True}, f)
    with pytest.raises(ConfigError, match="resblocks=True is not supported"):
        expert_class("upstream", "pase")(model_config=str(tmp_path / "odd.cfg"))
    gru_cfg = {**cfg, "rnn_type": "gru"}
    (tmp_path / "gru").mkdir()
    _, ckpt = layouts.save_pase(str(tmp_path / "gru"), gru_cfg, state)
    with pytest.raises(CheckpointError, match=r"missing keys: rnn\.bias_hh_l0.*unexpected keys: rnn\.layers\.0\.linear"):
        expert_class("upstream", "pase")(ckpt=ckpt)


def test_code_running_pickle_is_refused(pase_files, tmp_path):
    marker = str(tmp_path / "pwned")
    torch.save({"step": 199, "state_dict": layouts.RunsCode(marker)}, tmp_path / "FE_e199.ckpt")
    with pytest.raises(CheckpointError, match=r"refusing to load.*'(builtins\.)?exec'"):
        expert_class("upstream", "pase")(ckpt=str(tmp_path / "FE_e199.ckpt"), model_config=pase_files[0])
    assert not os.path.exists(marker)


def test_too_short_input_is_a_clear_error(pase):
    with pytest.raises(ValueError, match="pase: an utterance is too short"):
        pase([torch.zeros(100)])
