import logging

import kaldiio
import numpy as np
import pytest
import soundfile
import torch

from speechbench.data.audio import AudioError, AudioReader, load_audio
from speechbench.data.kaldi_dir import write_kv


def test_wav_22k_stereo_is_resampled_and_mixed_down_with_one_warning(audio_dir, caplog):
    path = str(audio_dir / "c.wav")
    with caplog.at_level(logging.WARNING):
        wav = load_audio(path, "u1")
        again = load_audio(path, "u1")
    assert wav.dtype == torch.float32 and wav.dim() == 1
    assert wav.numel() == 4000  # 0.25 s at 16 kHz
    assert torch.equal(wav, again)
    stereo_warnings = [r for r in caplog.records if "mixing down" in r.getMessage()]
    assert len(stereo_warnings) == 1 and path in stereo_warnings[0].getMessage()
    # channels are tone * 0.5 and tone * 1.0: the mean is 0.75 * tone, peak 0.375
    assert wav.abs().max().item() == pytest.approx(0.375, abs=0.01)


def test_flac_8k_and_int16_scaling(tmp_path, audio_dir):
    wav = load_audio(str(audio_dir / "b.flac"))
    assert wav.numel() == 16000
    assert wav.abs().max().item() == pytest.approx(0.5, abs=0.01)
    path = str(tmp_path / "half.wav")
    soundfile.write(path, np.full(160, 16384, dtype=np.int16), 16000)
    assert torch.allclose(load_audio(path), torch.full((160,), 0.5))


def test_ogg_and_mp3(tmp_path, write_audio):
    ogg = write_audio(str(tmp_path / "x.ogg"), 0.5, 44100)
    mp3 = write_audio(str(tmp_path / "x.mp3"), 0.5, 22050, format="MP3")
    assert load_audio(ogg).numel() == 8000
    assert abs(load_audio(mp3).numel() - 8000) <= 1200  # mp3 adds encoder padding


def test_sox_pipe_entry(audio_dir):
    wav = load_audio(f"sox {audio_dir / 'b.flac'} -t wav - |", "u-pipe")
    assert torch.allclose(wav, load_audio(str(audio_dir / "b.flac")), atol=1e-4)
    with pytest.raises(AudioError, match=r"u-pipe.*exit code"):
        load_audio("sox /no/such/file.wav -t wav - |", "u-pipe")
    with pytest.raises(AudioError, match="wrote no audio"):
        load_audio("true |", "u-pipe")


def test_ark_offset_entry(tmp_path):
    ark, scp = str(tmp_path / "w.ark"), str(tmp_path / "w.scp")
    kaldiio.save_ark(ark, {"u1": (8000, np.full(800, 8192, dtype=np.int16)),
                           "m1": np.zeros((3, 4), dtype=np.float32)}, scp=scp)
    specs = dict(line.split() for line in open(scp))
    wav = load_audio(specs["u1"], "u1")
    assert wav.numel() == 1600
    assert wav[400:1200].mean().item() == pytest.approx(0.25, abs=1e-3)
    with pytest.raises(AudioError, match="matrix, not audio"):
        load_audio(specs["m1"], "m1")


@pytest.mark.parametrize("content,match", [
    (b"", "empty \\(0 bytes\\)"),
    (b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 4, "cannot decode"),
])
def test_empty_and_corrupt_files_name_utt_path_and_fix(tmp_path, content, match):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=match) as e:
        load_audio(str(path), "spk-utt7")
    msg = str(e.value)
    assert "spk-utt7" in msg and str(path) in msg and "fix:" in msg


def test_zero_sample_and_missing_file(tmp_path):
    path = str(tmp_path / "zero.wav")
    soundfile.write(path, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="0 samples"):
        load_audio(path, "u0")
    with pytest.raises(AudioError, match=r"'u9'.*not found: /no/file.wav") as e:
        load_audio("/no/file.wav", "u9")
    assert isinstance(e.value, ValueError)


def make_segmented_dir(tmp_path, audio_dir):
    d = tmp_path / "seg"
    d.mkdir()
    rec = str(tmp_path / "rec.wav")
    soundfile.write(rec, np.arange(32000, dtype=np.float32) / 32000 - 0.5, 16000, subtype="FLOAT")
    write_kv(d / "wav.scp", {"r1": rec, "r2": f"sox {rec} -t wav - |"})
    write_kv(d / "segments", {"r1-a": "r1 0.50 1.00", "r1-b": "r1 1.50 2.00",
                              "r2-a": "r2 0.50 1.00", "r2-late": "r2 1.9 2.3"})
    return d


def test_reader_honours_segments_for_files_and_pipes(tmp_path, audio_dir):
    d = make_segmented_dir(tmp_path, audio_dir)
    reader = AudioReader(str(d))
    assert reader.keys() == ["r1-a", "r1-b", "r2-a", "r2-late"] and len(reader) == 4
    full = torch.arange(32000, dtype=torch.float32) / 32000 - 0.5
    assert torch.allclose(reader["r1-a"], full[8000:16000])
    assert torch.allclose(reader["r1-b"], full[24000:32000])
    assert torch.allclose(reader["r2-a"], full[8000:16000], atol=1e-6)
    assert reader["r2-late"].numel() == 1600  # overshoot within 0.5 s is clipped, as Kaldi
    assert reader.duration("r1-b") == pytest.approx(0.5)
    with pytest.raises(KeyError, match="no audio"):
        reader["nope"]


def test_reader_rejects_segment_past_recording(tmp_path, audio_dir):
    d = make_segmented_dir(tmp_path, audio_dir)
    write_kv(d / "segments", {"r1-x": "r1 1.0 3.0"})
    with pytest.raises(AudioError, match="past the end of the recording"):
        AudioReader(str(d))["r1-x"]


def test_reader_duration_prefers_utt2dur(tmp_path, audio_dir):
    d = tmp_path / "d"
    d.mkdir()
    write_kv(d / "wav.scp", {"a": str(audio_dir / "a.wav"), "b": str(audio_dir / "b.flac")})
    write_kv(d / "utt2dur", {"a": "9.5"})
    reader = AudioReader(str(d))
    assert reader.duration("a") == 9.5
    assert reader.duration("b") == pytest.approx(1.0)
    assert reader["b"].numel() == 16000
