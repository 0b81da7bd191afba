"""Issue 12 for emotion: data dirs made from a small CSV train and evaluate; bad input is one clear line."""
from __future__ import annotations

import json
import os

from speechbench.data.kaldi_dir import read_kv
from speechbench.data.make_dir import main as make_dir_main
from testutil import run_cli


def _tables(tiny_data: str, out) -> str:
    """``<split>.csv`` (file, speaker, emotion) per split, paths relative to the returned audio root."""
    root = None
    for split in ("train", "dev", "test"):
        d = os.path.join(tiny_data, "emotion", split)
        wavs, spk, emo = (read_kv(os.path.join(d, n)) for n in ("wav.scp", "utt2spk", "utt2emotion"))
        root = os.path.dirname(next(iter(wavs.values())))
        rows = [f"{os.path.basename(wavs[u])},{spk[u]},{emo[u]}\n" for u in wavs]
        (out / f"{split}.csv").write_text("file,speaker,emotion\n" + "".join(rows))
    return root


def _make_dir(out, split: str, root: str, *extra: str) -> int:
    """``python -m speechbench.data.make_dir`` in-process (its main prints errors as the CLI does)."""
    return make_dir_main(["--csv", str(out / f"{split}.csv"), "--audio-root", root, "--out",
                          str(out / "data" / split), "--path-col", "file", "--speaker-col", "speaker", *extra])


def _datarc(out) -> str:
    return ",,".join([*(f"config.downstream_expert.datarc.{s}={out}/data/{s}" for s in ("train", "dev", "test")),
                      "config.runner.total_steps=4", "config.runner.eval_step=4", "config.runner.log_step=4",
                      "config.runner.gradient_accumulate_steps=1"])


def test_csv_to_data_dirs_trains_and_evaluates(tiny_data, tmp_path):
    root = _tables(tiny_data, tmp_path)
    for split in ("train", "dev", "test"):
        assert _make_dir(tmp_path, split, root, "--label-col", "emotion:utt2emotion") == 0
    assert read_kv(tmp_path / "data/test/utt2emotion") == read_kv(os.path.join(tiny_data, "emotion/test/utt2emotion"))
    train = run_cli(["-m", "train", "-n", "byod", "-u", "baseline", "-d", "emotion", "-o", _datarc(tmp_path)],
                    cwd=str(tmp_path))
    assert train.returncode == 0, train.stderr[-2000:]
    ev = run_cli(["-m", "evaluate", "-e", str(tmp_path / "result/downstream/byod/best-states-dev.ckpt")],
                 cwd=str(tmp_path))
    assert ev.returncode == 0, ev.stderr[-2000:]
    result = json.loads((tmp_path / "result/downstream/byod/test_results.json").read_text())
    assert 0.0 <= result["metrics"]["test-acc"] <= 1.0
    assert len((tmp_path / "result/downstream/byod/test_predictions.txt").read_text().splitlines()) == 8


def test_missing_column_and_missing_audio_are_one_line_each(tiny_data, tmp_path, capsys):
    root = _tables(tiny_data, tmp_path)
    assert _make_dir(tmp_path, "train", root, "--label-col", "mood:utt2emotion") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "column(s) 'mood' not found; columns present: 'file', 'speaker', 'emotion'" in err
    table = (tmp_path / "dev.csv").read_text().splitlines()
    table[2] = "gone.wav," + table[2].split(",", 1)[1]
    (tmp_path / "dev.csv").write_text("\n".join(table) + "\n")
    assert _make_dir(tmp_path, "dev", root, "--label-col", "emotion:utt2emotion") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"dev.csv:3: audio file not found: {root}/gone.wav" in err


def test_dev_label_unknown_to_train_is_one_line(tiny_data, tmp_path):
    root = _tables(tiny_data, tmp_path)
    table = (tmp_path / "dev.csv").read_text().splitlines()
    table[1] = table[1].rsplit(",", 1)[0] + ",bored"
    (tmp_path / "dev.csv").write_text("\n".join(table) + "\n")
    for split in ("train", "dev", "test"):
        assert _make_dir(tmp_path, split, root, "--label-col", "emotion:utt2emotion") == 0
    done = run_cli(["-m", "train", "-n", "bad", "-u", "baseline", "-d", "emotion", "-o", _datarc(tmp_path)],
                   cwd=str(tmp_path))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"{tmp_path}/data/dev/utt2emotion:1: label 'bored'" in lines[0]
    assert "(angry, happy, neutral, sad)" in lines[0]
