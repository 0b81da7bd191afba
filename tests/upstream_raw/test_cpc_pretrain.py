"""CPC pretraining objective: learns on a fixed batch and writes a file the cpc upstream loads."""
from __future__ import annotations

import pytest
import soundfile as sf
import torch

from speechbench.pretrain.loop import pretrain
from speechbench.pretrain.objective import build_objective
from speechbench.registry import expert_class

TINY = {"hiddenEncoder": 16, "hiddenGar": 16, "nPredicts": 4, "negativeSamplingExt": 8}


def _batch() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    t = torch.arange(8000) / 16000
    return [torch.sin(2 * torch.pi * (200 + 100 * i) * t * (1 + t)) + 0.05 * torch.randn(8000, generator=g)
            for i in range(4)]


def test_loss_drops_when_fitting_one_batch():
    torch.manual_seed(0)
    objective = build_objective("cpc", TINY)
    optimizer, _ = objective.make_optimizer(3e-3, 40)
    wavs = _batch()
    losses = []
    for _ in range(40):
        loss, stats = objective.loss(wavs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(torch.log(torch.tensor(9.0)).item(), abs=0.3)  # 1 positive + 8 negatives
    assert losses[-1] < losses[0] - 0.3
    assert 0.0 <= stats["acc"] <= 1.0


def test_official_checkpoint_loads_in_the_upstream(tmp_path):
    torch.manual_seed(0)
    objective = build_objective("cpc", {**TINY, "samplingType": "uniform"}).eval()
    torch.save(objective.official_checkpoint(), tmp_path / "cpc.pt")
    expert = expert_class("upstream", "cpc")(ckpt=str(tmp_path / "cpc.pt"))
    wav = _batch()[0]
    with torch.no_grad():
        ours = expert([wav])["hidden_states"]
        z, c, _ = objective.model(wav[None], torch.tensor([len(wav)]))
    assert torch.equal(ours[0], z) and torch.equal(ours[1], c)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="samespeaker needs speaker labels"):
        build_objective("cpc", {**TINY, "samplingType": "samespeaker"})
    with pytest.raises(ValueError, match="unknown setting.*hidenGar"):
        build_objective("cpc", {**TINY, "hidenGar": 3})
    objective = build_objective("cpc", {**TINY, "nPredicts": 12})
    with pytest.raises(ValueError, match="fewer than nPredicts"):
        objective.loss([torch.zeros(1600)])


def test_pretrain_loop_writes_the_released_layout(tmp_path):
    (tmp_path / "data").mkdir()
    with open(tmp_path / "data" / "wav.scp", "w") as scp:
        for i, wav in enumerate(_batch()):
            sf.write(tmp_path / f"u{i}.wav", wav.numpy() * 0.5, 16000)
            scp.write(f"u{i} {tmp_path / f'u{i}.wav'}\n")
    out = str(tmp_path / "exp" / "cpc.ckpt")
    config = {"pretrain": {"steps": 3, "batch_size": 2, "lr": 2e-4, "max_seconds": 0.4, "save_every": 3,
                           "log_every": 1}, "objective": TINY}
    pretrain("cpc", str(tmp_path / "data"), out, config, show_progress=False)
    file = torch.load(out, weights_only=True)
    assert set(file) == {"config", "weights"} and file["config"]["hiddenEncoder"] == 16
    expert = expert_class("upstream", "cpc")(ckpt=out)
    assert expert.hidden_sizes() == [16, 16]
