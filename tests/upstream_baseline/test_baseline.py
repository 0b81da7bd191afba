"""The fbank/MFCC/mel/linear baseline: Kaldi-compatible values, frame counts, options, errors."""
import pytest
import torch
import torchaudio

from speechbench.upstream.baseline.expert import UpstreamExpert


def _wavs():
    torch.manual_seed(0)
    return [torch.randn(n) * 0.1 for n in (16000, 27200, 36800)]


@pytest.mark.parametrize("feature,dim,frames", [("fbank", 80, 98), ("mfcc", 13, 98), ("mel", 80, 101),
                                                ("linear", 201, 101)])
def test_shapes_and_frame_counts(feature, dim, frames):
    out = UpstreamExpert(feature=feature)(_wavs())
    assert len(out["hidden_states"]) == 1 and out["last_hidden_state"].shape[-1] == dim
    assert out["feature_lengths"][0].item() == frames
    assert UpstreamExpert.downsample_rate == 160


def test_fbank_equals_kaldi_compliance():
    wav = _wavs()[1]
    ours = UpstreamExpert()([wav])["last_hidden_state"][0]
    ref = torchaudio.compliance.kaldi.fbank(wav[None], num_mel_bins=80, dither=0.0, sample_frequency=16000)
    assert torch.equal(ours, ref)


def test_batched_equals_one_by_one():
    model = UpstreamExpert(feature="mel", delta=2, cmvn=True)
    wavs = _wavs()
    batch = model(wavs)
    for i, w in enumerate(wavs):
        n = batch["feature_lengths"][i]
        assert torch.allclose(batch["last_hidden_state"][i, :n], model([w])["last_hidden_state"][0], atol=1e-6)
        assert batch["last_hidden_state"][i, n:].abs().sum() == 0


def test_deltas_and_cmvn():
    out = UpstreamExpert(feature="fbank", num_mel_bins=40, delta=2, cmvn="true")([_wavs()[2]])["last_hidden_state"][0]
    assert out.shape[-1] == 120
    assert out.mean(0).abs().max() < 1e-4 and (out.std(0, unbiased=False) - 1).abs().max() < 1e-2


def test_options_from_a_yaml_file(tmp_path):
    (tmp_path / "mfcc.yaml").write_text("feature: mfcc\nnum_ceps: 20\ndelta: 1\n")
    assert UpstreamExpert(str(tmp_path / "mfcc.yaml"))(_wavs())["last_hidden_state"].shape[-1] == 40
    assert UpstreamExpert(str(tmp_path / "mfcc.yaml"), delta=0)(_wavs())["last_hidden_state"].shape[-1] == 20


@pytest.mark.parametrize("options,message", [({"featur": "mfcc"}, "unknown options"),
                                              ({"feature": "plp"}, "is not one of"),
                                              ({"delta": 3}, "delta must be")])
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        UpstreamExpert(**options)


def test_too_short_utterance():
    with pytest.raises(ValueError, match="shorter than one 25 ms window"):
        UpstreamExpert()([torch.zeros(300)])
