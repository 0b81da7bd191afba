"""CPC: CPC_audio files load strictly and match CPC_audio's forward, batched or not."""
from __future__ import annotations

import json
import os

import pytest
import torch

from speechbench.checkpoints import CheckpointError
from speechbench.registry import expert_class
from upstream_raw import layouts, reference

EXPECTED_FRAMES = [int(d * 16000) // 160 for d in layouts.DURATIONS]


@pytest.fixture(scope="module")
def cpc_file(tmp_path_factory) -> tuple[str, dict]:
    state = layouts.cpc_state()
    path = str(tmp_path_factory.mktemp("cpc") / "60k_epoch4-d0f474de.pt")
    torch.save({"config": layouts.cpc_config(), "weights": state}, path)
    return path, state


@pytest.fixture(scope="module")
def cpc(cpc_file):
    return expert_class("upstream", "cpc")(ckpt=cpc_file[0])


def test_shapes_frames_determinism_and_reference(cpc, cpc_file):
    wavs = layouts.wavs()
    with torch.no_grad():
        out = cpc(wavs)
        again = cpc(wavs)
    assert EXPECTED_FRAMES == [100, 170, 230, 310]
    assert out["feature_lengths"].tolist() == EXPECTED_FRAMES
    assert [tuple(h.shape) for h in out["hidden_states"]] == [(4, 310, 32), (4, 310, 24)]
    assert all(torch.equal(a, b) for a, b in zip(out["hidden_states"], again["hidden_states"]))
    for i, wav in enumerate(wavs):
        n = EXPECTED_FRAMES[i]
        with torch.no_grad():
            ref = reference.cpc_forward(cpc_file[1], wav)
            alone = cpc([wav])
        for layer in range(2):
            assert (out["hidden_states"][layer][i, :n] - ref[layer]).abs().max() < 1e-4, f"utt {i} layer {layer}"
            assert (out["hidden_states"][layer][i, :n] - alone["hidden_states"][layer][0]).abs().max() < 1e-5


def test_training_checkpoint_with_args_json(cpc, cpc_file, tmp_path):
    torch.save({"gEncoder": cpc_file[1], "cpcCriterion": {"wPrediction.0.weight": torch.zeros(2, 2)},
                "optimizer": {"state": {}, "param_groups": [{"lr": 2e-4, "params": [0, 1]}]},
                "best": {"gEncoder.conv0.weight": torch.zeros(1)}}, tmp_path / "checkpoint_30.pt")
    with open(tmp_path / "checkpoint_args.json", "w") as f:
        json.dump(layouts.cpc_config(), f)
    other = expert_class("upstream", "cpc")(ckpt=str(tmp_path / "checkpoint_30.pt"))
    wav = layouts.wavs()[:1]
    with torch.no_grad():
        assert torch.equal(other(wav)["last_hidden_state"], cpc(wav)["last_hidden_state"])
    os.remove(tmp_path / "checkpoint_args.json")
    with pytest.raises(CheckpointError, match="needs its checkpoint_args.json"):
        expert_class("upstream", "cpc")(ckpt=str(tmp_path / "checkpoint_30.pt"))


def test_strict_loading_and_config_mismatch(tmp_path):
    state = layouts.cpc_state()
    state["gAR.wPrediction.weight"] = torch.zeros(2)
    torch.save({"config": layouts.cpc_config(), "weights": state}, tmp_path / "extra.pt")
    with pytest.raises(CheckpointError, match=r"unexpected keys: gAR\.wPrediction\.weight"):
        expert_class("upstream", "cpc")(ckpt=str(tmp_path / "extra.pt"))
    torch.save({"config": {**layouts.cpc_config(), "hiddenGar": 256}, "weights": layouts.cpc_state()},
               tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match=r"shape mismatches: gAR\.baseNet\.bias_hh_l0: file \(96,\) vs model \(1024,\)"):
        expert_class("upstream", "cpc")(ckpt=str(tmp_path / "mismatch.pt"))


def test_code_running_pickle_is_refused(tmp_path):
    marker = str(tmp_path / "pwned")
    torch.save({"config": layouts.RunsCode(marker), "weights": {}}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match=r"refusing to load.*'(builtins\.)?exec'"):
        expert_class("upstream", "cpc")(ckpt=str(tmp_path / "evil.pt"))
    assert not os.path.exists(marker)
