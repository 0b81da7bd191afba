"""Bad input and misuse of run_benchmark.py: exit status 2, one ``error:`` line naming the file,
key or utterance and the fix; everything else (a bug, out of memory) keeps its traceback.

Most cases run the CLI in this process (``cli_benchmark.main``): the errors come before any
training, and a subprocess per case would cost seconds of imports each.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile
import torch

from speechbench.cli_benchmark import main
from testutil import one_error_line, run_cli

SHORT = "config.runner.total_steps=4,,config.runner.eval_step=2,,config.runner.save_step=2,,config.runner.log_step=2"


def _new(name: str = "x", upstream: str = "example", downstream: str = "example") -> list[str]:
    return ["-m", "train", "-n", name, "-u", upstream, "-d", downstream]


def _error(capsys, *args: str) -> str:
    """Run the CLI; it must exit 2 with exactly one error line and no traceback. Returns the line."""
    return one_error_line(capsys, main, list(args))


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _damaged(tmp_path, damage: str) -> str:
    """An empty file, or a legacy-format (pre-zip) checkpoint cut in half."""
    path = tmp_path / f"{damage}.ckpt"
    if damage == "empty":
        path.write_bytes(b"")
    else:
        torch.save({"config": {}, "model": {"w": torch.ones(1000)}}, path, _use_new_zipfile_serialization=False)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    return str(path)


_DAMAGE_SAYS = {"empty": "the file is empty (0 bytes)", "cut": "unexpected EOF"}


@pytest.mark.parametrize("damage", ["empty", "cut"])
@pytest.mark.parametrize("upstream", ["apc", "tera", "example", "cpc"])
def test_unreadable_upstream_checkpoint(tmp_path, capsys, upstream, damage):
    path = _damaged(tmp_path, damage)
    line = _error(capsys, *_new(upstream=upstream), "-k", path)
    assert f"error: {path}: cannot read this " in line and _DAMAGE_SAYS[damage] in line
    assert "is the file truncated or not a PyTorch checkpoint?" in line


@pytest.mark.parametrize("damage", ["empty", "cut"])
@pytest.mark.parametrize("mode", ["train", "evaluate"])
def test_unreadable_experiment_checkpoint(tmp_path, capsys, mode, damage):
    path = _damaged(tmp_path, damage)
    line = _error(capsys, "-m", mode, "-e", path)
    assert f"{path}: cannot read this speechbench experiment checkpoint: {_DAMAGE_SAYS[damage]}" in line


@pytest.mark.parametrize("override,says", [
    ("runner.save_step=0", "config.runner.save_step must be an integer >= 1, got 0"),
    ("runner.log_step=0", "config.runner.log_step must be an integer >= 1, got 0"),
    ("runner.eval_step=0", "config.runner.eval_step must be an integer >= 1, got 0"),
    ("runner.gradient_accumulate_steps=0", "config.runner.gradient_accumulate_steps must be an integer >= 1, got 0"),
    ("runner.total_steps=0", "config.runner.total_steps must be an integer >= 1, got 0"),
    ("runner.total_steps=-3", "config.runner.total_steps must be an integer >= 1, got -3"),
    ("runner.total_steps=2.5", "config.runner.total_steps must be an integer >= 1, got 2.5"),
    ("runner.total_steps=abc", "config.runner.total_steps must be an integer >= 1, got 'abc'"),
    ("optimizer.lr=abc", "config.optimizer.lr must be a number >= 0, got 'abc'"),
    ("runner.eval_dataloaders=dev", "config.runner.eval_dataloaders must be a list of splits out of "
                                    "['train', 'dev', 'test'], e.g. [dev], got 'dev'"),
    ("runner.eval_dataloaders=[dev,tst]", "config.runner.eval_dataloaders must be a list of splits out of "
                                          "['train', 'dev', 'test'], e.g. [dev], got ['dev', 'tst']"),
])
def test_bad_runner_values_are_refused_before_the_run(tmp_path, capsys, override, says):
    assert _error(capsys, *_new(), "-o", f"config.{override}") == f"error: {says}"
    assert not (tmp_path / "result").exists()  # refused before the experiment dir is made


def test_yaml_number_strings_are_numbers(tmp_path):
    """YAML 1.1 reads ``1e-3`` as a string; the README's own example must keep working."""
    assert main([*_new(), "-o", "config.runner.total_steps=1,,config.optimizer.lr=1e-3"]) == 0
    assert "lr: 0.001" in (tmp_path / "result/downstream/x/config.yaml").read_text()


def test_unknown_split_for_evaluate_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["-m", "evaluate", "-e", "whatever.ckpt", "-t", "tst"])
    assert done.value.code == 2 and "invalid choice: 'tst'" in capsys.readouterr().err


def _speaker_dirs(tmp_path, short_utt: str | None = None) -> dict[str, str]:
    """train/dev/test data dirs of 2 speakers x 3 one-second utterances (``short_utt`` lasts 0.01 s)."""
    rng = np.random.default_rng(0)
    dirs = {}
    for split in ("train", "dev", "test"):
        d = tmp_path / "data" / split
        d.mkdir(parents=True)
        wav_scp, utt2spk = [], []
        for spk in ("spkA", "spkB"):
            for i in range(3):
                utt = f"{spk}-{split}-{i}"
                n = 160 if utt == short_utt else 16000
                path = tmp_path / "wav" / f"{utt}.wav"
                path.parent.mkdir(exist_ok=True)
                soundfile.write(path, (0.1 * rng.standard_normal(n)).astype(np.float32), 16000)
                wav_scp.append(f"{utt} {path}\n")
                utt2spk.append(f"{utt} {spk}\n")
        (d / "wav.scp").write_text("".join(wav_scp))
        (d / "utt2spk").write_text("".join(utt2spk))
        dirs[split] = str(d)
    return dirs


def _datarc(dirs: dict[str, str]) -> str:
    return ",,".join(f"config.downstream_expert.datarc.{s}={d}" for s, d in dirs.items())


def test_a_too_short_clip_is_named(tmp_path, capsys):
    line = _error(capsys, *_new(upstream="baseline", downstream="speaker"), "-o",
                  _datarc(_speaker_dirs(tmp_path, short_utt="spkA-train-1")) + ",,config.runner.total_steps=2,,config.downstream_expert.datarc.batch_size=6")
    assert line.startswith("error: utterance 'spkA-train-1' (0.010 s) is too short for this upstream")
    assert "remove its line from the data dir's wav.scp" in line


def test_an_eval_split_that_cannot_load_fails_before_the_first_step(tmp_path, capsys):
    dirs = {**_speaker_dirs(tmp_path), "dev": str(tmp_path / "data" / "no_such_dev")}
    line = _error(capsys, *_new(upstream="example", downstream="speaker"), "-o",
                  _datarc(dirs) + ",,config.runner.total_steps=2,,config.runner.save_step=1,,"
                                  "config.runner.eval_step=2,,config.downstream_expert.datarc.max_train_seconds=0.5")
    assert "no_such_dev" in line
    assert not list((tmp_path / "result/downstream/x").glob("states-*.ckpt"))  # no training step was taken


def test_a_bug_keeps_its_traceback(monkeypatch):
    """Only user errors become one line: an exception from a bug (here a simulated out of
    memory in the upstream) reaches the caller with its traceback."""
    from speechbench.upstream.example.expert import UpstreamExpert

    def out_of_memory(self, wavs):
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(UpstreamExpert, "forward", out_of_memory)
    with pytest.raises(RuntimeError, match="out of memory"):
        main([*_new(), "-o", SHORT])


def test_report_subcommand_keeps_tracebacks_of_bugs(monkeypatch, tmp_path):
    from speechbench.cli import main as speechbench_main
    from speechbench.report import build

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(build, "make_report", disk_full)
    with pytest.raises(OSError, match="No space left"):
        speechbench_main(["report", "--egs", str(tmp_path), "--out", str(tmp_path / "r")])


def test_user_facing_errors_share_one_base_class():
    from speechbench.checkpoints import CheckpointError
    from speechbench.contracts import ContractError
    from speechbench.corpora.errors import CorpusBuildError, CorpusDirError, CorpusError
    from speechbench.corpora.mini.espeak import EspeakError
    from speechbench.data.audio import AudioError
    from speechbench.data.kaldi_dir import DataDirError
    from speechbench.data.make_dir import MakeDirError
    from speechbench.errors import DivergedError, MissingFileError, SpeechbenchError
    from speechbench.features.cache import FeatureCacheError
    from speechbench.features.extract import ExtractError
    from speechbench.features.layers import LayerSelectionError
    from speechbench.features.source import LayerError
    from speechbench.hub import HubError
    from speechbench.metrics.diarization import RttmError
    from speechbench.registry import UnknownExpertError
    from speechbench.report.collect import ReportError
    from speechbench.report.metrics import UnknownMetricError
    from speechbench.report.sweep import SweepError
    from speechbench.train.config import ConfigError
    from speechbench.upstream._modules.conv_spec import ConvSpecError
    for cls in (CheckpointError, ConfigError, UnknownExpertError, DataDirError, AudioError, MakeDirError,
                CorpusError, FeatureCacheError, ExtractError, LayerSelectionError, ReportError, SweepError,
                ContractError, HubError, LayerError, UnknownMetricError, EspeakError, ConvSpecError,
                CorpusBuildError, CorpusDirError, RttmError, MissingFileError, DivergedError):
        assert issubclass(cls, SpeechbenchError), cls


def _downstream_names() -> list[str]:
    from speechbench import registry
    return [n for n in registry.available("downstream") if n != "std"]  # std trains nothing: no config to read


@pytest.mark.parametrize("task", _downstream_names())
def test_every_expert_rejects_unknown_config_keys(tmp_path, task):
    from speechbench import registry
    from speechbench.errors import ConfigError
    cls = registry.expert_class("downstream", task)
    with pytest.raises(ConfigError, match=rf"unknown sections in {task} downstream_expert: \['datrc'\]"):
        cls(8, {"datrc": {}}, str(tmp_path))
    with pytest.raises(ConfigError, match=rf"unknown keys in {task} datarc: \['batch_sise'\]"):
        cls(8, {"datarc": {"batch_sise": 4}}, str(tmp_path))


def test_example_datarc_typo_is_one_line(capsys):
    line = _error(capsys, *_new(), "-o", "config.downstream_expert.datarc.batch_sise=4")
    assert line.startswith("error: unknown keys in example datarc: ['batch_sise']; valid: ")


def test_a_finished_experiment_is_not_mixed_with_a_new_run(tmp_path, capsys):
    expdir = tmp_path / "result/downstream/done"
    assert main([*_new("done"), "-o", SHORT]) == 0
    assert sorted(p.name for p in expdir.glob("states-*.ckpt")) == ["states-2.ckpt", "states-4.ckpt"]
    capsys.readouterr()
    line = _error(capsys, *_new("done"), "-o", SHORT)
    assert f"{expdir} already holds an experiment (best-states-dev.ckpt, states-2.ckpt, states-4.ckpt)" in line
    assert f"resume it with `-e {expdir}`" in line and "another name (-n) or dir (-p)" in line and "--overwrite" in line
    # --overwrite: the old run's files go, and -e DIR then scores the new run's checkpoint.
    assert main([*_new("done"), "--overwrite", "-o", SHORT.replace("total_steps=4", "total_steps=2")]) == 0
    assert sorted(p.name for p in expdir.glob("states-*.ckpt")) == ["states-2.ckpt"]
    assert main(["-m", "evaluate", "-e", str(expdir)]) == 0
    result = json.loads((expdir / "test_results.json").read_text())
    assert result["step"] == 2 and result["checkpoint"] == str(expdir / "states-2.ckpt")


def test_overwrite_does_not_combine_with_resume(tmp_path, capsys):
    line = _error(capsys, "-m", "train", "-e", str(tmp_path), "--overwrite")
    assert "--overwrite starts a new run; it cannot be combined with -e" in line


def test_resume_skips_a_truncated_newest_checkpoint_and_stale_temporaries(tmp_path):
    """A full disk cut the newest checkpoint and a kill during a save left a temporary file:
    -e DIR resumes from the newest intact checkpoint, says which file it skipped, removes the
    temporary, and still reaches exactly the weights of the unbroken run."""
    cmd = [*_new("cut"), "--seed", "3", "-o", SHORT]
    assert run_cli(cmd, cwd=str(tmp_path)).returncode == 0
    expdir = tmp_path / "result/downstream/cut"
    unbroken = torch.load(expdir / "states-4.ckpt", weights_only=True)
    data = (expdir / "states-4.ckpt").read_bytes()
    (expdir / "states-4.ckpt").write_bytes(data[:len(data) // 3])
    stale = expdir / ".tmp.k1ll3d.states-6.ckpt"  # the name atomic_open gives the temporary of states-6.ckpt
    stale.write_bytes(data[:100])
    done = run_cli(["-m", "train", "-e", str(expdir)], cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{expdir}/states-4.ckpt: cannot read this speechbench experiment checkpoint" in done.stderr
    assert "[WARNING] skipping the damaged states-4.ckpt, using the checkpoint before it: " in done.stderr
    assert f"resuming from {expdir}/states-2.ckpt at step 2" in done.stderr
    assert not stale.exists()
    resumed = torch.load(expdir / "states-4.ckpt", weights_only=True)
    for part in ("Downstream", "Featurizer", "Upstream"):
        for key, value in unbroken[part].items():
            assert torch.equal(value, resumed[part][key]), (part, key)


def test_protocol_4_code_payload_is_refused_by_name(tmp_path):
    class RunsCommand:
        def __reduce__(self):
            return os.system, (f"touch {tmp_path / 'pwned'}",)

    path = tmp_path / "evil4.ckpt"
    torch.save({"format": "speechbench-experiment-v1", "x": RunsCommand()}, path, pickle_protocol=4)
    done = run_cli(["-m", "evaluate", "-e", str(path)], cwd=str(tmp_path))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr  # no torch warning before it
    assert lines[0].startswith(f"error: {path}: refusing to load: the file pickles ")
    assert "'posix.system'" in lines[0] or "'os.system'" in lines[0]
    assert f"re-save it without code: python tools/convert_checkpoint.py --trust {path} OUT.pt" in lines[0]
    assert not (tmp_path / "pwned").exists()


def test_a_diverged_loss_is_one_line_naming_the_step(capsys, monkeypatch):
    from speechbench.downstream.example.expert import DownstreamExpert
    forward = DownstreamExpert.forward

    def nan_loss(self, *args, **kwargs):
        return forward(self, *args, **kwargs) * float("nan")

    monkeypatch.setattr(DownstreamExpert, "forward", nan_loss)
    line = _error(capsys, *_new(), "-o", SHORT)
    assert line.startswith("error: loss is nan at step 0: lower the learning rate or check the inputs")
