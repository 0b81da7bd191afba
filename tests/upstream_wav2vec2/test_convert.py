"""tools/convert_checkpoint.py: official file -> pickle-free layout, same features after."""
from __future__ import annotations

import importlib.util
import json
import os

import pytest
import torch

from speechbench.upstream.hubert.expert import UpstreamExpert as HubertExpert
from speechbench.upstream.wav2vec2.expert import UpstreamExpert as Wav2Vec2Expert

TOOL = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "convert_checkpoint.py")


@pytest.fixture(scope="module")
def convert_main():
    spec = importlib.util.spec_from_file_location("convert_checkpoint", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.mark.parametrize("variant,layout", [("wav2vec2_base", "argparse"), ("wav2vec2_lv60", "finetuned_hydra"),
                                            ("hubert_large", "hydra_omegaconf"),
                                            ("wav2vec2_base", "finetuned_argparse")])
def test_round_trip_keeps_features(fx, make_checkpoint, convert_main, tmp_path, capsys, variant, layout):
    src = make_checkpoint(variant, layout)
    dst = tmp_path / "converted.pt"
    assert convert_main([src, str(dst)]) == 0
    assert "wrote" in capsys.readouterr().out
    plain = torch.load(dst, weights_only=True)  # no allow-list: only tensors and plain data
    assert {"task_cfg", "model_cfg", "model_weight"} <= set(plain)
    json.dumps(plain["task_cfg"]), json.dumps(plain["model_cfg"])
    assert ("dictionaries_symbols" in plain) == (layout == "hydra_omegaconf")
    cls = Wav2Vec2Expert if variant.startswith("wav2vec2") else HubertExpert
    wavs = [fx.wave(1.0), fx.wave(1.7, seed=1)]
    before, after = cls(src)(wavs), cls(str(dst))(wavs)
    for a, b in zip(before["hidden_states"], after["hidden_states"]):
        assert torch.equal(a, b)


def test_refuses_bad_input_with_exit_code(tmp_path, convert_main, capsys):
    (tmp_path / "junk.pt").write_bytes(b"junk")
    assert convert_main([str(tmp_path / "junk.pt"), str(tmp_path / "out.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "cannot read" in err and err.count("\n") == 1
    assert not (tmp_path / "out.pt").exists()


def test_trust_resaves_a_refused_file_as_plain_data(tmp_path, convert_main, capsys):
    """The refusal's advice holds: a trusted file the safe loader refuses (here protocol 4 with an
    argparse Namespace) converts with --trust into plain data that the safe loader reads."""
    import argparse

    from speechbench.checkpoints import CheckpointError, load_checkpoint
    src, dst = tmp_path / "trusted.pt", tmp_path / "plain.pt"
    torch.save({"config": argparse.Namespace(hidden=8, kind="apc"), "model": {"w": torch.arange(3.0)},
                "shape": (2, 3)}, src, pickle_protocol=4)
    with pytest.raises(CheckpointError, match=r"pickles 'argparse.Namespace'.*convert_checkpoint.py --trust"):
        load_checkpoint(src)
    assert convert_main([str(src), str(dst)]) == 2  # the default, safe mode cannot read it either
    assert "pickled with protocol 4" in capsys.readouterr().err and not dst.exists()
    assert convert_main(["--trust", str(src), str(dst)]) == 0
    plain = load_checkpoint(dst)
    assert plain["config"] == {"hidden": 8, "kind": "apc"} and plain["shape"] == [2, 3]
    assert torch.equal(plain["model"]["w"], torch.arange(3.0))
