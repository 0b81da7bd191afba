"""Feature extraction into a kaldiio dump: jobs, dtypes, layers, resume, meta."""
from __future__ import annotations

import json
import os

import pytest
import torch

from speechbench.checkpoints.experiment import ExperimentCheckpoint
from speechbench.features.cache import FeatureCache
from speechbench.features import extract
from speechbench.features.extract import main, make_batches, split_utterances
from testutil import assert_bug_propagates, one_error_line


def run(data_dir, out, *extra: str) -> int:
    return main(["--upstream", "fake", "--data-dir", str(data_dir), "--out", str(out), *extra])


def test_split_and_batches():
    assert split_utterances(list("abcde"), 2) == [["a", "b", "c"], ["d", "e"]]
    assert make_batches({"a": 1.0, "b": 3.0, "c": 2.0, "d": 2.5}, 6.0) == [["b", "d"], ["c", "a"]]
    assert make_batches({"a": 10.0, "b": 9.0}, 5.0) == [["a"], ["b"]]


def test_two_jobs_equal_one_job(tmp_path, fake_upstream, data_dir, utt_lengths):
    assert run(data_dir, tmp_path / "one", "--dtype", "float32") == 0
    assert run(data_dir, tmp_path / "two", "--dtype", "float32", "--nj", "2") == 0
    for name in ("feats.1.ark", "feats.2.ark", "feats.1.scp", "utt2num_frames.2", "feats.scp"):
        assert (tmp_path / "two" / name).is_file(), name
    one, two = FeatureCache(tmp_path / "one"), FeatureCache(tmp_path / "two")
    assert one.keys() == two.keys() == sorted(utt_lengths)
    for utt, n in utt_lengths.items():
        a, b = one.load(utt), two.load(utt)
        assert [tuple(x.shape) for x in a] == [((n - 400) // 160 + 1, d) for d in (4, 6, 3)]
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y, atol=1e-6, rtol=1e-5)
        assert one.num_frames(utt) == (n - 400) // 160 + 1


def test_meta_and_bytes_per_hour(tmp_path, fake_upstream, data_dir, utt_lengths, capsys):
    out = tmp_path / "dump"
    assert run(data_dir, out, "--nj", "2", "--upstream-options", "scale=2") == 0
    meta = json.loads((out / "meta.json").read_text())
    hours = sum(utt_lengths.values()) / 16000 / 3600
    ark_bytes = sum(os.path.getsize(out / f"feats.{j}.ark") for j in (1, 2))
    assert meta["upstream"] == "fake" and meta["upstream_options"] == {"scale": 2}
    assert meta["layers"] == [0, 1, 2] and meta["dims"] == [4, 6, 3] and meta["num_layers_total"] == 3
    assert meta["downsample_rate"] == 160 and meta["dtype"] == "float16"
    assert meta["hours_of_audio"] == pytest.approx(hours)
    assert meta["bytes"] == ark_bytes
    assert meta["bytes_per_audio_hour"] == pytest.approx(ark_bytes / hours)
    frames = sum((n - 400) // 160 + 1 for n in utt_lengths.values())
    assert ark_bytes > frames * 13 * 2, "float16 payload of every frame is stored"
    assert "per hour of audio" in capsys.readouterr().out


def test_float16_matches_float32(tmp_path, fake_upstream, data_dir):
    assert run(data_dir, tmp_path / "f32", "--dtype", "float32") == 0
    assert run(data_dir, tmp_path / "f16", "--dtype", "float16") == 0
    f32, f16 = FeatureCache(tmp_path / "f32"), FeatureCache(tmp_path / "f16")
    for utt in f32.keys():
        for x, y in zip(f32.load(utt), f16.load(utt)):
            assert y.dtype == torch.float32
            assert (x - y).abs().max() <= 1e-3 * x.abs().max() + 1e-4
    assert f16.meta["bytes"] < 0.6 * f32.meta["bytes"]


def test_float16_overflow_is_refused(tmp_path, fake_upstream, data_dir, capsys):
    assert run(data_dir, tmp_path / "d", "--upstream-options", "scale=1e6") == 2
    assert "exceed the float16 range" in capsys.readouterr().err
    assert not (tmp_path / "d" / "meta.json").exists()


def test_layer_subset(tmp_path, fake_upstream, data_dir):
    assert run(data_dir, tmp_path / "all", "--dtype", "float32") == 0
    assert run(data_dir, tmp_path / "sub", "--dtype", "float32", "--layers", "0,-1") == 0
    full, sub = FeatureCache(tmp_path / "all"), FeatureCache(tmp_path / "sub")
    assert sub.layers == [0, 2] and sub.dims == [4, 3]
    for utt in full.keys():
        a, b = full.load(utt), sub.load(utt)
        torch.testing.assert_close(b[0], a[0])
        torch.testing.assert_close(b[1], a[2])


def test_missing_layer_is_an_error(tmp_path, fake_upstream, data_dir, capsys):
    assert run(data_dir, tmp_path / "d", "--layers", "0,3") == 2
    assert "layer 3 does not exist: upstream 'fake' has 3 hidden states (0..2)" in capsys.readouterr().err


def test_resume_skips_finished_jobs(tmp_path, fake_upstream, data_dir, capsys):
    out = tmp_path / "dump"
    assert run(data_dir, out, "--nj", "2") == 0
    first_ark = (out / "feats.1.ark").stat().st_mtime_ns
    (out / "meta.2.json").unlink()  # job 2 was interrupted before its marker
    fake_upstream.batches.clear()
    capsys.readouterr()
    assert run(data_dir, out, "--nj", "2") == 0
    assert "job 1/2 finished in a previous run" in capsys.readouterr().err
    assert sum(fake_upstream.batches) == 2, "only job 2's two utterances are recomputed"
    assert (out / "feats.1.ark").stat().st_mtime_ns == first_ark
    assert len(FeatureCache(out)) == 5
    fake_upstream.batches.clear()
    assert run(data_dir, out, "--nj", "2", "--upstream-options", "scale=3") == 0
    assert sum(fake_upstream.batches) == 5, "changed options redo every job"


def test_single_job_then_merge(tmp_path, fake_upstream, data_dir, capsys):
    out = tmp_path / "dump"
    assert run(data_dir, out, "--nj", "2", "--job", "2") == 0
    assert not (out / "meta.json").exists() and (out / "meta.2.json").exists()
    fake_upstream.batches.clear()
    assert run(data_dir, out, "--nj", "2") == 0
    assert sum(fake_upstream.batches) == 3
    assert FeatureCache(out).meta["num_utterances"] == 5


def test_best_layers_from_a_finished_run(tmp_path, fake_upstream, data_dir):
    exp = tmp_path / "exp"
    exp.mkdir()
    ExperimentCheckpoint(featurizer={"weights": torch.tensor([3.0, 0.0, 0.0])}).save(str(exp / "states-1.ckpt"))
    ExperimentCheckpoint(featurizer={"weights": torch.tensor([0.1, 2.0, 1.0])}).save(str(exp / "dev-best.ckpt"))
    os.utime(exp / "states-1.ckpt", (1, 1))
    assert run(data_dir, tmp_path / "best", "--layers", "best", "--from-exp", str(exp), "--num-layers", "2") == 0
    meta = FeatureCache(tmp_path / "best").meta
    assert meta["layers"] == [1, 2] and meta["dims"] == [6, 3]
    assert meta["layers_from"] == str(exp / "dev-best.ckpt")


def test_best_layers_map_through_the_cache_a_run_trained_on(tmp_path, fake_upstream, data_dir):
    assert run(data_dir, tmp_path / "sub", "--layers", "0,2") == 0
    exp = tmp_path / "exp"
    exp.mkdir()
    # the runner stores every cache it read (one per data dir), comma-separated
    caches = f"{tmp_path / 'sub'},{tmp_path / 'sub_dev'}"
    ExperimentCheckpoint(featurizer={"weights": torch.tensor([0.0, 1.0])}, args={"feature_cache": caches}).save(
        str(exp / "last.ckpt"))
    assert run(data_dir, tmp_path / "best", "--layers", "best", "--from-exp", str(exp), "--num-layers", "1") == 0
    assert FeatureCache(tmp_path / "best").layers == [2]


def test_best_layers_errors(tmp_path, fake_upstream, data_dir, capsys):
    exp = tmp_path / "exp"
    exp.mkdir()
    assert run(data_dir, tmp_path / "d", "--layers", "best", "--from-exp", str(exp)) == 2
    assert f"--from-exp {exp}: no *.ckpt found" in capsys.readouterr().err
    ExperimentCheckpoint(featurizer={"weights": torch.zeros(3)}).save(str(exp / "a.ckpt"))
    assert run(data_dir, tmp_path / "d", "--layers", "best", "--from-exp", str(exp)) == 2
    assert "all 3 layer weights are equal" in capsys.readouterr().err


def test_bad_inputs_give_one_line_errors(tmp_path, fake_upstream, data_dir, capsys):
    assert run(tmp_path / "nope", tmp_path / "d") == 2
    assert "data dir not found" in capsys.readouterr().err
    assert run(data_dir, tmp_path / "d", "--nj", "9") == 2
    assert "--nj 9 is more than the 5 utterances" in capsys.readouterr().err
    assert main(["--upstream", "no_such", "--data-dir", str(data_dir), "--out", str(tmp_path / "d")]) == 2
    assert "unknown upstream 'no_such'" in capsys.readouterr().err


def test_a_job_runner_that_does_not_exist_is_one_line(tmp_path, data_dir, capsys):
    line = one_error_line(capsys, main, ["--upstream", "fake", "--data-dir", str(data_dir), "--out", str(tmp_path / "d"),
                                         "--nj", "2", "--cmd", "run.pl --mem 2G"])
    assert line.startswith("error: --cmd 'run.pl --mem 2G': cannot run 'run.pl' (No such file or directory); ")
    assert "egs/utils/run_jobs.sh or a Slurm wrapper" in line


def test_a_bug_keeps_its_traceback(tmp_path, data_dir, monkeypatch):
    assert_bug_propagates(monkeypatch, main, extract, "extract",
                          ["--upstream", "fake", "--data-dir", str(data_dir), "--out", str(tmp_path / "d")])


def test_fewer_jobs_remove_the_outputs_of_the_old_ones(tmp_path, fake_upstream, data_dir):
    out = tmp_path / "dump"
    assert run(data_dir, out, "--nj", "3") == 0
    assert run(data_dir, out, "--nj", "2") == 0
    assert sorted(p.name for p in out.iterdir() if ".3" in p.name) == []
    assert {p.name for p in out.iterdir()} >= {"feats.1.ark", "feats.2.scp", "meta.2.json", "utt2num_frames.1"}


def test_several_sets_in_one_call_write_the_dumps_of_separate_calls(tmp_path, fake_upstream, data_dir, capsys):
    other = tmp_path / "other"
    other.mkdir()
    for name in ("wav.scp", "utt2spk"):
        (other / name).write_text("".join(line for line in (data_dir / name).read_text().splitlines(True)
                                          if line.startswith("spk2")))
    assert main(["--upstream", "fake", "--data-dir", str(data_dir), str(other),
                 "--out", str(tmp_path / "a1"), str(tmp_path / "b1")]) == 0
    assert run(data_dir, tmp_path / "a2") == 0 and run(other, tmp_path / "b2") == 0
    for one, two in (("a1", "a2"), ("b1", "b2")):
        x, y = FeatureCache(tmp_path / one), FeatureCache(tmp_path / two)
        assert x.keys() == y.keys()
        for utt in x.keys():
            assert all(torch.equal(a, b) for a, b in zip(x.load(utt), y.load(utt)))
    assert FeatureCache(tmp_path / "b1").keys() == ["spk2-c", "spk2-d"]


def test_several_sets_need_one_dump_each_and_no_job_runner(tmp_path, fake_upstream, data_dir, capsys):
    line = one_error_line(capsys, main, ["--upstream", "fake", "--data-dir", str(data_dir), str(data_dir),
                                         "--out", str(tmp_path / "d")])
    assert "2 --data-dir but 1 --out" in line
    line = one_error_line(capsys, main, ["--upstream", "fake", "--data-dir", str(data_dir), str(data_dir), "--out",
                                         str(tmp_path / "d"), str(tmp_path / "e"), "--nj", "2", "--cmd", "run.pl"])
    assert "with --cmd or --job give one --data-dir and --out per call" in line
