"""The README's seed commands, exactly as a newcomer types them."""
import json
import os

from testutil import REPO, run_cli

CONFIG = "speechbench/downstream/example/config.yaml"


def _train_and_evaluate(tmp_path, name: str, upstream: str) -> dict:
    done = run_cli(["-m", "train", "-n", name, "-u", upstream, "-d", "example", "-c", os.path.join(REPO, CONFIG)],
                   cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    expdir = tmp_path / "result" / "downstream" / name
    for f in ("config.yaml", "args.yaml", "train.log", "states-200.ckpt", "best-states-dev.ckpt"):
        assert (expdir / f).exists(), f
    done = run_cli(["-m", "evaluate", "-e", str(expdir / "best-states-dev.ckpt")], cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((expdir / "test_results.json").read_text())
    assert result["split"] == "test" and result["upstream"] == upstream
    assert len((expdir / "test_predictions.txt").read_text().splitlines()) == 64
    return result


def test_hello_world(tmp_path):
    result = _train_and_evaluate(tmp_path, "HelloWorld", "example")
    assert result["metrics"]["test-acc"] > 0.6  # four classes: chance is 0.25


def test_baseline_feature(tmp_path):
    result = _train_and_evaluate(tmp_path, "BaselineFeature", "baseline")
    assert result["metrics"]["test-acc"] > 0.6
