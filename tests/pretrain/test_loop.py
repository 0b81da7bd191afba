"""The shared pretraining loop: official layout round trip, resume == unbroken run, errors, CLI."""
from __future__ import annotations

import os

import pytest
import torch
import yaml

from speechbench.pretrain import __main__ as cli
from speechbench.pretrain.__main__ import main
from speechbench.pretrain.loop import load_config, pretrain, state_path
from speechbench.pretrain.objective import build_objective, default_config_path
from speechbench.pretrain.objectives._fbank_predictive import vq_perplexity
from speechbench.registry import expert_class
from testutil import assert_bug_propagates, one_error_line

FAMILY = ["apc", "vq_apc", "npc"]


@pytest.mark.parametrize("name", FAMILY)
def test_pretraining_writes_what_the_expert_loads(name, tiny_config, data_dir, tmp_path):
    out = str(tmp_path / "exp" / f"{name}.ckpt")
    config = tiny_config(name)
    pretrain(name, data_dir, out, config, show_progress=False)

    file = torch.load(out, weights_only=True)
    assert set(file) == {"config", "model"}
    assert file["config"] == config["objective"]
    expert = expert_class("upstream", name)(ckpt=out).eval()
    state = torch.load(state_path(out), weights_only=True)["model"]
    trained = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    assert trained.keys() == file["model"].keys()
    for key, value in expert.model.state_dict().items():
        assert torch.equal(value, trained[key]), key
    objective = build_objective(name, config["objective"]).eval()
    objective.model.load_state_dict(file["model"])
    wav = [torch.randn(8000) * 0.1]
    with torch.no_grad():
        feats, lengths = objective.fbank(wav)
        ours = objective.model(feats, lengths)
        theirs = expert(wav)["hidden_states"]
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
    log = open(tmp_path / "exp" / "log" / "pretrain.log").read()
    assert "7 utterances (1 shorter than 0.1 s skipped)" in log and "step 4/4 loss" in log
    assert (" vq_ppl " in log) == (name != "apc")


@pytest.mark.parametrize("name", ["vq_apc", "npc"])
def test_killed_and_resumed_run_equals_unbroken_run(name, tiny_config, data_dir, tmp_path):
    whole = str(tmp_path / "a" / "m.ckpt")
    pretrain(name, data_dir, whole, tiny_config(name, steps=6), show_progress=False)
    parts = str(tmp_path / "b" / "m.ckpt")
    pretrain(name, data_dir, parts, tiny_config(name, steps=4), show_progress=False)
    pretrain(name, data_dir, parts, tiny_config(name, steps=6), show_progress=False)
    a, b = torch.load(whole, weights_only=True)["model"], torch.load(parts, weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert "resuming" in open(tmp_path / "b" / "log" / "pretrain.log").read()
    short = torch.load(str(tmp_path / "a" / "m.ckpt.state"), weights_only=True)
    assert short["step"] == 6


def test_resume_refuses_changed_settings(tiny_config, data_dir, tmp_path):
    out = str(tmp_path / "m.ckpt")
    pretrain("apc", data_dir, out, tiny_config("apc", steps=2), show_progress=False)
    with pytest.raises(ValueError, match=r"different seed .*seed=0.*delete the file to start over"):
        pretrain("apc", data_dir, out, tiny_config("apc", steps=4, seed=1), show_progress=False)


def test_apc_loss_predicts_n_frames_ahead_on_valid_frames(tiny_config):
    objective = build_objective("apc", tiny_config("apc")["objective"]).eval()
    wavs = [torch.randn(n) * 0.1 for n in (4000, 2400, 3300)]
    with torch.no_grad():
        loss, _ = objective.loss(wavs)
        total, count = 0.0, 0
        for wav in wavs:
            feats = objective.fbank.one(wav)[None]
            pred = objective.model.predict(objective.model(feats, torch.tensor([feats.shape[1]]))[-1])[0]
            total += (pred[0, :-3] - feats[0, 3:]).abs().sum().item()
            count += feats[0, 3:].numel()
    assert loss.item() == pytest.approx(total / count, rel=1e-5)


def test_vq_perplexity_counts_codes_on_valid_frames():
    spread = torch.eye(4)[None].repeat(1, 2, 1)  # 8 frames, each code twice
    collapsed = torch.zeros(1, 8, 4)
    collapsed[..., 2] = 1
    valid = torch.ones(1, 8, dtype=torch.bool)
    assert vq_perplexity([spread], valid)["vq_ppl"] == pytest.approx(4.0)
    assert vq_perplexity([collapsed], valid)["vq_ppl"] == pytest.approx(1.0)
    assert vq_perplexity([spread, collapsed], valid)["vq_ppl"] == pytest.approx(2.5)
    valid[0, 4:] = False
    assert vq_perplexity([spread], valid)["vq_ppl"] == pytest.approx(4.0)
    valid[0, 1:] = False
    assert vq_perplexity([spread], valid)["vq_ppl"] == pytest.approx(1.0)


def test_apc_learns_on_tiny_data(tiny_config, data_dir, tmp_path):
    out = str(tmp_path / "m.ckpt")
    pretrain("apc", data_dir, out, tiny_config("apc", steps=40, lr=1e-2, log_every=10, save_every=40), show_progress=False)
    losses = [float(line.split(" loss ")[1].split()[0])
              for line in open(tmp_path / "log" / "pretrain.log") if " loss " in line]
    assert len(losses) == 4 and losses[-1] < 0.9 * losses[0]


@pytest.mark.parametrize("name", FAMILY)
def test_default_configs_build(name):
    config = load_config(default_config_path(name))
    objective = build_objective(name, config["objective"])
    assert config["pretrain"]["steps"] > 0 and sum(p.numel() for p in objective.parameters()) < 2e6


def test_errors(tiny_config, data_dir, tmp_path):
    with pytest.raises(ValueError, match="no pretraining objective for upstream 'wav2vec'; available: .*apc"):
        build_objective("wav2vec", {})
    bad = tiny_config("apc", stepz=3)
    with pytest.raises(ValueError, match="unknown pretrain setting.*stepz; valid: .*steps"):
        pretrain("apc", data_dir, str(tmp_path / "m.ckpt"), bad, show_progress=False)
    with pytest.raises(FileNotFoundError, match="has no wav.scp"):
        pretrain("apc", str(tmp_path), str(tmp_path / "m.ckpt"), tiny_config("apc"), show_progress=False)
    with pytest.raises(ValueError, match="'vq' section, i.e. it is VQ-APC"):
        build_objective("apc", tiny_config("vq_apc")["objective"])


def test_cli_overrides_config_and_reports_errors(tiny_config, data_dir, tmp_path, capsys):
    conf = tmp_path / "conf.yaml"
    conf.write_text(yaml.safe_dump(tiny_config("apc", steps=50)))
    out = tmp_path / "exp" / "apc.ckpt"
    code = main(["--upstream", "apc", "--data-dir", data_dir, "--out", str(out), "--config", str(conf),
                 "--steps", "2", "--batch-size", "2", "--no-progress"])
    assert code == 0 and os.path.isfile(out)
    dumped = yaml.safe_load(open(tmp_path / "exp" / "log" / "pretrain_config.yaml"))
    assert dumped["pretrain"]["steps"] == 2 and dumped["pretrain"]["batch_size"] == 2
    line = one_error_line(capsys, main, ["--upstream", "apc", "--data-dir", str(tmp_path / "none"), "--out", str(out),
                                         "--no-progress"])
    assert line == f"error: {tmp_path / 'none'} has no wav.scp; pretraining reads the audio listed there"
    line = one_error_line(capsys, main, ["--upstream", "apc", "--data-dir", data_dir, "--out", str(out),
                                         "--config", str(tmp_path / "nope.yaml")])
    assert line.startswith(f"error: --config {tmp_path / 'nope.yaml'} not found: give a YAML")
    conf.write_text("pretrain: [unclosed\n")
    line = one_error_line(capsys, main, ["--upstream", "apc", "--data-dir", data_dir, "--out", str(out),
                                         "--config", str(conf)])
    assert line.startswith(f"error: {conf} is not valid YAML: ")


def test_cli_keeps_tracebacks_of_bugs(data_dir, tmp_path, monkeypatch):
    assert_bug_propagates(monkeypatch, main, cli, "pretrain",
                          ["--upstream", "apc", "--data-dir", data_dir, "--out", str(tmp_path / "m.ckpt")])
