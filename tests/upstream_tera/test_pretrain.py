"""Masked reconstruction pretraining: the alterations, the loss, and the official file it writes."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from speechbench.pretrain.loop import pretrain
from speechbench.pretrain.masked_reconstruction import MaskConfig, alter, build
from speechbench.upstream.audio_albert.expert import UpstreamExpert as AlbertExpert
from speechbench.upstream.mockingjay.expert import UpstreamExpert as MockingjayExpert
from speechbench.upstream.tera.expert import UpstreamExpert as TeraExpert
from upstream_tera import mr_reference as ref

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64}


def _feats(lengths, dim=80, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, dim, generator=g) + 5 for n in lengths]  # +5: no frame is zero by chance


def test_time_masking_spans_and_80_10_10_policy():
    torch.manual_seed(0)
    cfg = MaskConfig(mask_proportion=0.15, mask_consecutive_min=7, mask_consecutive_max=7)
    outcomes = {"zero": 0, "replaced": 0, "kept": 0}
    for _ in range(600):
        x = _feats([300])
        altered, label, target, lengths = alter(x, x, cfg)
        frames = label[0].all(-1)
        assert torch.equal(label[0].any(-1), frames)  # whole frames, every channel
        n_frames = int(frames.sum())
        assert 7 <= n_frames <= round(300 * 0.15 / 7) * 7  # 6 spans of 7, overlaps allowed
        starts = torch.nonzero(frames[1:] & ~frames[:-1]).flatten() + 1
        runs = torch.diff(torch.cat([starts, torch.tensor([300])]))
        changed = (altered[0] != x[0]).any(-1)
        assert not changed[~frames].any(), "only chosen spans may change"
        assert torch.equal(target[0], x[0])
        if (altered[0][frames] == 0).all():
            outcomes["zero"] += 1
        elif changed.any():
            outcomes["replaced"] += 1
        else:
            outcomes["kept"] += 1
        assert len(runs) >= 1
    assert 0.75 <= outcomes["zero"] / 600 <= 0.85
    assert 0.06 <= outcomes["replaced"] / 600 <= 0.14
    assert 0.06 <= outcomes["kept"] / 600 <= 0.14


def test_span_lengths_are_multiples_of_the_consecutive_setting():
    torch.manual_seed(1)
    cfg = MaskConfig(mask_proportion=0.15, mask_consecutive_min=7, mask_consecutive_max=7, mask_allow_overlap=False)
    for _ in range(50):
        x = _feats([400])
        _, label, _, _ = alter(x, x, cfg)
        frames = label[0, :, 0].int()
        edges = torch.diff(torch.cat([torch.tensor([0]), frames, torch.tensor([0])]))
        runs = torch.nonzero(edges == -1).flatten() - torch.nonzero(edges == 1).flatten()
        assert runs.numel() == round(400 * 0.15 / 7) and (runs == 7).all()  # bucketed: spans never touch


def test_frequency_band_and_padding():
    torch.manual_seed(2)
    cfg = MaskConfig(mask_proportion=0.0, mask_frequency=0.2)
    widths = set()
    for _ in range(100):
        x = _feats([120, 80])
        altered, label, _, lengths = alter(x, x, cfg)
        for b, n in enumerate(lengths.tolist()):
            band = label[b, 0]
            widths.add(int(band.sum()))
            assert torch.equal(label[b, :n], band.expand(n, -1)), "same band on every valid frame"
            assert not label[b, n:].any(), "no loss on padding"
            assert (altered[b, :n][:, band] == 0).all() and torch.equal(altered[b, :n][:, ~band], x[b][:, ~band])
    assert max(widths) == 16 and min(widths) == 0  # int(80 * 0.2)


def test_magnitude_noise_on_valid_frames_only():
    torch.manual_seed(3)
    cfg = MaskConfig(mask_proportion=0.0, mask_frequency=0.1, noise_proportion=1.0)
    x = _feats([400, 200])
    altered, label, _, _ = alter(x, x, cfg)
    noise = (altered[0] - x[0])[~label[0]]
    assert abs(float(noise.std()) - 0.2) < 0.01
    assert not altered[1, 200:].any()


def test_mask_config_errors():
    with pytest.raises(ValueError, match="nothing to reconstruct"):
        MaskConfig.from_task({"mask_proportion": 0, "mask_frequency": 0})
    with pytest.raises(ValueError, match="same dimension"):
        alter(_feats([50]), _feats([50], dim=201), MaskConfig(mask_frequency=0.2))
    with pytest.raises(ValueError, match="same dimension"):  # Mockingjay's linear target vs mel input
        build("mockingjay", {"task": {"mask_frequency": 0.2}}, TeraExpert.DEFAULT_MODEL_CONFIG | {
            "audio": {**TeraExpert.DEFAULT_MODEL_CONFIG["audio"], "target": {"feat_type": "linear", "log": True}}})
    with pytest.raises(ValueError, match="unknown key"):
        build("tera", {"transformers": {}}, TeraExpert.DEFAULT_MODEL_CONFIG)


def test_loss_falls_when_fitting_one_batch():
    torch.manual_seed(4)
    objective = build("tera", {"transformer": TINY}, TeraExpert.DEFAULT_MODEL_CONFIG)
    optimizer = torch.optim.Adam(objective.parameters(), lr=3e-3)
    t = torch.arange(6000) / 16000
    wavs = [0.1 * torch.sin(2 * torch.pi * 300 * t) * (1 + torch.sin(2 * torch.pi * 4 * t)),
            0.1 * torch.sin(2 * torch.pi * 1200 * t[:5000])]  # smooth spectra: masked frames are predictable
    losses = []
    for _ in range(40):
        loss, stats = objective.loss(wavs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert 0 < stats["altered_frac"] < 1
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


@pytest.mark.parametrize("name,expert,extra", [("tera", TeraExpert, {}),
                                               ("audio_albert", AlbertExpert, {"pre_layer_norm": True})])
def test_written_file_is_s3prl_generation_c_and_loads(tmp_path, name, expert, extra):
    torch.manual_seed(6)
    objective = build(name, {"transformer": {**TINY, **extra}}, expert.DEFAULT_MODEL_CONFIG).eval()
    objective.make_optimizer(1e-3, 10)
    path = tmp_path / "states-10.ckpt"
    torch.save(objective.official_checkpoint(), path)

    file = torch.load(path, weights_only=True)  # no stubs needed: nothing but plain containers
    assert set(file) == {"Optimizer", "Step", "Args", "Config", "Upstream_Config", "SpecHead", "Transformer"}
    assert "transformer" not in file["Config"] and "transformer" in file["Upstream_Config"]  # s3prl picks (c)
    model_cfg = file["Upstream_Config"]
    assert model_cfg["transformer"]["input_dim"] == 80 and model_cfg["task"]["sequence_length"] == 1500
    expected_keys = set(ref.transformer_state(ref.model_config(pre_ln=extra.get("pre_layer_norm", False),
                                                               share=name == "audio_albert"), 80))
    assert set(file["Transformer"]) == expected_keys
    assert set(file["SpecHead"]) == {"dense.weight", "dense.bias", "LayerNorm.weight", "LayerNorm.bias",
                                     "output.weight", "output.bias"}

    model = expert(ckpt=str(path)).eval()
    wav = 0.1 * torch.randn(9000, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        ours = model([wav])["hidden_states"]
        frames = objective.input_frontend(wav)[None]
        theirs = objective.transformer(frames, torch.tensor([frames.shape[1]]))
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))


def test_pretrain_loop_end_to_end(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    g = np.random.default_rng(0)
    with open(data / "wav.scp", "w") as scp:
        for i in range(4):
            path = data / f"u{i}.wav"
            sf.write(path, (0.1 * g.standard_normal(8000 + 1000 * i)).astype(np.float32), 16000)
            scp.write(f"u{i} {path}\n")
    config = {"pretrain": {"steps": 3, "batch_size": 2, "lr": 1e-3, "save_every": 3, "log_every": 1},
              "objective": {"transformer": TINY, "task": {"noise_proportion": 0.5}}}
    out = pretrain("mockingjay", str(data), str(tmp_path / "exp" / "mockingjay.ckpt"), config, show_progress=False)
    file = torch.load(out, weights_only=True)
    assert file["Step"] == 3 and file["Upstream_Config"]["task"]["noise_proportion"] == 0.5
    assert file["SpecHead"]["output.weight"].shape == (201, 32)  # Mockingjay: linear-spectrogram target
    assert len(MockingjayExpert(ckpt=out)([torch.zeros(4000)])["hidden_states"]) == 3
