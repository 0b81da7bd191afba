"""Official-layout files load and give the reference hidden states (max abs diff <= 1e-4)."""
from __future__ import annotations

import pytest
import torch

from upstream_tera import mr_reference as ref
from speechbench.upstream.audio_albert.expert import UpstreamExpert as AlbertExpert
from speechbench.upstream.mockingjay.expert import UpstreamExpert as MockingjayExpert
from speechbench.upstream.tera.expert import UpstreamExpert as TeraExpert

TOL = 1e-4


def _speechlike(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n) / 16000
    tone = torch.sin(2 * torch.pi * 220 * t) * (1 + torch.sin(2 * torch.pi * 3 * t))
    return 0.1 * tone + 0.02 * torch.randn(n, generator=g)


def _max_diff(ours: list[torch.Tensor], theirs: list[torch.Tensor]) -> float:
    assert len(ours) == len(theirs)
    return max(float((a[0] - b).abs().max()) for a, b in zip(ours, theirs))


@pytest.mark.parametrize("generation,pre_ln,share,legacy,stack,expert", [
    ("c", False, False, False, 1, TeraExpert),
    ("b", False, False, True, 1, MockingjayExpert),      # oldest files: Config section, gamma/beta names
    ("c", True, False, False, 1, TeraExpert),            # pre-LN variant with its aliased LayerNorms
    ("c", False, True, False, 1, AlbertExpert),          # ALBERT: one layer shared by every index
    ("b", False, False, False, 3, MockingjayExpert),     # Mockingjay frame stacking, 30 ms frames
])
def test_official_file_matches_reference(tmp_path, generation, pre_ln, share, legacy, stack, expert):
    cfg = ref.model_config(pre_ln=pre_ln, share=share, stack=stack)
    state = ref.transformer_state(cfg, 80, seed=1)
    path = tmp_path / "states-1000000.ckpt"
    ref.save_official(path, cfg, ref.transformer_state(cfg, 80, seed=1, legacy_names=legacy), generation,
                      optimizer_module="s3prl.optimizers" if generation == "c" else "optimizers")
    model = expert(ckpt=str(path)).eval()
    wav = _speechlike(19000)
    with torch.no_grad():
        out = model([wav])
    expected = ref.reference_hidden_states(ref.log_mel_cmvn(wav), state, cfg)
    assert len(out["hidden_states"]) == ref.LAYERS + 1
    assert model.downsample_rate == 160 * stack
    assert int(out["feature_lengths"][0]) == (1 + 19000 // 160) // stack == expected[0].shape[0]
    assert _max_diff(out["hidden_states"], expected) <= TOL


def test_chunks_beyond_sequence_length_match_reference(tmp_path):
    cfg = ref.model_config(seq_len=40)
    state = ref.transformer_state(cfg, 80, seed=2)
    path = tmp_path / "tera.ckpt"
    ref.save_official(path, cfg, state)
    wav = _speechlike(16000, seed=3)  # 101 frames -> chunks of 34, 34, 33
    with torch.no_grad():
        out = TeraExpert(ckpt=str(path)).eval()([wav])
    expected = ref.reference_hidden_states(ref.log_mel_cmvn(wav), state, cfg)
    assert out["hidden_states"][0].shape[1] == 101
    assert _max_diff(out["hidden_states"], expected) <= TOL
    # positions restart in each chunk: frame 34 has the input representation of a first frame
    unchunked = ref.reference_hidden_states(ref.log_mel_cmvn(wav), state, ref.model_config(seq_len=1500))
    assert float((out["hidden_states"][0][0, 34] - unchunked[0][34]).abs().max()) > 1e-2


def test_kaldi_fbank_front_end_matches_reference(tmp_path):
    cfg = ref.model_config(n_mels=40, kaldi=True)
    state = ref.transformer_state(cfg, 120, seed=4)
    path = tmp_path / "tera_fbank.ckpt"
    ref.save_official(path, cfg, state)
    wav = _speechlike(12000, seed=5)
    with torch.no_grad():
        out = TeraExpert(ckpt=str(path)).eval()([wav])
    expected = ref.reference_hidden_states(ref.kaldi_fbank_deltas_cmvn(wav, 40), state, cfg)
    assert out["hidden_states"][0].shape[1] == 1 + (12000 - 400) // 160
    assert _max_diff(out["hidden_states"], expected) <= TOL


def test_front_end_alone_matches_reference():
    model = TeraExpert(hidden_size=32, num_layers=1, num_heads=4, intermediate_size=64)
    wav = _speechlike(7777, seed=6)
    ours = model.features([wav])[0]
    assert ours.shape == (1 + 7777 // 160, 80)
    assert float((ours - ref.log_mel_cmvn(wav)).abs().max()) <= TOL
