"""ASR on the tiny corpus: train + beam-search evaluation (WER/CER reports), padding, SpecAugment, metric hook."""
from __future__ import annotations

import json
import os

import pytest
import torch

from speechbench.downstream._modules.units import build_units
from speechbench.downstream.asr.expert import DownstreamExpert, stack_frames
from speechbench.downstream.asr.specaug import SPECAUG, SpecAugment
from speechbench.metrics.error_rate import char_tokens, error_rate
from testutil import dev_improves, run_cli

SMALL = (",,config.downstream_expert.modelrc.hidden_size=16,,config.downstream_expert.modelrc.project_dim=16"
         ",,config.downstream_expert.datarc.batch_size=8,,config.optimizer.lr=0.01")


@pytest.mark.slow  # two run_benchmark.py processes: 20-50 s on a busy 2-core machine
def test_sentencepiece_asr_trains_and_decodes_with_beam_search(tiny_read, overrides, tmp_path):
    lang = tmp_path / "lang_bpe"
    build_units(os.path.join(tiny_read, "train", "text"), "sentencepiece", str(lang), vocab_size=60)
    o = (overrides(str(lang / "tokens.txt")) + SMALL + ",,config.downstream_expert.datarc.unit=sentencepiece"
         f",,config.downstream_expert.datarc.spm_model={lang / 'spm.model'},,config.downstream_expert.modelrc.downsample=2")
    r = run_cli(["-m", "train", "-n", "asr", "-u", "baseline", "-d", "asr", "-o", o], cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr[-3000:]
    exp = tmp_path / "result" / "downstream" / "asr"
    r = run_cli(["-m", "evaluate", "-e", str(exp / "best-states-dev.ckpt"), "-t", "test",
                 "-o", "config.downstream_expert.decoderc.type=beam,,config.downstream_expert.decoderc.beam=3"],
                cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads((exp / "test_results.json").read_text())["metrics"]
    assert set(metrics) == {"test-loss", "test-wer_beam3", "test-cer_beam3"} and metrics["test-wer_beam3"] > 0
    for unit, name in (("word", "WER"), ("char", "CER")):
        report = exp / "decode_test_beam" / unit
        assert (report / "result.txt").read_text().startswith(name)
        assert len((report / "hyp.trn").read_text().splitlines()) == 8
    assert len((exp / "test_predictions.txt").read_text().splitlines()) == 8


@pytest.fixture(scope="module")
def expert(tiny_read, lang, tmp_path_factory) -> DownstreamExpert:
    conf = {"datarc": {"train": f"{tiny_read}/train", "dev": f"{tiny_read}/dev", "test": f"{tiny_read}/test",
                       "tokens": lang["char"]},
            "modelrc": {"project_dim": 8, "hidden_size": 8, "downsample": 2}}
    torch.manual_seed(0)
    return DownstreamExpert(6, conf, str(tmp_path_factory.mktemp("asr_exp")))


def test_padding_never_changes_an_utterance(expert):
    expert.eval()
    feats = [torch.randn(n, 6) for n in (9, 17, 4)]
    lengths = torch.tensor([9, 17, 4])
    padded = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)
    batch, out_lengths = expert.logits(padded, lengths)
    assert out_lengths.tolist() == [5, 9, 2]
    for i, f in enumerate(feats):
        single, n = expert.logits(f[None], lengths[i:i + 1])
        assert torch.allclose(batch[i, :n[0]], single[0], atol=1e-5)


def test_stack_frames_concatenates_neighbours():
    x = torch.arange(10.0).reshape(1, 5, 2)
    stacked, lengths = stack_frames(x, torch.tensor([5]), 2)
    assert stacked.shape == (1, 3, 4) and lengths.tolist() == [3]
    assert stacked[0, 1].tolist() == [4.0, 5.0, 6.0, 7.0] and stacked[0, 2].tolist() == [8.0, 9.0, 0.0, 0.0]


def test_specaugment_stays_inside_each_utterance():
    aug = SpecAugment({**SPECAUG, "time_mask_width_range": [3, 3], "freq_mask_width_range": [2, 2]})
    x = torch.ones(2, 50, 8) + 1.0
    x[1, 30:] = 7.0  # padding of the second utterance
    lengths = torch.tensor([50, 30])
    torch.manual_seed(0)
    out = aug.train()(x, lengths)
    assert torch.equal(out[1, 30:], x[1, 30:])
    assert (out[0] == 0).any() and (out[1, :30] == 0).any()
    for i, n in enumerate(lengths.tolist()):  # every zero lies in a masked time band or frequency band
        zero = out[i, :n] == 0
        rows, cols = zero.all(1), zero.all(0)
        assert rows.sum() <= SPECAUG["num_time_mask"] * 3 and cols.sum() <= SPECAUG["num_freq_mask"] * 2
        assert torch.equal(zero, rows[:, None] | cols[None, :])
    assert torch.equal(aug.eval()(x, lengths), x)


def test_metric_hook_scores_words_and_characters(expert, tmp_path):
    class Logger:
        def __init__(self):
            self.values = {}

        def add_scalar(self, tag, value, step):
            self.values[tag] = value

    refs = [("u1", "the cat sat"), ("u2", "a dog")]
    hyps = [("u1", "the cat sad"), ("u2", "a dog ran")]
    log = Logger()
    expert.log_records("dev", {"loss": [1.0], "refs": refs, "hyps": hyps}, log, 10)
    assert log.values["dev-wer"] == pytest.approx(2 / 5)
    want_cer = error_rate({u: char_tokens(t) for u, t in refs}, {u: char_tokens(t) for u, t in hyps}).rate
    assert log.values["dev-cer"] == pytest.approx(want_cer)
    assert dev_improves(expert, log.values, None)
    best = log.values["dev-wer"]
    expert.log_records("dev", {"loss": [1.0], "refs": refs, "hyps": hyps}, log, 20)
    assert not dev_improves(expert, log.values, best)  # not better


def test_unknown_dev_character_and_bad_sections(tiny_read, lang, tmp_path):
    import shutil

    from speechbench.data.kaldi_dir import DataDirError, read_kv, write_kv
    from speechbench.train.config import ConfigError
    dev = tmp_path / "dev"
    shutil.copytree(os.path.join(tiny_read, "dev"), dev, ignore=shutil.ignore_patterns("ali.*"))
    text = read_kv(dev / "text")
    first = sorted(text)[0]
    text[first] += " café"
    write_kv(dev / "text", text)
    conf = {"datarc": {"train": f"{tiny_read}/train", "dev": str(dev), "test": f"{tiny_read}/test",
                       "tokens": lang["char"]}, "modelrc": {"hidden_size": 4, "project_dim": 4}}
    with pytest.raises(DataDirError, match=f"symbols are not in .*: 'é' \\(e.g. in {first}\\)"):
        DownstreamExpert(6, conf, str(tmp_path))
    with pytest.raises(ConfigError, match="unknown sections in asr downstream_expert: \\['decoder'\\]"):
        DownstreamExpert(6, {**conf, "decoder": {}}, str(tmp_path))
