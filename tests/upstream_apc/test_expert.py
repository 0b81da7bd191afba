"""Shapes, padding independence, determinism and options of the apc / vq_apc / npc experts."""
from __future__ import annotations

import pytest
import torch

from speechbench.registry import expert_class
from speechbench.upstream._modules.apc_family import NPC


def _load(name: str, path: str):
    return expert_class("upstream", name)(ckpt=path).eval()


@pytest.mark.parametrize("name,vq", [("apc", False), ("vq_apc", True), ("npc", None)])
def test_padded_batch_equals_one_by_one(name, vq, apc_file, npc_file, save, wavs):
    file = npc_file() if name == "npc" else apc_file(vq=vq)
    expert = _load(name, save(file, f"{name}.ckpt"))
    with torch.no_grad():
        batch = expert(wavs)
        single = [expert([w]) for w in wavs]
    frames = [1 + (len(w) - 400) // 160 for w in wavs]
    assert batch["feature_lengths"].tolist() == frames
    assert expert.downsample_rate == 160
    for layer, h in enumerate(batch["hidden_states"]):
        assert h.shape[:2] == (len(wavs), max(frames))
        for b, n in enumerate(frames):
            alone = single[b]["hidden_states"][layer]
            assert alone.shape[1] == n
            assert torch.allclose(h[b, :n], alone[0], atol=1e-5), f"{name} layer {layer} utt {b}"
            assert not h[b, n:].any(), "padded frames must be zero"


def test_hidden_state_counts_and_sizes(apc_file, npc_file, save):
    apc = _load("apc", save(apc_file(hidden=24, layers=4), "a.ckpt"))
    npc = _load("npc", save(npc_file(hidden=16, blocks=3), "n.ckpt"))
    assert apc.hidden_sizes() == [24] * 4
    assert npc.hidden_sizes() == [16] * 7  # block, masked x 3, then the sum


def test_outputs_are_deterministic_across_loads(apc_file, save, wavs):
    path = save(apc_file(vq=True), "vq.ckpt")
    with torch.no_grad():
        a = _load("vq_apc", path)(wavs)["last_hidden_state"]
        b = _load("vq_apc", path)(wavs)["last_hidden_state"]
    assert torch.equal(a, b)


@pytest.mark.parametrize("name,layers,size", [("apc", 3, 512), ("vq_apc", 3, 512), ("npc", 9, 512)])
def test_random_init_is_the_released_architecture_and_seeded(name, layers, size):
    cls = expert_class("upstream", name)
    torch.manual_seed(0)
    first = cls().eval()
    torch.manual_seed(0)
    second = cls().eval()
    wav = [torch.sin(torch.arange(4000) * 0.05) * 0.3]
    with torch.no_grad():
        out1, out2 = first(wav), second(wav)
    assert len(out1["hidden_states"]) == layers
    assert out1["last_hidden_state"].shape == (1, 1 + (4000 - 400) // 160, size)
    assert torch.equal(out1["last_hidden_state"], out2["last_hidden_state"])


def test_small_options_and_string_values():
    expert = expert_class("upstream", "vq_apc")(num_layers="2", hidden_size="32", codebook_size="8")
    assert expert.hidden_sizes() == [32, 32]
    assert expert.config["model"]["paras"]["vq"] == {"codebook_size": [8], "code_dim": [32], "gumbel_temperature": 0.5}
    npc = expert_class("upstream", "npc")(n_blocks=2, hidden_size=16, kernel_size=9, mask_size=1)
    assert npc.hidden_sizes() == [16] * 5
    assert npc.config["model"]["paras"]["vq"]["code_dim"] == [4, 4, 4, 4]


def test_config_option_reads_a_pretraining_yaml(tmp_path):
    path = tmp_path / "conf.yaml"
    path.write_text("pretrain: {steps: 3}\nobjective:\n  data: {audio: {feat_type: fbank, feat_dim: 40}}\n"
                    "  model: {paras: {num_layers: 2, hidden_size: 8, dropout: 0.0, residual: false}}\n")
    expert = expert_class("upstream", "apc")(config=str(path))
    with torch.no_grad():
        out = expert([torch.randn(3200) * 0.1])
    assert [h.shape[-1] for h in out["hidden_states"]] == [8, 8]
    assert expert.fbank.feat_dim == 40


def test_npc_masked_centre_does_not_see_its_frames(npc_file):
    """The summed masked output at frame t ignores input frames t-1..t+1 (mask_size 3) but not t±2."""
    file = npc_file(mask=3)
    net = NPC(80, **file["config"]["model"]["paras"]).eval()
    net.load_state_dict(file["model"])
    feats = torch.randn(1, 40, 80)
    lengths = torch.tensor([40])
    t = 20
    with torch.no_grad():
        base = net(feats, lengths)[-1][0, t]
        for offset, should_change in ((-1, False), (0, False), (1, False), (2, True), (-2, True)):
            moved = feats.clone()
            moved[0, t + offset] += 3.0
            changed = net(moved, lengths)[-1][0, t]
            assert (changed - base).abs().max().item() > 1e-4 if should_change else torch.allclose(changed, base, atol=1e-6), offset
