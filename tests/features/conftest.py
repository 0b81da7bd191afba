"""A tiny deterministic upstream and data dir for the feature-extraction tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from torch import nn

from speechbench import registry
from speechbench.upstream.base import pad_wavs, upstream_output

# Utterance lengths in samples (16 kHz): 0.3 s to 1.1 s.
LENGTHS = {"spk1-a": 4800, "spk1-b": 17600, "spk2-c": 9600, "spk2-d": 12000, "spk3-e": 6400}


class FakeUpstream(nn.Module):
    """Three hidden states (dims 4, 6, 3) from a strided conv; frames = (L - 400) // 160 + 1.

    Options: ``scale`` multiplies the first layer (large values overflow float16).
    ``batches`` records each forward's batch size so tests can count recomputation.
    """

    downsample_rate = 160
    batches: list[int] = []

    def __init__(self, ckpt: str | None = None, scale: float = 1.0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.conv = nn.Conv1d(1, 4, 400, stride=160)
        self.l1, self.l2 = nn.Linear(4, 6), nn.Linear(6, 3)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        self.scale = float(scale)

    def forward(self, wavs: list[torch.Tensor]) -> dict:
        FakeUpstream.batches.append(len(wavs))
        padded, lengths = pad_wavs(wavs)
        h0 = self.conv(padded[:, None]).transpose(1, 2) * self.scale
        h1 = torch.tanh(self.l1(h0))
        h2 = self.l2(h1)
        return upstream_output([h0, h1, h2], (lengths - 400) // 160 + 1)


@pytest.fixture
def fake_upstream(monkeypatch) -> type[FakeUpstream]:
    """Make ``--upstream fake`` resolve to :class:`FakeUpstream`."""
    real = registry.expert_class
    monkeypatch.setattr(registry, "expert_class",
                        lambda kind, name: FakeUpstream if (kind, name) == ("upstream", "fake") else real(kind, name))
    FakeUpstream.batches = []
    return FakeUpstream


@pytest.fixture
def utt_lengths() -> dict[str, int]:
    """Samples per utterance of :func:`data_dir`."""
    return dict(LENGTHS)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A Kaldi data dir of five noise wavs with the lengths in LENGTHS."""
    rng = np.random.default_rng(0)
    wav_dir, data = tmp_path / "wav", tmp_path / "data"
    wav_dir.mkdir()
    data.mkdir()
    lines = []
    for utt, n in LENGTHS.items():
        path = wav_dir / f"{utt}.wav"
        soundfile.write(path, (0.1 * rng.standard_normal(n)).astype(np.float32), 16000, subtype="PCM_16")
        lines.append(f"{utt} {path}\n")
    (data / "wav.scp").write_text("".join(sorted(lines)))
    (data / "utt2spk").write_text("".join(f"{u} {u.split('-')[0]}\n" for u in sorted(LENGTHS)))
    return data
