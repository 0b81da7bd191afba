"""Phone classification on the tiny corpus: on-the-fly and cached features train the same model."""
import json
import os

import pytest
import torch

from testutil import run_cli


def _datarc(data: str) -> str:
    d = os.path.join(data, "read")
    return (f"config.downstream_expert.datarc.train={d}/train,,config.downstream_expert.datarc.dev={d}/dev,,"
            f"config.downstream_expert.datarc.test={d}/test,,config.runner.total_steps=8,,config.runner.eval_step=8,,"
            f"config.runner.save_step=8,,config.runner.log_step=4,,config.optimizer.lr=0.01")


def test_cached_features_train_the_same_model(tiny_data, tmp_path):
    from speechbench.features.extract import main as extract
    dumps = []
    for split in ("train", "dev", "test"):
        out = str(tmp_path / "dump" / split)
        assert extract(["--upstream", "baseline", "--data-dir", os.path.join(tiny_data, "read", split), "--out", out,
                        "--dtype", "float32"]) == 0
        dumps.append(out)
    live = run_cli(["-m", "train", "-n", "live", "-u", "baseline", "-d", "phone", "-o", _datarc(tiny_data)], cwd=str(tmp_path))
    assert live.returncode == 0, live.stderr[-2000:]
    cached = run_cli(["-m", "train", "-n", "cached", "-u", "baseline", "-d", "phone", "-o", _datarc(tiny_data),
                      "--feature_cache", ",".join(dumps)], cwd=str(tmp_path))
    assert cached.returncode == 0, cached.stderr[-2000:]
    a = torch.load(tmp_path / "result/downstream/live/states-8.ckpt", weights_only=True)["Downstream"]
    b = torch.load(tmp_path / "result/downstream/cached/states-8.ckpt", weights_only=True)["Downstream"]
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5), k
    for name in ("live", "cached"):
        ev = run_cli(["-m", "evaluate", "-e", str(tmp_path / f"result/downstream/{name}/states-8.ckpt")], cwd=str(tmp_path))
        assert ev.returncode == 0, ev.stderr[-2000:]
    results = [json.loads((tmp_path / f"result/downstream/{n}/test_results.json").read_text())["metrics"]
               for n in ("live", "cached")]
    assert results[0]["test-acc"] == pytest.approx(results[1]["test-acc"], abs=1e-4)
    assert results[0]["test-acc"] > 0.15  # 40 classes; silence alone is about 0.2 of frames
    lines = (tmp_path / "result/downstream/cached/test_predictions.txt").read_text().splitlines()
    assert len(lines) == 8 and all(len(l.split()) > 10 for l in lines)


def test_labels_follow_upstream_rate():
    from speechbench.downstream._modules.frames import labels_at_upstream_rate
    labels = torch.arange(10)  # 10 frames of 10 ms
    at_320, valid = labels_at_upstream_rate(labels, 6, upstream_rate=320)
    assert at_320.tolist()[:5] == [1, 3, 5, 7, 9] and valid.tolist() == [True] * 5 + [False]


def test_missing_alignment_file_is_named(tiny_data, tmp_path):
    from speechbench.data.kaldi_dir import DataDir
    DataDir(os.path.join(tiny_data, "read", "train")).write(tmp_path / "train")
    os.unlink(tmp_path / "train" / "ali.scp")
    done = run_cli(["-m", "train", "-n", "x", "-u", "baseline", "-d", "phone", "-o",
                    _datarc(tiny_data).replace(f"{tiny_data}/read/train", str(tmp_path / "train"))], cwd=str(tmp_path))
    assert done.returncode == 2
    assert "ali.scp" in done.stderr and "Traceback" not in done.stderr
