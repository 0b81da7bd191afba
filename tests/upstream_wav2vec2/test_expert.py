"""wav2vec 2.0 / HuBERT experts on hand-built checkpoints in every released layout."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from speechbench.checkpoints import CheckpointError
from speechbench.upstream.hubert.expert import UpstreamExpert as HubertExpert
from speechbench.upstream.wav2vec2.expert import UpstreamExpert as Wav2Vec2Expert
from speechbench.upstream.wav2vec2.model import parse_conv_layers

torch.set_num_threads(1)
DURATIONS = (1.0, 1.7, 2.3, 3.1)
FRAMES = (49, 84, 114, 154)  # 1 + (L - 400) // 320


def expert_for(variant: str, path: str):
    return (Wav2Vec2Expert if variant.startswith("wav2vec2") else HubertExpert)(path)


@pytest.fixture(scope="module")
def waves(fx):
    return [fx.wave(s, seed=i) for i, s in enumerate(DURATIONS)]


@pytest.mark.parametrize("variant", ["wav2vec2_base", "wav2vec2_lv60", "hubert_base", "hubert_large"])
def test_every_layout_gives_the_same_deterministic_features(fx, make_checkpoint, waves, variant):
    reference = None
    for layout in fx.LAYOUTS:
        model = expert_for(variant, make_checkpoint(variant, layout))
        assert model.downsample_rate == 320
        out = model(waves)
        assert len(out["hidden_states"]) == fx.LAYERS + 1
        assert out["feature_lengths"].tolist() == list(FRAMES)
        for h in out["hidden_states"]:
            assert h.shape == (4, max(FRAMES), fx.EMBED)
            assert torch.isfinite(h).all()
        again = model(waves)
        assert all(torch.equal(a, b) for a, b in zip(out["hidden_states"], again["hidden_states"]))
        if reference is None:
            reference = out
        else:  # fine-tuned, converted and both eras hold the same encoder weights
            for a, b in zip(reference["hidden_states"], out["hidden_states"]):
                torch.testing.assert_close(a, b, rtol=0, atol=0)
    hs = reference["hidden_states"]
    assert not torch.allclose(hs[0], hs[1]), "layers must transform their input"


@pytest.mark.parametrize("variant", ["wav2vec2_base", "wav2vec2_lv60", "hubert_base", "hubert_large"])
def test_batched_equals_one_by_one(fx, make_checkpoint, waves, variant):
    model = expert_for(variant, make_checkpoint(variant, "hydra"))
    batched = model(waves)
    for i, w in enumerate(waves):
        alone = model([w])
        n = FRAMES[i]
        assert alone["feature_lengths"].tolist() == [n]
        for hb, ha in zip(batched["hidden_states"], alone["hidden_states"]):
            torch.testing.assert_close(hb[i, :n], ha[0], rtol=0, atol=1e-5)
            assert hb[i, n:].abs().max() == 0 if n < hb.shape[1] else True


def _ln(x, sd, prefix):
    return F.layer_norm(x, x.shape[-1:], sd[f"{prefix}.weight"], sd[f"{prefix}.bias"], 1e-5)


def _lin(x, sd, prefix):
    return F.linear(x, sd[f"{prefix}.weight"], sd[f"{prefix}.bias"])


def reference_forward(fx, sd: dict, variant: str, wav: torch.Tensor) -> list[torch.Tensor]:
    """fairseq's Wav2Vec2Model/HubertModel feature path for one utterance, written from scratch."""
    _, mode, ln_first, _, normalize = fx.VARIANTS[variant]
    x = wav
    if normalize:
        x = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-5)
    x = x[None, None]
    for i, (c, _, stride) in enumerate(parse_conv_layers(fx.CONV)):
        p = f"feature_extractor.conv_layers.{i}"
        x = F.conv1d(x, sd[f"{p}.0.weight"], sd.get(f"{p}.0.bias"), stride=stride)
        if mode == "default" and i == 0:
            x = F.group_norm(x, c, sd[f"{p}.2.weight"], sd[f"{p}.2.bias"], 1e-5)
        if mode == "layer_norm":
            x = _ln(x.transpose(1, 2), sd, f"{p}.2.1").transpose(1, 2)
        x = F.gelu(x)
    x = _lin(_ln(x.transpose(1, 2), sd, "layer_norm"), sd, "post_extract_proj")
    v, g = sd["encoder.pos_conv.0.weight_v"], sd["encoder.pos_conv.0.weight_g"]
    weight = g * v / v.norm(dim=(0, 1), keepdim=True)  # weight_norm with dim=2
    pos = F.conv1d(x.transpose(1, 2), weight, sd["encoder.pos_conv.0.bias"], padding=fx.POS_K // 2, groups=fx.POS_G)
    pos = pos[..., :-1] if fx.POS_K % 2 == 0 else pos
    x = x + F.gelu(pos).transpose(1, 2)
    if not ln_first:
        x = _ln(x, sd, "encoder.layer_norm")
    hidden = []
    heads, dim = fx.HEADS, fx.EMBED // fx.HEADS
    for i in range(fx.LAYERS):
        p = f"encoder.layers.{i}"
        hidden.append(x)

        def attention(y):
            t = y.shape[1]
            q = _lin(y, sd, f"{p}.self_attn.q_proj").view(t, heads, dim).transpose(0, 1) * dim ** -0.5
            k = _lin(y, sd, f"{p}.self_attn.k_proj").view(t, heads, dim).transpose(0, 1)
            v_ = _lin(y, sd, f"{p}.self_attn.v_proj").view(t, heads, dim).transpose(0, 1)
            ctx = torch.softmax(q @ k.transpose(1, 2), dim=-1) @ v_
            return _lin(ctx.transpose(0, 1).reshape(1, t, heads * dim), sd, f"{p}.self_attn.out_proj")

        def ffn(y):
            return _lin(F.gelu(_lin(y, sd, f"{p}.fc1")), sd, f"{p}.fc2")

        if ln_first:
            x = x + attention(_ln(x, sd, f"{p}.self_attn_layer_norm"))
            x = x + ffn(_ln(x, sd, f"{p}.final_layer_norm"))
        else:
            x = _ln(x + attention(x), sd, f"{p}.self_attn_layer_norm")
            x = _ln(x + ffn(x), sd, f"{p}.final_layer_norm")
    if ln_first:
        x = _ln(x, sd, "encoder.layer_norm")
    hidden.append(x)
    return hidden


@pytest.mark.parametrize("variant", ["wav2vec2_base", "wav2vec2_lv60", "hubert_large"])
def test_matches_an_independent_fairseq_style_forward(fx, make_checkpoint, waves, variant):
    model = expert_for(variant, make_checkpoint(variant, "argparse"))
    sd = fx.fairseq_state(variant)
    for wav in waves[:2]:
        ours = model([wav])["hidden_states"]
        ref = reference_forward(fx, sd, variant, wav)
        assert len(ours) == len(ref)
        for a, b in zip(ours, ref):
            assert (a - b).abs().max().item() <= 1e-4


def test_normalize_is_honoured(fx, make_checkpoint, waves, tmp_path):
    """LV-60 style files normalise each waveform: a louder copy gives the same features."""
    lv60 = expert_for("wav2vec2_lv60", make_checkpoint("wav2vec2_lv60", "hydra"))
    assert lv60.config.normalize is True
    a, b = lv60([waves[0]]), lv60([waves[0] * 3.0 + 0.1])
    # (layer_norm's eps=1e-5 makes the two differ by ~1e-4)
    torch.testing.assert_close(a["last_hidden_state"], b["last_hidden_state"], rtol=0, atol=1e-3)
    obj = fx.checkpoint_object("wav2vec2_lv60", "converted")
    obj["task_cfg"]["normalize"] = False
    torch.save(obj, tmp_path / "unnormalised.pt")
    raw = Wav2Vec2Expert(str(tmp_path / "unnormalised.pt"))
    c, d = raw([waves[0]]), raw([waves[0] * 3.0 + 0.1])
    assert (c["last_hidden_state"] - d["last_hidden_state"]).abs().max() > 1e-2


def test_random_base_model_without_checkpoint():
    model = Wav2Vec2Expert()
    out = model([torch.zeros(16000)])
    assert len(out["hidden_states"]) == 13 and out["last_hidden_state"].shape == (1, 49, 768)


def test_refuses_too_short_input(make_checkpoint):
    model = expert_for("wav2vec2_base", make_checkpoint("wav2vec2_base", "hydra"))
    with pytest.raises(ValueError, match=r"at least 400 samples.*wav 1 \(399 samples\)"):
        model([torch.zeros(500), torch.zeros(399)])


def test_wrong_family_names_the_right_upstream(make_checkpoint):
    with pytest.raises(CheckpointError, match="-u hubert"):
        Wav2Vec2Expert(make_checkpoint("hubert_base", "hydra"))
    with pytest.raises(CheckpointError, match="-u wav2vec2"):
        HubertExpert(make_checkpoint("wav2vec2_base", "converted"))


def test_mismatched_weights_are_named(fx, tmp_path):
    obj = fx.checkpoint_object("wav2vec2_base", "converted")
    del obj["model_weight"]["encoder.layers.1.fc1.bias"]
    obj["model_weight"]["encoder.layers.0.fc2.weight"] = torch.zeros(3, 3)
    path = tmp_path / "broken.pt"
    torch.save(obj, path)
    with pytest.raises(CheckpointError, match=r"missing keys: encoder\.transformer\.layers\.1\.feed_forward"
                                              r"\.intermediate_dense\.bias.*shape mismatches"):
        Wav2Vec2Expert(str(path))


def test_unsupported_variant_is_refused(fx, tmp_path):
    obj = fx.checkpoint_object("wav2vec2_base", "converted")
    obj["model_cfg"]["layer_type"] = "conformer"
    torch.save(obj, tmp_path / "conformer.pt")
    with pytest.raises(CheckpointError, match="layer_type=conformer"):
        Wav2Vec2Expert(str(tmp_path / "conformer.pt"))


def test_conv_layer_spec_is_parsed_without_eval():
    assert parse_conv_layers("[(512, 10, 5)] + [(512, 3, 2)] * 2") == [(512, 10, 5), (512, 3, 2), (512, 3, 2)]
    with pytest.raises(CheckpointError, match="conv_feature_layers"):
        parse_conv_layers("__import__('os').system('true')")
    with pytest.raises(CheckpointError, match="repeat counts"):
        parse_conv_layers("[(512, 3, 2)] * 1000000000000")
    frames = [1 + (round(s * 16000) - 400) // 320 for s in DURATIONS]
    assert frames == list(FRAMES) and math.prod(s for _, _, s in parse_conv_layers(
        "[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2")) == 320
