"""Hand-built checkpoints in the released APC / VQ-APC / NPC layout (names and shapes written out here).

The state dicts are assembled key by key from the layout in shared/notes/checkpoints.md,
not from our modules, so a renamed parameter in our code fails the tests.
"""
from __future__ import annotations

import os

import pytest
import torch

AUDIO = {"feat_type": "fbank", "feat_dim": 80, "frame_length": 25, "frame_shift": 10,
         "decode_wav": False, "cmvn": True}


def _rand(gen: torch.Generator, *shape: int, scale: float = 0.3) -> torch.Tensor:
    return (torch.rand(*shape, generator=gen) * 2 - 1) * scale


def _apc_file(hidden: int = 24, layers: int = 3, vq: bool = False, seed: int = 0) -> dict:
    """``{'config', 'model'}`` of a small APC (or VQ-APC with one codebook of 16)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for i in range(layers):
        in_size = 80 if i == 0 else hidden
        state[f"rnn_layers.{i}.weight_ih_l0"] = _rand(gen, 3 * hidden, in_size)
        state[f"rnn_layers.{i}.weight_hh_l0"] = _rand(gen, 3 * hidden, hidden)
        state[f"rnn_layers.{i}.bias_ih_l0"] = _rand(gen, 3 * hidden)
        state[f"rnn_layers.{i}.bias_hh_l0"] = _rand(gen, 3 * hidden)
    paras = {"num_layers": layers, "hidden_size": hidden, "dropout": 0.1, "residual": True}
    if vq:
        state["vq_layers.0.vq_logits.weight"] = _rand(gen, 16, hidden)
        state["vq_layers.0.vq_logits.bias"] = _rand(gen, 16)
        state["vq_layers.0.codebook_CxE.weight"] = _rand(gen, hidden, 16)
        paras["vq"] = {"codebook_size": [16], "code_dim": [hidden], "gumbel_temperature": 0.5}
    state["postnet.weight"] = _rand(gen, 80, hidden)
    state["postnet.bias"] = _rand(gen, 80)
    config = {"data": {"audio": dict(AUDIO)}, "model": {"paras": paras},
              "task": {"sequence_length": 1500, "n_future": 5}}
    return {"config": config, "model": state}


def _npc_file(hidden: int = 16, blocks: int = 3, kernel: int = 11, mask: int = 3, seed: int = 0) -> dict:
    """``{'config', 'model'}`` of a small NPC with 2 VQ groups, BN running stats and stored masks."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for i in range(blocks):
        in_size = 80 if i == 0 else hidden
        state[f"blocks.{i}.conv.weight"] = _rand(gen, hidden, in_size, 3)
        state[f"blocks.{i}.conv.bias"] = _rand(gen, hidden)
        state[f"blocks.{i}.linear.weight"] = _rand(gen, hidden, hidden, 1)
        state[f"blocks.{i}.linear.bias"] = _rand(gen, hidden)
        for bn in ("bn1", "bn2"):
            state[f"blocks.{i}.{bn}.weight"] = 1 + _rand(gen, hidden, scale=0.2)
            state[f"blocks.{i}.{bn}.bias"] = _rand(gen, hidden, scale=0.2)
            state[f"blocks.{i}.{bn}.running_mean"] = _rand(gen, hidden, scale=0.5)
            state[f"blocks.{i}.{bn}.running_var"] = 0.5 + torch.rand(hidden, generator=gen)
            state[f"blocks.{i}.{bn}.num_batches_tracked"] = torch.tensor(1000)
    for i in range(blocks):
        width = mask + 2 * (i + 1)
        conv_mask = torch.ones(hidden, hidden, kernel)
        head = (kernel - width) // 2
        conv_mask[:, :, head:head + width] = 0
        state[f"masked_convs.{i}.conv.weight"] = _rand(gen, hidden, hidden, kernel)
        state[f"masked_convs.{i}.conv.bias"] = _rand(gen, hidden)
        state[f"masked_convs.{i}.conv_mask"] = conv_mask
    for g in range(2):
        state[f"vq_layers.{g}.vq_logits.weight"] = _rand(gen, 8, hidden // 2)
        state[f"vq_layers.{g}.vq_logits.bias"] = _rand(gen, 8)
        state[f"vq_layers.{g}.codebook_CxE.weight"] = _rand(gen, hidden // 2, 8)
    state["postnet.weight"] = _rand(gen, 80, hidden)
    state["postnet.bias"] = _rand(gen, 80)
    paras = {"kernel_size": kernel, "mask_size": mask, "n_blocks": blocks, "hidden_size": hidden,
             "dropout": 0.1, "residual": True, "batch_norm": True, "activate": "relu",
             "disable_cross_layer": False,
             "vq": {"codebook_size": [8, 8], "code_dim": [hidden // 2] * 2, "gumbel_temperature": 1.0}}
    return {"config": {"data": {"audio": dict(AUDIO)}, "model": {"paras": paras}}, "model": state}


@pytest.fixture
def apc_file():
    """``apc_file(hidden=24, layers=3, vq=False, seed=0)`` -> official-layout dict."""
    return _apc_file


@pytest.fixture
def npc_file():
    """``npc_file(hidden=16, blocks=3, kernel=11, mask=3, seed=0)`` -> official-layout dict."""
    return _npc_file


@pytest.fixture
def save(tmp_path):
    """``save(obj, name)``: torch.save into tmp_path; returns the path."""
    def _save(obj: object, name: str) -> str:
        path = os.path.join(tmp_path, name)
        torch.save(obj, path)
        return path
    return _save


@pytest.fixture
def wavs() -> list[torch.Tensor]:
    """Speech-like test signals of several lengths (harmonics + noise, amplitude ~0.3)."""
    gen = torch.Generator().manual_seed(1)
    out = []
    for n in (16000, 5600, 9123, 12345):
        t = torch.arange(n) / 16000
        f0 = 120 + 40 * torch.sin(2 * torch.pi * 3 * t)
        phase = 2 * torch.pi * torch.cumsum(f0, 0) / 16000
        voiced = sum(torch.sin(k * phase) / k for k in range(1, 6))
        out.append(0.2 * voiced + 0.05 * torch.randn(n, generator=gen))
    return out
