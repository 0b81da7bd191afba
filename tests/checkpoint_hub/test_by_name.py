"""``-k NAME`` end to end: the shipped model lists, served by a local site mirror.

``$SPEECHBENCH_MIRROR`` points at the local server, which serves a tiny file in the authors'
layout under each released model's name, so the runner, the extraction stage and a recipe
fetch through the cache exactly as they would from the authors (whose hosts the fixtures
make unreachable).
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from checkpoint_hub.conftest import sha256
from checkpoint_hub.releases import first_model, release_files
from speechbench.cli_benchmark import main as cli_main
from speechbench.hub.catalog import released_models, upstreams_with_models
from testutil import REPO, run_cli

SHORT = ("config.runner.total_steps=2,,config.runner.eval_step=2,,config.runner.save_step=2,,config.runner.log_step=1,,"
         "config.downstream_expert.datarc.num_utterances={train: 16, dev: 8, test: 8},,"
         "config.downstream_expert.datarc.batch_size=8")


@pytest.fixture
def mirror(server, cache_dir, monkeypatch):
    """``mirror(upstream) -> (model name, checkpoint sha256)``: serve its first model's tiny files."""
    monkeypatch.setenv("SPEECHBENCH_MIRROR", server.url)

    def serve(upstream: str) -> tuple[str, str]:
        model = first_model(upstream)
        files = release_files(upstream)
        for name, data in files.items():
            server.files[f"/{upstream}/{model.name}/{name}"] = data
        return model.name, sha256(files[model.checkpoint.name])

    return serve


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    from speechbench.corpora.mini import prepare_mini
    return prepare_mini(str(tmp_path_factory.mktemp("corpus")), size="tiny")


@pytest.mark.parametrize("upstream", [u for u in upstreams_with_models() if released_models(u)])
def test_every_upstream_trains_from_its_released_name(upstream, mirror, cache_dir, tmp_path, monkeypatch, capfd):
    """``run_benchmark.py -m train -u U -k NAME`` (in this process: one torch import for all)."""
    name, digest = mirror(upstream)
    monkeypatch.chdir(tmp_path)
    assert cli_main(["-m", "train", "-n", "x", "-u", upstream, "-k", name, "-d", "example", "-o", SHORT,
                     "--device", "cpu"]) == 0, capfd.readouterr().err[-3000:]
    file = first_model(upstream).checkpoint.name
    path = os.path.join(cache_dir, "models", upstream, name, file)
    args = json.loads((tmp_path / "result/downstream/x/args.yaml").read_text())
    assert args["upstream_ckpt"] == path
    assert args["upstream_weights"] == {"name": name, "path": path, "sha256": digest}
    assert f"{upstream}/{name}: {file}: fetching {os.environ['SPEECHBENCH_MIRROR']}/{upstream}/{name}/{file}" \
        in capfd.readouterr().err


def test_apc_phone_by_name_records_the_file(mirror, cache_dir, server, tiny, tmp_path):
    """The issue's command: -u apc -k apc_360hr -d phone, then evaluate and RESULTS.md."""
    name, digest = mirror("apc")
    read = os.path.join(tiny, "read")
    overrides = (f"config.downstream_expert.datarc.train={read}/train,,config.downstream_expert.datarc.dev={read}/dev,,"
                 f"config.downstream_expert.datarc.test={read}/test,,config.runner.total_steps=4,,"
                 "config.runner.eval_step=4,,config.runner.save_step=4,,config.runner.log_step=2")
    done = run_cli(["-m", "train", "-n", "apc", "-u", "apc", "-k", "apc_360hr", "-d", "phone", "-o", overrides],
                   cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    exp = tmp_path / "result/downstream/apc"
    done = run_cli(["-m", "evaluate", "-e", str(exp / "best-states-dev.ckpt")], cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((exp / "test_results.json").read_text())
    path = os.path.join(cache_dir, "models", "apc", "apc_360hr", "apc_360hr.ckpt")
    assert result["upstream_weights"] == {"name": "apc_360hr", "path": path, "sha256": digest}
    from speechbench.report.results import write_results
    write_results(str(exp))
    assert f"- upstream weights: `apc_360hr`, sha256 `{digest}`, file `{path}`" in (exp / "RESULTS.md").read_text()
    assert len(server.gets("/apc/apc_360hr/apc_360hr.ckpt")) == 1  # train and evaluate share one download


def test_missing_k_is_one_line_from_the_command(cache_dir, tmp_path):
    done = run_cli(["-m", "train", "-n", "x", "-u", "hubert", "-d", "example", "-o", SHORT], cwd=str(tmp_path))
    assert done.returncode == 2 and done.stderr.startswith(
        "error: -u hubert needs weights: give -k NAME with NAME one of hubert_base_ls960,")
    assert len(done.stderr.strip().splitlines()) == 1


def test_failures_are_one_line(catalog, cache_dir, server, tmp_path, monkeypatch, capfd):
    def error_line(name: str, after_download: bool = False) -> str:
        """The run's only output line (after a download: the line announcing it, then the error)."""
        assert cli_main(["-m", "train", "-n", "x", "-d", "example", "-o", SHORT, "-u", "hubert", "-k", name]) == 2
        lines = capfd.readouterr().err.strip().splitlines()
        assert len(lines) == 1 + after_download and lines[-1].startswith("error: "), lines
        assert not after_download or ": fetching http" in lines[0]
        return lines[-1]

    monkeypatch.chdir(tmp_path)
    url = catalog.add("hubert", "gone", None)
    assert error_line("gone") == (f"error: cannot fetch hubert/gone: {url}: HTTP 404 Not Found; put model.pt (from "
                                  f"{url}) at {os.path.join(cache_dir, 'models', 'hubert', 'gone', 'model.pt')} "
                                  f"and rerun")
    catalog.add("hubert", "far", None, urls=["http://127.0.0.1:9/far.pt"])
    assert "far.pt: no connection (" in error_line("far")
    catalog.add("hubert", "bad", b"x" * 100, sha256="1" * 64)
    assert "not the " + "1" * 64 + " published by the authors" in error_line("bad", after_download=True)
    monkeypatch.setenv("SPEECHBENCH_OFFLINE", "1")
    assert "$SPEECHBENCH_OFFLINE is set: put hubert_base_ls960.pt (from https://dl.fbaipublicfiles.com/hubert/" \
        in error_line("hubert_base_ls960")


def test_random_weights_only_with_k_random(cache_dir, tmp_path):
    done = run_cli(["-m", "train", "-n", "r", "-u", "apc", "-k", "random", "-d", "example", "-o", SHORT],
                   cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    args = json.loads((tmp_path / "result/downstream/r/args.yaml").read_text())
    assert args["upstream_ckpt"] is None and args["upstream_weights"]["name"] == "random"


@pytest.mark.slow
def test_recipe_takes_a_name(mirror, cache_dir, server, tiny, tmp_path):
    """egs/phone stages 1-3 (data, features, training) with --upstream-ckpt apc_360hr."""
    mirror("apc")
    read = os.path.join(tiny, "read")
    quick = "config.runner.total_steps=2,,config.runner.eval_step=2,,config.runner.save_step=2,,config.runner.log_step=1"
    proc = subprocess.run(["bash", "egs/phone/run.sh", "--stage", "1", "--stop-stage", "3", "--nj", "1",
                           "--train-dir", f"{read}/train", "--dev-dir", f"{read}/dev", "--test-dir", f"{read}/test",
                           "--data-tag", "hub_test", "--expdir", str(tmp_path / "exp"), "--upstream", "apc",
                           "--upstream-ckpt", "apc_360hr", "--extra-overrides", quick],
                          cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    args = json.loads((tmp_path / "exp" / "hub_test" / "apc_apc_360hr_ws" / "args.yaml").read_text())
    path = os.path.join(cache_dir, "models", "apc", "apc_360hr", "apc_360hr.ckpt")
    assert args["upstream_ckpt"] == path and args["upstream_weights"]["name"] == "apc_360hr"
    meta = json.loads(open(os.path.join(REPO, "egs/phone/dump/hub_test/apc_apc_360hr/train/meta.json")).read())
    assert meta["upstream_ckpt"] == path
    assert len(server.gets("/apc/apc_360hr/apc_360hr.ckpt")) == 1
