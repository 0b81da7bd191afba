"""Bad checkpoints, wrong families and bad input give errors that say what and which upstream."""
from __future__ import annotations

import argparse

import pytest
import torch

from speechbench.checkpoints.safe_load import CheckpointError
from speechbench.registry import expert_class


def _build(name: str, path: str):
    return expert_class("upstream", name)(ckpt=path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="APC checkpoint file not found"):
        _build("apc", str(tmp_path / "nope.ckpt"))


def test_truncated_file(apc_file, save):
    path = save(apc_file(), "apc.ckpt")
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        _build("apc", path)


@pytest.mark.parametrize("given,expected", [("apc", "vq_apc"), ("vq_apc", "apc"), ("npc", "apc"), ("apc", "npc")])
def test_other_family_is_named(given, expected, apc_file, npc_file, save):
    file = npc_file() if expected == "npc" else apc_file(vq=expected == "vq_apc")
    with pytest.raises(CheckpointError, match=f"looks like a {expected} checkpoint.*'{expected}' upstream"):
        _build(given, save(file, "x.ckpt"))


def test_tera_file_is_named_even_with_pickled_namespace(save):
    tera = {"Transformer": {"encoder.layer.0.attention.self.query.weight": torch.zeros(2, 2)},
            "SpecHead": {}, "Config": {}, "Args": argparse.Namespace(seed=1)}
    with pytest.raises(CheckpointError, match="(?s)argparse.Namespace.*'mockingjay', 'tera' or 'audio_albert' upstream"):
        _build("npc", save(tera, "tera.ckpt"))


def test_missing_and_unexpected_keys_are_listed(apc_file, save):
    file = apc_file()
    del file["model"]["rnn_layers.2.bias_hh_l0"]
    file["model"]["prenet.layers.0.weight"] = torch.zeros(3, 3)
    with pytest.raises(CheckpointError, match=r"weights look like apc\) does not match the model: missing keys: rnn_layers\.2\.bias_hh_l0.*unexpected keys: prenet"):
        _build("apc", save(file, "apc.ckpt"))


def test_config_disagreeing_with_weights(apc_file, save):
    file = apc_file(hidden=24)
    file["config"]["model"]["paras"]["hidden_size"] = 32
    with pytest.raises(CheckpointError, match=r"shape mismatches: postnet\.weight: file \(80, 24\) vs model \(80, 32\)"):
        _build("apc", save(file, "apc.ckpt"))


def test_not_the_official_layout(save):
    with pytest.raises(CheckpointError, match="expected a dict with 'config' and 'model'"):
        _build("apc", save({"state_dict": {}}, "x.ckpt"))
    with pytest.raises(CheckpointError, match=r"missing config\['model'\]\['paras'\]"):
        _build("npc", save({"config": {}, "model": {}}, "y.ckpt"))


def test_unknown_setting_in_config(apc_file, save):
    file = apc_file()
    file["config"]["model"]["paras"]["n_blocks"] = 4
    with pytest.raises(CheckpointError, match="unknown APC setting.*n_blocks"):
        _build("apc", save(file, "apc.ckpt"))


def test_options_conflicting_with_checkpoint(apc_file, save):
    with pytest.raises(TypeError, match="hidden_size only apply without a checkpoint"):
        expert_class("upstream", "apc")(ckpt=save(apc_file(), "apc.ckpt"), hidden_size=8)
    with pytest.raises(TypeError, match="unknown option.*n_blocks; known: config, num_layers, hidden_size"):
        expert_class("upstream", "apc")(n_blocks=3)
    with pytest.raises(ValueError, match="option hidden_size must be an integer"):
        expert_class("upstream", "npc")(hidden_size="big")
    with pytest.raises(ValueError, match="config file not found: /no/such.yaml"):
        expert_class("upstream", "npc")(config="/no/such.yaml")


def test_too_short_and_bad_shapes(apc_file, save):
    expert = _build("apc", save(apc_file(), "apc.ckpt"))
    with pytest.raises(ValueError, match="wav 1 has 300 samples; .* at least 560"):
        expert([torch.zeros(16000), torch.zeros(300)])
    with pytest.raises(ValueError, match="1-D"):
        expert([torch.zeros(2, 16000)])
    with pytest.raises(ValueError, match="empty batch"):
        expert([])
