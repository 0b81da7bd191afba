"""CLI options users expect, and one clear error line for each mistake."""
import json
import os

import torch
import yaml

from speechbench.cli_benchmark import main
from testutil import one_error_line, run_cli

SHORT = "config.runner.total_steps=6,,config.runner.eval_step=6,,config.runner.save_step=6,,config.runner.log_step=3"


def _train(tmp_path, name, *extra):
    return run_cli(["-m", "train", "-n", name, "-u", "example", "-d", "example", "-o", SHORT, *extra], cwd=str(tmp_path))


def test_overrides_layer_and_dumped_config(tmp_path):
    done = _train(tmp_path, "layer1", "-l", "1", "-o", SHORT + ",,config.optimizer.lr=0.01")
    assert done.returncode == 0, done.stderr[-1500:]
    expdir = tmp_path / "result/downstream/layer1"
    config = yaml.safe_load((expdir / "config.yaml").read_text())
    assert config["optimizer"]["lr"] == 0.01 and config["runner"]["total_steps"] == 6
    state = torch.load(expdir / "states-6.ckpt", weights_only=True)
    assert state["Args"]["layer"] == 1
    assert torch.equal(state["Featurizer"]["weights"], torch.zeros(3))  # a chosen layer has no weights to learn


def test_weighted_sum_learns_layer_weights(tmp_path):
    assert _train(tmp_path, "ws").returncode == 0
    state = torch.load(tmp_path / "result/downstream/ws/states-6.ckpt", weights_only=True)
    assert state["Featurizer"]["weights"].abs().sum() > 0


def test_frozen_upstream_is_unchanged_and_trainable_one_changes(tmp_path):
    assert _train(tmp_path, "frozen").returncode == 0
    assert _train(tmp_path, "tuned", "--upstream_trainable").returncode == 0
    torch.manual_seed(1337)
    from speechbench.upstream.example.expert import UpstreamExpert
    initial = UpstreamExpert().state_dict()
    frozen = torch.load(tmp_path / "result/downstream/frozen/states-6.ckpt", weights_only=True)["Upstream"]
    tuned = torch.load(tmp_path / "result/downstream/tuned/states-6.ckpt", weights_only=True)["Upstream"]
    assert all(torch.equal(initial[k], frozen[k]) for k in initial)
    assert any(not torch.equal(initial[k], tuned[k]) for k in initial)


def test_upstream_checkpoint_option(tmp_path):
    from speechbench.upstream.example.expert import UpstreamExpert
    model = UpstreamExpert(hidden_size=16, num_layers=1)
    torch.save(model.checkpoint(), tmp_path / "up.pt")
    done = _train(tmp_path, "ck", "-k", str(tmp_path / "up.pt"))
    assert done.returncode == 0, done.stderr[-1500:]
    state = torch.load(tmp_path / "result/downstream/ck/states-6.ckpt", weights_only=True)
    assert state["Upstream"] is None  # the -k file rebuilds it
    assert state["Featurizer"]["weights"].shape == (2,)
    done = run_cli(["-m", "evaluate", "-e", str(tmp_path / "result/downstream/ck/states-6.ckpt")], cwd=str(tmp_path))
    assert done.returncode == 0
    assert json.loads((tmp_path / "result/downstream/ck/test_results.json").read_text())["step"] == 6


def _error(tmp_path, args) -> str:
    done = run_cli(args, cwd=str(tmp_path))
    assert done.returncode == 2, done.stderr[-1500:]
    lines = [l for l in done.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-1500:]
    return lines[0]


def test_errors_are_one_clear_line(tmp_path, capsys, monkeypatch):
    assert "available: " in _error(tmp_path, ["-m", "train", "-n", "x", "-u", "nope", "-d", "example"])
    monkeypatch.chdir(tmp_path)  # the rest in this process: the same main(), without a Python start each

    def error(*args: str) -> str:
        return one_error_line(capsys, main, list(args))

    new = ["-m", "train", "-n", "x", "-u", "example", "-d", "example"]
    assert "baseline" in error("-m", "train", "-n", "x", "-u", "nope", "-d", "example")
    assert "unknown keys in config section 'runner'" in error(*new, "-o", "config.runner.totl_steps=3")
    assert "no '='" in error(*new, "-o", "runner.lr")
    assert "config file not found" in error(*new, "-c", "missing.yaml")
    assert "not found" in error("-m", "evaluate", "-e", "missing.ckpt")
    assert "layer 9 does not exist" in error(*new, "-l", "9")
    assert "unknown options" in error("-m", "train", "-n", "x", "-u", "baseline", "-d", "example",
                                      "--upstream_options", "featur=mfcc")
    assert "needs -n" in error("-m", "train", "-u", "example", "-d", "example")
    torch.save({"model": {}}, tmp_path / "other.pt")
    assert "not a speechbench experiment checkpoint" in error("-m", "evaluate", "-e", str(tmp_path / "other.pt"))
    (tmp_path / "trunc.ckpt").write_bytes(b"PK\x03\x04garbage")
    assert "truncated" in error("-m", "evaluate", "-e", str(tmp_path / "trunc.ckpt"))


def test_malicious_experiment_checkpoint_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))
    torch.save({"format": "speechbench-experiment-v1", "x": Evil()}, tmp_path / "evil.ckpt")
    line = _error(tmp_path, ["-m", "evaluate", "-e", str(tmp_path / "evil.ckpt")])
    assert "refusing to load" in line and "system" in line
    assert not (tmp_path / "pwned").exists()


def test_second_run_on_the_same_expdir_is_refused(tmp_path):
    import fcntl
    expdir = tmp_path / "result/downstream/busy"
    expdir.mkdir(parents=True)
    with open(expdir / ".lock", "w") as held:
        held.write("4242")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        line = _error(tmp_path, ["-m", "train", "-n", "busy", "-u", "example", "-d", "example", "-o", SHORT])
    assert "being trained by another process (pid 4242)" in line
