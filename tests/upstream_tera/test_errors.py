"""Bad files and bad input fail with messages that name the problem."""
from __future__ import annotations

import pytest
import torch

from speechbench.checkpoints.safe_load import CheckpointError
from speechbench.upstream.audio_albert.expert import UpstreamExpert as AlbertExpert
from speechbench.upstream.tera.expert import UpstreamExpert as TeraExpert
from upstream_tera import mr_reference as ref

SMALL = {"hidden_size": 32, "num_layers": 1, "num_heads": 4, "intermediate_size": 64}


class Unexpected:
    """A class no official file pickles."""


def _file(tmp_path, cfg=None, state=None, **kw):
    cfg = cfg or ref.model_config()
    path = tmp_path / "states.ckpt"
    ref.save_official(path, cfg, state if state is not None else ref.transformer_state(cfg, 80), **kw)
    return str(path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        TeraExpert(ckpt=str(tmp_path / "nope.ckpt"))


def test_unknown_pickled_class_is_refused(tmp_path):
    path = _file(tmp_path, extra={"Runner_state": Unexpected()})
    with pytest.raises(CheckpointError, match="Unexpected"):
        TeraExpert(ckpt=path)


def test_no_model_config(tmp_path):
    path = tmp_path / "x.ckpt"
    torch.save({"Config": {"runner": {}}, "Transformer": {}}, path)
    with pytest.raises(CheckpointError, match="no MODEL config"):
        TeraExpert(ckpt=str(path))


def test_2019_settings_layout(tmp_path):
    path = tmp_path / "old.ckpt"
    torch.save({"Settings": {"Config": {}}, "Transformer": {}}, path)
    with pytest.raises(CheckpointError, match="2019"):
        TeraExpert(ckpt=str(path))


def test_mismatched_weights_name_the_keys(tmp_path):
    cfg = ref.model_config()
    state = ref.transformer_state(cfg, 80)
    state["input_representations.spec_transform.weight"] = torch.zeros(32, 40)
    del state["encoder.layer.1.output.dense.bias"]
    with pytest.raises(CheckpointError, match=r"spec_transform.weight: file \(32, 40\) vs model \(32, 80\)") as err:
        TeraExpert(ckpt=_file(tmp_path, cfg, state))
    assert "encoder.layer.1.output.dense.bias" in str(err.value)


def test_share_layer_with_distinct_layers(tmp_path):
    cfg = ref.model_config(share=True)
    state = ref.transformer_state(ref.model_config(), 80)  # two different layers
    with pytest.raises(CheckpointError, match="share_layer is set but encoder.layer.1"):
        AlbertExpert(ckpt=_file(tmp_path, cfg, state))


def test_bad_transformer_config(tmp_path):
    cfg = ref.model_config()
    cfg["transformer"]["num_attention_heads"] = 5
    with pytest.raises(CheckpointError, match="not a multiple of num_attention_heads"):
        TeraExpert(ckpt=_file(tmp_path, cfg, ref.transformer_state(ref.model_config(), 80)))


def test_unsupported_feature_type(tmp_path):
    cfg = ref.model_config()
    cfg["audio"]["input"]["feat_type"] = "phase"
    with pytest.raises(CheckpointError, match="feat_type 'phase'"):
        TeraExpert(ckpt=_file(tmp_path, cfg))


def test_unknown_or_malformed_option():
    with pytest.raises(TypeError, match="unknown options"):
        TeraExpert(hidden_sizes=3)
    with pytest.raises(ValueError, match="num_layers='two' must be an integer"):
        TeraExpert(num_layers="two")
    assert len(TeraExpert(hidden_size="32", num_layers="1", num_heads="4", intermediate_size="64").hidden_sizes()) == 2


def test_options_cannot_resize_a_checkpoint(tmp_path):
    with pytest.raises(TypeError, match="cannot change the architecture"):
        TeraExpert(ckpt=_file(tmp_path), hidden_size=64)


def test_bad_wavs():
    model = TeraExpert(**SMALL)
    with pytest.raises(ValueError, match="needs at least 201"):
        model([torch.zeros(16000), torch.zeros(100)])
    with pytest.raises(ValueError, match="1-D"):
        model([torch.zeros(2, 16000)])
    with pytest.raises(ValueError, match="empty batch"):
        model([])


def test_silence_gives_finite_features():
    out = TeraExpert(**SMALL).eval()([torch.zeros(8000)])
    assert all(torch.isfinite(h).all() for h in out["hidden_states"])
