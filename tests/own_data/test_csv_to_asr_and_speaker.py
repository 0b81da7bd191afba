"""A CSV of audio paths, transcripts and speakers becomes data dirs that ASR and speaker ID
train and score on with no code change (audio in another rate and format: flac at 8 kHz)."""
import json
import os

import pytest
import soundfile as sf

from speechbench.data.audio import load_audio
from speechbench.data.kaldi_dir import read_kv
from speechbench.data.make_dir import make_data_dir
from testutil import run_cli

FAST = "config.runner.total_steps=4,,config.runner.eval_step=4,,config.runner.save_step=4,,config.runner.log_step=2"


@pytest.fixture(scope="module")
def csv_data(tiny_data, tmp_path_factory):
    """train/dev/test CSVs over the tiny corpus' read speech, audio re-encoded as 8 kHz flac."""
    out = tmp_path_factory.mktemp("own")
    (out / "audio").mkdir()
    for split in ("train", "dev", "test"):
        d = os.path.join(tiny_data, "read", split)
        wavs, text, spk = (read_kv(os.path.join(d, n)) for n in ("wav.scp", "text", "utt2spk"))
        rows = ["path\ttranscript\tspeaker"]
        for utt, path in wavs.items():
            audio = load_audio(path, utt, target_sr=8000).numpy()
            sf.write(out / "audio" / f"{utt}.flac", audio, 8000)
            rows.append(f"{utt}.flac\t{text[utt]}\t{spk[utt]}")
        (out / f"{split}.tsv").write_text("\n".join(rows) + "\n")
        n = make_data_dir(str(out / f"{split}.tsv"), str(out / "audio"), str(out / "data" / split), path_col="path",
                          text_col="transcript", speaker_col="speaker")
        assert n == len(wavs)
    return out


def _datarc(root) -> str:
    return ",,".join(f"config.downstream_expert.datarc.{s}={root}/data/{s}" for s in ("train", "dev", "test"))


def _train_and_score(root, task: str, extra: str) -> dict:
    name = f"own_{task}"
    done = run_cli(["-m", "train", "-n", name, "-u", "baseline", "-d", task, "-o", f"{_datarc(root)},,{FAST},,{extra}"],
                   cwd=str(root))
    assert done.returncode == 0, done.stderr[-2000:]
    done = run_cli(["-m", "evaluate", "-e", str(root / "result/downstream" / name / "states-4.ckpt")], cwd=str(root))
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads((root / "result/downstream" / name / "test_results.json").read_text())["metrics"]


def test_speaker_id_from_a_csv(csv_data):
    metrics = _train_and_score(csv_data, "speaker", "config.downstream_expert.datarc.batch_size=4")
    assert 0.0 <= metrics["test-acc"] <= 1.0
    assert len((csv_data / "result/downstream/own_speaker/test_predictions.txt").read_text().splitlines()) == 8


def test_asr_from_a_csv(csv_data):
    from speechbench.downstream._modules.units import build_units
    units = build_units(str(csv_data / "data/train/text"), "char", str(csv_data / "lang_char"))
    assert "a" in units
    metrics = _train_and_score(csv_data, "asr", f"config.downstream_expert.datarc.tokens={csv_data}/lang_char/tokens.txt,,"
                                                 "config.downstream_expert.modelrc.hidden_size=16,,"
                                                 "config.downstream_expert.modelrc.project_dim=16,,"
                                                 "config.downstream_expert.datarc.batch_size=4")
    assert metrics["test-wer"] >= 0.0 and metrics["test-cer"] >= 0.0
    hyp = (csv_data / "result/downstream/own_asr/decode_test_greedy/word/hyp.trn")
    assert hyp.exists() and len(hyp.read_text().splitlines()) == 8


def test_missing_audio_path_is_one_line(csv_data, tmp_path):
    from speechbench.data.make_dir import main
    table = (csv_data / "dev.tsv").read_text().splitlines()
    table[1] = "nowhere.flac\t" + table[1].split("\t", 1)[1]
    (tmp_path / "bad.tsv").write_text("\n".join(table) + "\n")
    assert main(["--csv", str(tmp_path / "bad.tsv"), "--audio-root", str(csv_data / "audio"), "--out",
                 str(tmp_path / "d"), "--path-col", "path", "--text-col", "transcript"]) == 2
