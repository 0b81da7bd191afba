"""`validate --audio`: every recording is opened before training, and the summary counts conversions."""
from __future__ import annotations

import numpy as np
import soundfile

from speechbench.data.kaldi_dir import write_kv
from speechbench.data.validate import check_audio_files, main


def _broken_files(d) -> dict[str, str]:
    """One file per way a recording can be unusable, each under a .wav name."""
    d.mkdir()
    (d / "empty.wav").write_bytes(b"")
    (d / "garbage.wav").write_bytes(b"this is not audio at all" * 40)
    soundfile.write(d / "header_only.wav", np.zeros(0, dtype=np.float32), 16000)
    nan = np.full(8000, 0.1, dtype=np.float32)
    nan[100] = np.nan
    soundfile.write(d / "nan.wav", nan, 16000, subtype="FLOAT")
    soundfile.write(d / "click.wav", np.zeros(160, dtype=np.float32), 16000)  # 0.01 s
    return {f"u-{name}": str(d / f"{name}.wav") for name in ("click", "empty", "garbage", "header_only", "nan")}


def test_every_broken_file_is_an_error_naming_the_utterance(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    wavs = _broken_files(tmp_path / "audio")
    write_kv(data / "wav.scp", wavs)
    assert main([str(data)]) == 0  # without --audio nothing is opened
    capsys.readouterr()
    assert main([str(data), "--audio"]) == 1
    out = capsys.readouterr()
    reasons = {"u-empty": "audio file is empty (0 bytes)", "u-garbage": "cannot decode audio",
               "u-header_only": "audio is empty (0 samples)", "u-nan": "NaN/Inf samples",
               "u-click": "0.010 s long, shorter than 0.03 s"}
    for utt, reason in reasons.items():
        line = next(x for x in out.out.splitlines() if f"'{utt}'" in x)
        assert line.startswith("ERROR wav.scp:") and reason in line, line
    assert f"{data}: 5 errors, 0 warnings" in out.out
    assert "audio: 5 files opened, 5 unusable" in out.out
    assert "audio: 5/5 files checked" in out.err


def test_summary_counts_multichannel_and_resampled_files(tmp_path, audio_dir, capsys):
    data = tmp_path / "data"
    data.mkdir()
    write_kv(data / "wav.scp", {f"u-{n}": str(audio_dir / n) for n in ("a.wav", "b.flac", "c.wav")})
    assert main([str(data), "--audio"]) == 0
    out = capsys.readouterr().out
    assert ("audio: 3 files opened, 0 unusable; 1 with 2+ channels (mixed down to mono on load); 2 not at "
            "16000 Hz (resampled on load: 8000 Hz x1, 22050 Hz x1)") in out


def test_segments_past_their_recording_are_errors(tmp_path, audio_dir):
    data = tmp_path / "data"
    data.mkdir()
    write_kv(data / "wav.scp", {"rec": str(audio_dir / "a.wav")})  # 0.5 s
    write_kv(data / "segments", {"rec-1": "rec 0.0 0.4", "rec-2": "rec 0.2 1.5"})
    calls = []
    problems, summary = check_audio_files(data, lambda done, total: calls.append((done, total)))
    assert [(p.file, p.line) for p in problems] == [("segments", 2)]
    assert "ends at 1.500 s, past the end of 'rec' (0.500 s)" in problems[0].message
    assert summary.files == 1 and calls == [(1, 1)]
