"""The authors' feature paths for ONE utterance, written from their code's semantics on the raw
fairseq-named state dicts (unilm ``WavLM.py``, the UniSpeech-SAT fork, fairseq
``data2vec_audio.py``, s3prl's distiller): independent of speechbench's modules.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from upstream_ssl.layouts import CONV_LAYERS, HEADS


def _ln(x, sd, prefix, eps=1e-5):
    return F.layer_norm(x, x.shape[-1:], sd[f"{prefix}.weight"], sd[f"{prefix}.bias"], eps)


def _lin(x, sd, prefix):
    return F.linear(x, sd[f"{prefix}.weight"], sd.get(f"{prefix}.bias"))


def front_end(sd: dict, mode: str, wav: torch.Tensor) -> torch.Tensor:
    """ConvFeatureExtractionModel: ``[L] -> [T, C]``."""
    x = wav[None, None]
    for i, (c, _, stride) in enumerate(CONV_LAYERS):
        p = f"feature_extractor.conv_layers.{i}"
        x = F.conv1d(x, sd[f"{p}.0.weight"], sd.get(f"{p}.0.bias"), stride=stride)
        if mode == "default" and i == 0:
            x = F.group_norm(x, c, sd[f"{p}.2.weight"], sd[f"{p}.2.bias"], 1e-5)
        if mode == "layer_norm":
            x = _ln(x.transpose(1, 2), sd, f"{p}.2.1").transpose(1, 2)
        x = F.gelu(x)
    return x[0].t()


def bucket(offset: int, num_buckets: int, max_distance: int) -> int:
    """``_relative_positions_bucket`` for one offset (float32 log, as the authors' tensors)."""
    half = num_buckets // 2
    base = half if offset > 0 else 0
    distance, exact = abs(offset), half // 2
    if distance < exact:
        return base + distance
    large = exact + int((torch.log(torch.tensor(distance / exact, dtype=torch.float32))
                         / math.log(max_distance / exact) * (half - exact)).item())
    return base + min(large, half - 1)


def position_bias(table: torch.Tensor, length: int, max_distance: int) -> torch.Tensor:
    """``compute_bias``: ``[H, T, T]`` from the ``[buckets, H]`` table, offset = key - query."""
    idx = torch.tensor([[bucket(j - i, table.shape[0], max_distance) for j in range(length)]
                        for i in range(length)])
    return table[idx].permute(2, 0, 1)


def attention(sd, p, x, pos_bias=None, gate=None):
    """fairseq MultiheadAttention on ``[T, D]`` with the (gated) relative bias added to the logits."""
    t, d = x.shape
    hd = d // HEADS
    q = (_lin(x, sd, f"{p}.q_proj") * hd ** -0.5).view(t, HEADS, hd).transpose(0, 1)
    k = _lin(x, sd, f"{p}.k_proj").view(t, HEADS, hd).transpose(0, 1)
    v = _lin(x, sd, f"{p}.v_proj").view(t, HEADS, hd).transpose(0, 1)
    logits = q @ k.transpose(1, 2)
    if pos_bias is not None:
        bias = pos_bias
        if gate is not None:
            lin, const = gate
            query = x.view(t, HEADS, hd).transpose(0, 1)  # [H, T, hd]
            g = torch.sigmoid(_lin(query, sd, f"{p}.{lin}").view(HEADS, t, 2, 4).sum(-1))
            gate_a, gate_b = g[..., :1], g[..., 1:]
            bias = (gate_a * (gate_b * sd[f"{p}.{const}"][0] - 1.0) + 2.0) * pos_bias
        logits = logits + bias
    ctx = torch.softmax(logits, dim=-1) @ v
    return _lin(ctx.transpose(0, 1).reshape(t, d), sd, f"{p}.out_proj")


def positional(sd, x, groups, kernel=None, depth=1):
    """``x + pos_conv(x)`` for ``[T, D]``: one weight-normed conv, or data2vec's stack."""
    y = x.t()[None]
    if depth == 1:
        v, g = sd["encoder.pos_conv.0.weight_v"], sd["encoder.pos_conv.0.weight_g"]
        weight = g * v / v.norm(dim=(0, 1), keepdim=True)
        k = weight.shape[-1]
        y = F.conv1d(y, weight, sd["encoder.pos_conv.0.bias"], padding=k // 2, groups=groups)
        y = F.gelu(y[..., :-1] if k % 2 == 0 else y)
    else:
        for i in range(depth):
            y = F.conv1d(y, sd[f"encoder.pos_conv.{i}.0.weight"], sd[f"encoder.pos_conv.{i}.0.bias"],
                         padding=kernel // 2, groups=groups)
            y = y[..., :-1] if kernel % 2 == 0 else y
            y = F.gelu(F.layer_norm(y.transpose(1, 2), y.shape[1:2]).transpose(1, 2))
    return x + y[0].t()


def transformer(sd, x, ln_first, layers, relative=None, gate=None, outputs="inputs"):
    """TransformerEncoder.extract_features (+ final LN for pre-LN).

    ``outputs='inputs'``: the input of every layer then the encoder output (s3prl's hooks);
    ``'outputs'``: every layer's output (the distiller's ``layer_hiddens``), plus the encoder output.
    """
    if not ln_first:
        x = _ln(x, sd, "encoder.layer_norm")
    states, pos_bias = [], None
    for i in range(layers):
        p = f"encoder.layers.{i}"
        if relative and i == 0:
            pos_bias = position_bias(sd[f"{p}.self_attn.relative_attention_bias.weight"], len(x), relative)
        if outputs == "inputs":
            states.append(x)
        if ln_first:
            x = x + attention(sd, f"{p}.self_attn", _ln(x, sd, f"{p}.self_attn_layer_norm"), pos_bias, gate)
            x = x + _lin(F.gelu(_lin(_ln(x, sd, f"{p}.final_layer_norm"), sd, f"{p}.fc1")), sd, f"{p}.fc2")
        else:
            x = _ln(x + attention(sd, f"{p}.self_attn", x, pos_bias, gate), sd, f"{p}.self_attn_layer_norm")
            x = _ln(x + _lin(F.gelu(_lin(x, sd, f"{p}.fc1")), sd, f"{p}.fc2"), sd, f"{p}.final_layer_norm")
        if outputs == "outputs":
            states.append(x)
    final = _ln(x, sd, "encoder.layer_norm") if ln_first else x
    return states + [final] if outputs == "inputs" else states, final


def w2v2_family(sd, arch, wav, layers, groups, kernel=None, depth=1, relative=None, gate=None):
    """WavLM / UniSpeech-SAT / data2vec: hidden states of one utterance as s3prl reports them."""
    mode, ln_first, _, normalize, *_ = arch
    if normalize:
        wav = F.layer_norm(wav, wav.shape)
    x = _lin(_ln(front_end(sd, mode, wav), sd, "layer_norm"), sd, "post_extract_proj")
    x = positional(sd, x, groups, kernel, depth)
    return transformer(sd, x, ln_first, layers, relative, gate)[0]


def distiller(sd, cfg, wav, groups):
    """s3prl DistillerModel: [projected features] + layer outputs + head predictions."""
    feat = _lin(front_end(sd, cfg["extractor_mode"], wav), sd, "post_extract_proj")
    layer_outs, final = transformer(sd, positional(sd, feat, groups), cfg["layer_norm_first"],
                                    cfg["encoder_layers"], outputs="outputs")
    n = cfg["n_tasks"]
    h = F.gelu(_lin(final, sd, "output_layer.0")).view(len(final), n, -1)
    preds = [h[:, i] @ sd["output_layer.2.weight"][i] + sd["output_layer.2.bias"][0, 0, i] for i in range(n)]
    return [feat] + layer_outs + preds
