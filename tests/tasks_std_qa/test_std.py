"""QbE STD scoring: planted queries are found, the layer sweep picks the informative layer, the CLI
writes the runner's results shape (on the fly and from the feature cache), and bad inputs fail clearly."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch

from speechbench.data.kaldi_dir import DataDirError
from speechbench.downstream.std import score as std_score
from testutil import REPO, assert_bug_propagates, one_error_line, run_cli


class MemorySource:
    """Features per (data dir, layer) held in memory: the interface of UpstreamFeatures/CacheFeatures."""

    def __init__(self, feats: dict[str, list[list[torch.Tensor]]]) -> None:
        self.feats = feats

    def layers(self, data_dir: str) -> list[int]:
        return list(range(len(self.feats[data_dir])))

    def load(self, data_dir: str, layer: int) -> list[torch.Tensor]:
        return self.feats[data_dir][layer]


def _write_dir(path, utts: list[str], ground_truth: list[str] | None = None) -> str:
    """A data dir whose audio is never read (features come from MemorySource) but exists."""
    os.makedirs(path, exist_ok=True)
    wav = path.parent / "silence.wav"
    soundfile.write(wav, np.zeros(1600, dtype=np.float32), 16000)
    with open(path / "wav.scp", "w") as f:
        f.writelines(f"{u} {wav}\n" for u in sorted(utts))
    if ground_truth is not None:
        (path / "ground_truth").write_text("".join(f"{line}\n" for line in ground_truth))
    return str(path)


@pytest.fixture()
def planted(tmp_path, monkeypatch):
    """12 documents; query qI is a noisy copy of frames of document dI (I < 4); q4 occurs nowhere.
    Layer 1 carries that structure, layer 0 is unrelated noise."""
    gen = torch.Generator().manual_seed(0)
    docs = [torch.randn(int(n), 5, generator=gen) for n in torch.randint(30, 60, (12,), generator=gen)]
    queries = [docs[i][5:17] + 0.05 * torch.randn(12, 5, generator=gen) for i in range(4)]
    queries.append(torch.randn(10, 5, generator=gen))
    doc_ids = [f"d{i:02d}" for i in range(12)]
    query_ids = [f"q{i}" for i in range(5)]
    docs_dir = _write_dir(tmp_path / "docs", doc_ids)
    split_dirs = {}
    for name in ("dev", "eval"):
        split_dirs[name] = _write_dir(tmp_path / f"queries_{name}", query_ids,
                                      [f"q{i} d{i:02d} 0.05 0.17" for i in range(4)])
    noise = lambda xs: [torch.randn(x.shape, generator=gen) for x in xs]  # noqa: E731
    feats = {docs_dir: [noise(docs), docs]}
    for d in split_dirs.values():
        feats[d] = [noise(queries), queries]
    monkeypatch.setattr(std_score, "_source", lambda args, splits: MemorySource(feats))
    return tmp_path, docs_dir, split_dirs


def _args(tmp_path, docs, queries, layer="all", **kw):
    return std_score.build_parser().parse_args(
        ["--upstream", "baseline", "--docs", docs, "--queries", *queries, "--layer", layer,
         "--out", str(tmp_path / "out"), *[x for k, v in kw.items() for x in (f"--{k}", v)]])


def test_planted_queries_give_perfect_mtwv_on_the_best_layer(planted):
    tmp_path, docs, splits = planted
    records = std_score.run(_args(tmp_path, docs, [splits["dev"], splits["eval"]]))
    sweep = json.loads((tmp_path / "out" / "layer_sweep.json").read_text())
    assert sweep["best_layer"] == 1 and sweep["mtwv"]["1"] == 1.0 and sweep["mtwv"]["0"] < 0.5
    for split in ("dev", "eval"):
        result = json.loads((tmp_path / "out" / f"{split}_results.json").read_text())
        assert result == records[split]
        assert {k: result[k] for k in ("split", "checkpoint", "step", "upstream", "downstream", "layer")} == {
            "split": split, "checkpoint": None, "step": 0, "upstream": "baseline", "downstream": "std", "layer": 1}
        assert result["metrics"][f"{split}-mtwv"] == 1.0
        assert result["n_queries_scored"] == 4  # q4 occurs nowhere: left out as in the official scoring
        lines = (tmp_path / "out" / f"{split}_detections.txt").read_text().splitlines()
        assert len(lines) == 5 * 12
        assert (tmp_path / "out" / split / "benchmark.stdlist.xml").read_text().count("<term ") == 60


def test_fixed_layer_and_select_on_errors(planted):
    tmp_path, docs, splits = planted
    records = std_score.run(_args(tmp_path, docs, [splits["dev"]], layer="0"))
    assert records["dev"]["layer"] == 0 and records["dev"]["metrics"]["dev-mtwv"] < 0.5
    with pytest.raises(ValueError, match="picks the layer on split 'dev'.*--select-on"):
        std_score.run(_args(tmp_path, docs, [f"x={splits['dev']}"]))


def test_ground_truth_errors_name_the_line(planted):
    tmp_path, docs, splits = planted
    gt = os.path.join(splits["dev"], "ground_truth")
    with open(gt, "a") as f:
        f.write("q1 nodoc 0.1 0.2\n")
    with pytest.raises(DataDirError, match=r"ground_truth:5: document 'nodoc' is not in the --docs wav.scp"):
        std_score.run(_args(tmp_path, docs, [splits["dev"]]))
    os.remove(gt)
    with pytest.raises(ValueError, match="ground_truth"):
        std_score.run(_args(tmp_path, docs, [splits["dev"]]))


def _score_cli(args: list[str], cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": REPO, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "speechbench.downstream.std.score", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)


def test_cli_on_the_fly(tiny_data, tmp_path):
    std = f"{tiny_data}/std"
    r = _score_cli(["--upstream", "baseline", "--queries", f"dev={std}/queries_dev", "--docs", f"{std}/docs",
                    "--layer", "0", "--num-threads", "1", "--out", "out"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads((tmp_path / "out" / "dev_results.json").read_text())
    assert result["layer"] == 0 and 0.0 <= result["metrics"]["dev-mtwv"] <= 1.0
    assert result["metrics"]["dev-mincnxe"] <= 1.0 + 1e-9  # PAV-calibrated scores never lose information
    r = _score_cli(["--upstream", "baseline", "--queries", f"{std}/queries_dev", "--docs", f"{std}/docs",
                    "--layer", "3", "--out", "bad"], tmp_path)
    assert r.returncode == 2 and "layer 3 does not exist" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_cli_on_the_fly_and_from_the_feature_cache_agree(tiny_data, tmp_path):
    std = f"{tiny_data}/std"
    sets = ("docs", "queries_dev", "queries_eval")
    for s in sets:
        r = subprocess.run([sys.executable, "-m", "speechbench.features.extract", "--upstream", "baseline",
                            "--data-dir", f"{std}/{s}", "--out", str(tmp_path / "dump" / s), "--num-threads", "1"],
                           capture_output=True, text=True, timeout=300,
                           env={**os.environ, "PYTHONPATH": REPO, "OMP_NUM_THREADS": "1"})
        assert r.returncode == 0, r.stderr[-2000:]
    common = ["--upstream", "baseline", "--queries", f"{std}/queries_dev", f"{std}/queries_eval", "--docs",
              f"{std}/docs", "--layer", "all", "--num-threads", "1"]
    r = _score_cli([*common, "--out", "fly"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    r = _score_cli([*common, "--out", "cached", "--feature-cache-docs", str(tmp_path / "dump/docs"),
                    "--feature-cache-queries", str(tmp_path / "dump/queries_dev"), str(tmp_path / "dump/queries_eval")],
                   tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    for split in ("dev", "eval"):
        fly = json.loads((tmp_path / "fly" / f"{split}_results.json").read_text())
        cached = json.loads((tmp_path / "cached" / f"{split}_results.json").read_text())
        assert fly["layer"] == cached["layer"] == 0
        assert set(fly["metrics"]) == {f"{split}-{m}" for m in ("mtwv", "atwv", "cnxe", "mincnxe")}
        for k, v in fly["metrics"].items():
            assert cached["metrics"][k] == pytest.approx(v, abs=1e-3)
    r = _score_cli([*common, "--out", "bad", "--feature-cache-docs", str(tmp_path / "dump/docs")], tmp_path)
    assert r.returncode == 2 and "one --feature-cache-queries per --queries dir" in r.stderr


def test_run_benchmark_points_to_the_scoring_entry_point(tmp_path):
    r = run_cli(["-m", "train", "-n", "std", "-p", str(tmp_path / "exp"), "-u", "baseline", "-d", "std"],
                cwd=str(tmp_path))
    assert r.returncode == 2
    assert "python -m speechbench.downstream.std.score" in r.stderr and "Traceback" not in r.stderr


def test_cli_user_errors_are_one_line_and_bugs_keep_their_traceback(planted, capsys, monkeypatch):
    tmp_path, docs, splits = planted
    args = ["--upstream", "baseline", "--docs", docs, "--out", str(tmp_path / "o"), "--queries", splits["dev"]]
    assert one_error_line(capsys, std_score.main, [*args, "--layer", "top"]) == (
        "error: --layer must be an integer or all, got 'top'")
    line = one_error_line(capsys, std_score.main, [*args, f"dev={splits['dev']}", "--layer", "0"])
    assert line.startswith("error: two --queries dirs are both named ['dev', 'dev']: name them NAME=DIR")
    assert_bug_propagates(monkeypatch, std_score.main, std_score, "run", args)
