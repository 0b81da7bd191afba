"""Every upstream folder, present and future, against the contract in speechbench/contracts.py.

Each is built with random weights (what ``-k random`` gives), or from the tiny checkpoint that
``CHECKPOINTS`` makes for an upstream whose real loading path needs one, run on a padded batch of
three lengths and checked: output shapes and lengths, one utterance's features whatever it is
batched with, determinism, and a state-dict round trip into a second, differently seeded instance.
"""
from __future__ import annotations

from typing import Callable

import pytest
import torch

from speechbench import contracts, registry

LENGTHS = (16000, 11200, 6400)  # 1 s, 0.7 s, 0.4 s


def _hf_directory(folder: str) -> str:
    """A tiny random wav2vec 2.0 saved by transformers' ``save_pretrained`` (what ``-u hf -k DIR`` reads)."""
    import transformers

    torch.manual_seed(0)
    config = transformers.Wav2Vec2Config(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                         intermediate_size=24, conv_dim=(32,) * 7, num_conv_pos_embeddings=8,
                                         num_conv_pos_embedding_groups=4)
    transformers.Wav2Vec2Model(config).save_pretrained(folder)
    return folder


# upstream -> a function writing its checkpoint into a fresh folder and returning the -k value
CHECKPOINTS: dict[str, Callable[[str], str]] = {"hf": _hf_directory}


def _wavs() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [0.1 * torch.randn(n, generator=gen) for n in LENGTHS]


def _build(name: str, seed: int, ckpt: str | None) -> torch.nn.Module:
    torch.manual_seed(seed)
    return registry.build_upstream(name, ckpt).eval()


def _run(model: torch.nn.Module, wavs: list[torch.Tensor]) -> dict:
    with torch.inference_mode():
        return model(wavs)


# Every upstream that runs on audio (the control upstream's features are written from the labels).
AUDIO_UPSTREAMS = [name for name in registry.available("upstream")
                   if not getattr(registry.expert_class("upstream", name), "features_from_labels", False)]


@pytest.fixture(scope="module", params=AUDIO_UPSTREAMS)
def upstream(request, tmp_path_factory):
    """(name, model, output on the padded batch, the -k value it was built from)."""
    make = CHECKPOINTS.get(request.param)
    ckpt = make(str(tmp_path_factory.mktemp(request.param) / "ckpt")) if make else None
    model = _build(request.param, seed=0, ckpt=ckpt)
    return request.param, model, _run(model, _wavs()), ckpt


def test_output_shapes_and_lengths(upstream):
    name, model, out, _ = upstream
    contracts.check_upstream_output(out, len(LENGTHS), name)
    lengths = out["feature_lengths"].tolist()
    assert lengths == sorted(lengths, reverse=True) and lengths[0] == out["hidden_states"][0].shape[1]
    for frames, samples in zip(lengths, LENGTHS):  # frames follow downsample_rate (framing edges aside)
        assert abs(frames - samples / model.downsample_rate) <= 0.05 * samples / model.downsample_rate + 3
    assert out["last_hidden_state"] is out["hidden_states"][-1]
    assert all(torch.isfinite(h).all() for h in out["hidden_states"])


def test_an_utterance_does_not_depend_on_its_batch(upstream):
    name, model, out, _ = upstream
    for i, wav in enumerate(_wavs()):
        alone = _run(model, [wav])
        n = int(alone["feature_lengths"][0])
        assert n == int(out["feature_lengths"][i])
        for layer, (a, b) in enumerate(zip(alone["hidden_states"], out["hidden_states"])):
            scale = a[0, :n].abs().max().clamp(min=1.0)
            assert torch.allclose(a[0, :n], b[i, :n], atol=1e-4 * scale, rtol=1e-3), \
                f"{name}: utterance {i}, layer {layer} changes with its batch"


def test_deterministic(upstream):
    name, model, out, _ = upstream
    again = _run(model, _wavs())
    assert all(torch.equal(a, b) for a, b in zip(again["hidden_states"], out["hidden_states"]))


def test_state_dict_round_trip(upstream):
    name, model, out, ckpt = upstream
    other = _build(name, seed=1, ckpt=ckpt)
    other.load_state_dict(model.state_dict())
    again = _run(other, _wavs())
    assert all(torch.equal(a, b) for a, b in zip(again["hidden_states"], out["hidden_states"]))
