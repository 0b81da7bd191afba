"""A tiny Kaldi data dir of synthetic voiced sounds, and tiny official-layout configs."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile

AUDIO = {"feat_type": "fbank", "feat_dim": 80, "frame_length": 25, "frame_shift": 10,
         "decode_wav": False, "cmvn": True}
TINY = {
    "apc": {"data": {"audio": AUDIO}, "model": {"paras": {"num_layers": 2, "hidden_size": 16, "dropout": 0.1,
                                                           "residual": True}},
            "task": {"sequence_length": 300, "n_future": 3}},
    "vq_apc": {"data": {"audio": AUDIO},
               "model": {"paras": {"num_layers": 2, "hidden_size": 16, "dropout": 0.1, "residual": True,
                                   "vq": {"codebook_size": [8], "code_dim": [16], "gumbel_temperature": 0.5}}},
               "task": {"sequence_length": 300, "n_future": 3}},
    "npc": {"data": {"audio": AUDIO},
            "model": {"paras": {"kernel_size": 7, "mask_size": 1, "n_blocks": 2, "hidden_size": 16, "dropout": 0.1,
                                "residual": True, "batch_norm": True, "activate": "relu",
                                "disable_cross_layer": False,
                                "vq": {"codebook_size": [8, 8], "code_dim": [8, 8], "gumbel_temperature": 1.0}}}},
}


@pytest.fixture
def tiny_config():
    """``tiny_config(name, **pretrain)`` -> ``{'pretrain': {...}, 'objective': {...}}``."""
    def make(name: str, **pretrain) -> dict:
        loop = {"steps": 4, "batch_size": 3, "lr": 3e-3, "max_seconds": 0.8, "save_every": 2, "log_every": 2}
        return {"pretrain": {**loop, **pretrain}, "objective": TINY[name]}
    return make


@pytest.fixture
def data_dir(tmp_path):
    """7 utterances of 0.4-1.2 s (voiced harmonics + noise) and one 0.05 s clip, in a Kaldi dir."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    (root / "wav").mkdir(parents=True)
    lines = []
    for i, seconds in enumerate([0.4, 0.5, 0.7, 0.9, 1.0, 1.1, 1.2, 0.05]):
        t = np.arange(int(seconds * 16000)) / 16000
        f0 = 100 + 30 * i + 20 * np.sin(2 * np.pi * 2 * t)
        phase = 2 * np.pi * np.cumsum(f0) / 16000
        wav = sum(np.sin(k * phase) / k for k in range(1, 6)) * 0.2 + 0.02 * rng.standard_normal(len(t))
        path = root / "wav" / f"u{i}.wav"
        soundfile.write(path, wav.astype(np.float32), 16000)
        lines.append(f"spk-u{i} {path}\n")
    (root / "wav.scp").write_text("".join(sorted(lines)))
    return str(root)
