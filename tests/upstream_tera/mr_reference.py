"""An independent, deliberately plain reference for the Mockingjay/TERA/ALBERT tests.

One utterance at a time, explicit formulas: the HTK mel filterbank written out, a BERT
layer with explicit matmuls reading weights by s3prl's key names, and hand-built official
checkpoint files (state dicts assembled key by key, not from our modules).
"""
from __future__ import annotations

import argparse
import math
import sys
import types

import numpy as np
import torch

HID, LAYERS, HEADS, INTER = 32, 2, 4, 64


def model_config(n_mels: int = 80, hidden: int = HID, layers: int = LAYERS, pre_ln: bool = False,
                 share: bool = False, stack: int = 1, seq_len: int = 1500, kaldi: bool = False) -> dict:
    transformer = {"input_dim": -1, "hidden_size": hidden, "num_hidden_layers": layers,
                   "num_attention_heads": HEADS, "intermediate_size": INTER, "hidden_act": "gelu",
                   "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
                   "layer_norm_eps": 1e-12, "share_layer": share, "pre_layer_norm": pre_ln}
    if stack > 1:
        transformer["downsample_rate"] = stack
    if kaldi:
        audio = {"kaldi": {"feat_type": "fbank", "fbank": {"num_mel_bins": n_mels, "frame_length": 25.0,
                                                           "frame_shift": 10.0}},
                 "delta": {"order": 2, "win_length": 5}, "cmvn": {"use_cmvn": True}}
    else:
        audio = {"target_level": -25, "win_ms": 25, "hop_ms": 10, "n_freq": 201, "n_mels": n_mels, "n_mfcc": 13,
                 "input": {"feat_type": "mel", "channel": 0, "log": True, "delta": 0, "cmvn": True},
                 "target": {"feat_type": "linear", "channel": 1, "log": True, "delta": 0, "cmvn": True}}
    return {"transformer": transformer, "task": {"loss": "L1", "sequence_length": seq_len}, "audio": audio}


# ---- features -------------------------------------------------------------------------------

def htk_mel_filterbank(n_freqs: int, n_mels: int, sample_rate: int = 16000) -> np.ndarray:
    """[n_freqs, n_mels] triangular filters on the HTK mel scale, no normalisation."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    freqs = np.linspace(0, sample_rate / 2, n_freqs)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2))
    fb = np.zeros((n_freqs, n_mels))
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        up = (freqs - lo) / (mid - lo)
        down = (hi - freqs) / (hi - mid)
        fb[:, m] = np.maximum(0.0, np.minimum(up, down))
    return fb


def log_mel_cmvn(wav: torch.Tensor, n_mels: int = 80) -> torch.Tensor:
    """-25 dB scaling, centred hann STFT (400/160), power, HTK mel, log(+1e-10), CMVN: [T, n_mels]."""
    x = wav.double().numpy()
    x = x * 10 ** (-25 / 20) / (np.sqrt(np.mean(x ** 2)) + 1e-10)
    padded = np.pad(x, (200, 200), mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)  # periodic hann
    frames = np.stack([padded[i:i + 400] * window for i in range(0, len(padded) - 400 + 1, 160)])
    power = np.abs(np.fft.rfft(frames, n=400, axis=1)) ** 2
    mel = np.log(power @ htk_mel_filterbank(201, n_mels) + 1e-10)
    mel = (mel - mel.mean(0)) / (mel.std(0, ddof=1) + 1e-10)
    return torch.from_numpy(mel).float()


def kaldi_fbank_deltas_cmvn(wav: torch.Tensor, n_mels: int = 80) -> torch.Tensor:
    """torchaudio kaldi fbank, then deltas (window 2, edge-replicated) x2, then CMVN."""
    import torchaudio
    feat = torchaudio.compliance.kaldi.fbank(wav[None], num_mel_bins=n_mels, frame_length=25.0, frame_shift=10.0,
                                             sample_frequency=16000).double().numpy()

    def delta(f):
        p = np.pad(f, ((2, 2), (0, 0)), mode="edge")
        n = len(f)
        return sum(k * (p[2 + k:2 + k + n] - p[2 - k:2 - k + n]) for k in (1, 2)) / 10.0

    d1 = delta(feat)
    full = np.concatenate([feat, d1, delta(d1)], axis=1)
    full = (full - full.mean(0)) / (full.std(0, ddof=1) + 1e-10)
    return torch.from_numpy(full).float()


# ---- encoder ---------------------------------------------------------------------------------

def _ln(x, sd, name, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return sd[name + ".weight"] * (x - mu) / np.sqrt(var + eps) + sd[name + ".bias"]


def _lin(x, sd, name):
    return x @ sd[name + ".weight"].T + sd[name + ".bias"]


def _positions(t: int, h: int) -> np.ndarray:
    table = np.array([[pos / np.power(10000, 2 * (j // 2) / h) for j in range(h)] for pos in range(t)])
    table[:, 0::2] = np.sin(table[:, 0::2])
    table[:, 1::2] = np.cos(table[:, 1::2])
    return table


def encode(frames: torch.Tensor, state: dict, cfg: dict) -> list[np.ndarray]:
    """Hidden states (input representation + each layer) of one unpadded chunk, float64."""
    sd = {k: v.double().numpy() for k, v in state.items()}
    t = cfg["transformer"]
    h_size, heads, pre = t["hidden_size"], t["num_attention_heads"], t["pre_layer_norm"]
    dh = h_size // heads
    x = frames.double().numpy()
    h = _ln(_lin(x, sd, "input_representations.spec_transform") + _positions(len(x), h_size), sd,
            "input_representations.LayerNorm")
    states = [h]
    for i in range(t["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        inp = _ln(h, sd, p + "attention.LayerNorm") if pre else h
        q, k, v = (_lin(inp, sd, p + f"attention.self.{n}").reshape(len(x), heads, dh).transpose(1, 0, 2)
                   for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(dh)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(len(x), h_size)
        a = _lin(ctx, sd, p + "attention.output.dense") + h
        if not pre:
            a = _ln(a, sd, p + "attention.output.LayerNorm")
        inner = _ln(a, sd, p + "LayerNorm") if pre else a
        z = _lin(inner, sd, p + "intermediate.dense")
        z = 0.5 * z * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))
        h = _lin(z, sd, p + "output.dense") + a
        if not pre:
            h = _ln(h, sd, p + "output.LayerNorm")
        states.append(h)
    if pre:
        states = [_ln(s, sd, f"encoder.LayerNorm.{j}") for j, s in enumerate(states)]
    return states


def reference_hidden_states(frames: torch.Tensor, state: dict, cfg: dict) -> list[torch.Tensor]:
    """Stack frames if asked, cut into s3prl's equal chunks, encode each, concatenate."""
    stack = cfg["transformer"].get("downsample_rate", 1)
    usable = len(frames) // stack * stack
    frames = frames[:usable].reshape(usable // stack, -1)
    seq = cfg["task"]["sequence_length"]
    n = len(frames)
    size = math.ceil(n / math.ceil(n / seq)) if 0 < seq < n else n
    chunks = [encode(frames[i:i + size], state, cfg) for i in range(0, n, size)]
    return [torch.from_numpy(np.concatenate([c[j] for c in chunks])).float() for j in range(len(chunks[0]))]


# ---- official files ----------------------------------------------------------------------------

def transformer_state(cfg: dict, input_dim: int, seed: int = 0, legacy_names: bool = False) -> dict:
    """A random 'Transformer' state dict with s3prl's keys, built key by key."""
    g = torch.Generator().manual_seed(seed)
    t = cfg["transformer"]
    h, inter, pre = t["hidden_size"], t["intermediate_size"], t["pre_layer_norm"]
    stack = t.get("downsample_rate", 1)

    def lin(name, n_in, n_out):
        return {name + ".weight": torch.randn(n_out, n_in, generator=g) / math.sqrt(n_in),
                name + ".bias": torch.randn(n_out, generator=g) * 0.1}

    def ln(name):
        return {name + ".weight": 1 + 0.1 * torch.randn(h, generator=g),
                name + ".bias": 0.1 * torch.randn(h, generator=g)}

    sd = {**lin("input_representations.spec_transform", input_dim * stack, h), **ln("input_representations.LayerNorm")}
    shared = None
    for i in range(t["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        if t["share_layer"] and shared is not None:
            sd.update({p + k: v for k, v in shared.items()})
            continue
        layer = {**lin("attention.self.query", h, h), **lin("attention.self.key", h, h),
                 **lin("attention.self.value", h, h), **lin("attention.output.dense", h, h),
                 **ln("attention.output.LayerNorm"), **lin("intermediate.dense", h, inter),
                 **lin("output.dense", inter, h), **ln("output.LayerNorm")}
        if pre:  # s3prl aliases these two LayerNorms, so files hold both names
            layer.update({"attention.LayerNorm" + k[len("attention.output.LayerNorm"):]: v
                          for k, v in layer.items() if k.startswith("attention.output.LayerNorm")})
            layer.update({"LayerNorm" + k[len("output.LayerNorm"):]: v
                          for k, v in layer.items() if k.startswith("output.LayerNorm")})
        shared = layer
        sd.update({p + k: v for k, v in layer.items()})
    if pre:
        for j in range(t["num_hidden_layers"] + 1):
            sd.update(ln(f"encoder.LayerNorm.{j}"))
    if legacy_names:
        sd = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
              for k, v in sd.items()}
    return sd


def spec_head_state(hidden: int, out_dim: int) -> dict:
    return {"dense.weight": torch.randn(hidden, hidden), "dense.bias": torch.zeros(hidden),
            "LayerNorm.weight": torch.ones(hidden), "LayerNorm.bias": torch.zeros(hidden),
            "output.weight": torch.randn(out_dim, hidden), "output.bias": torch.zeros(out_dim)}


def _fake_optimizers_modules() -> list[str]:
    """Register modules `optimizers` and `s3prl.optimizers` with schedule classes, for pickling."""
    names = []
    for modname in ("optimizers", "s3prl", "s3prl.optimizers"):
        mod = types.ModuleType(modname)
        if modname.endswith("optimizers"):
            cls = type("WarmupLinearSchedule", (), {"__module__": modname})
            mod.WarmupLinearSchedule = cls
        sys.modules[modname] = mod
        names.append(modname)
    return names


def save_official(path, cfg: dict, transformer: dict, generation: str = "c", optimizer_module: str = "optimizers",
                  extra: dict | None = None) -> None:
    """Write a file as s3prl's pretrain runner did: pickled Namespace Args and schedule objects."""
    registered = _fake_optimizers_modules()
    try:
        schedule = sys.modules[optimizer_module].WarmupLinearSchedule()
        schedule.warmup, schedule.t_total = 0.07, 1000000
        optimizer = {"state": {}, "param_groups": [{"lr": 2e-4, "schedule": schedule, "params": [0, 1]}]}
        args = argparse.Namespace(config="config_runner.yaml", upstream="tera", seed=1337)
        head = spec_head_state(cfg["transformer"]["hidden_size"], 201)
        runner = {"runner": {"total_steps": 1000000}, "optimizer": {"name": "AdamW_with_schedule", "lr": 2e-4}}
        if generation == "b":
            file = {"Optimizer": optimizer, "Step": 1000000, "Args": args, "Runner": runner, "Config": cfg,
                    "SpecHead": head, "Transformer": transformer}
        else:
            file = {"Optimizer": optimizer, "Step": 1000000, "Args": args, "Config": runner,
                    "Upstream_Config": cfg, "SpecHead": head, "Transformer": transformer}
        file.update(extra or {})
        torch.save(file, path)
    finally:
        for name in registered:
            sys.modules.pop(name, None)
