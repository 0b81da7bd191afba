"""Single-utterance forward passes written directly from the authors' code, in functional
torch over a state_dict. Our batched, masked modules must reproduce them."""
from __future__ import annotations

import ast
import math

import torch
import torch.nn.functional as F


def wav2vec_forward(state: dict, args: dict, wav: torch.Tensor) -> list[torch.Tensor]:
    """fairseq ``Wav2VecModel`` on one unpadded utterance: z, aggregator inputs 1.., c as ``[T, C]``."""
    act = F.gelu if args["activation"] == "gelu" else F.relu
    feat, agg = ast.literal_eval(args["conv_feature_layers"]), ast.literal_eval(args["conv_aggregator_layers"])
    x = wav.view(1, 1, -1)
    for i, (_, _, stride) in enumerate(feat):
        x = F.conv1d(x, state[f"feature_extractor.conv_layers.{i}.0.weight"], stride=stride)
        x = act(F.group_norm(x, 1, state[f"feature_extractor.conv_layers.{i}.2.weight"],
                             state[f"feature_extractor.conv_layers.{i}.2.bias"], 1e-5))
    if args["log_compression"]:
        x = (x.abs() + 1).log()
    z = x
    if args["vq_type"] == "gumbel":
        groups, v = args["vq_groups"], args["vq_vars"]
        h = x[0].t()
        h = act(F.linear(h, state["vector_quantizer.weight_proj.0.0.weight"], state["vector_quantizer.weight_proj.0.0.bias"]))
        logits = F.linear(h, state["vector_quantizer.weight_proj.1.weight"], state["vector_quantizer.weight_proj.1.bias"])
        onehot = F.one_hot(logits.view(-1, groups, v).argmax(-1), v).float().view(-1, groups * v)
        table = state["vector_quantizer.vars"].repeat(1, groups, 1) if args["combine_groups"] else state["vector_quantizer.vars"]
        q = (onehot.unsqueeze(-1) * table).view(-1, groups, v, table.shape[-1]).sum(-2)
        x = q.reshape(q.shape[0], -1).t().unsqueeze(0)
    states = [z]
    scale = math.sqrt(args["residual_scale"])
    for i, (_, k, _) in enumerate(agg):
        if i > 0:
            states.append(x)
        y = F.conv1d(F.pad(x, (k - 1, 0), mode="replicate"), state[f"feature_aggregator.conv_layers.{i}.1.weight"],
                     state[f"feature_aggregator.conv_layers.{i}.1.bias"])
        y = act(F.group_norm(y, 1, state[f"feature_aggregator.conv_layers.{i}.3.weight"],
                             state[f"feature_aggregator.conv_layers.{i}.3.bias"], 1e-5))
        x = (y + x) * scale
    states.append(x)
    return [s[0].t() for s in states]


def cpc_forward(state: dict, wav: torch.Tensor) -> list[torch.Tensor]:
    """CPC_audio ``CPCModel`` on one utterance: [encoder, LSTM] as ``[T, C]``."""
    x = wav.view(1, 1, -1)
    for i, (stride, pad) in enumerate(((5, 3), (4, 2), (2, 1), (2, 1), (2, 1))):
        x = F.conv1d(x, state[f"gEncoder.conv{i}.weight"], state[f"gEncoder.conv{i}.bias"], stride=stride, padding=pad)
        mean, var = x.mean(dim=1, keepdim=True), x.var(dim=1, keepdim=True)
        x = (x - mean) * torch.rsqrt(var + 1e-5)
        x = F.relu(x * state[f"gEncoder.batchNorm{i}.weight"] + state[f"gEncoder.batchNorm{i}.bias"])
    enc = x[0].t()
    hid = state["gAR.baseNet.weight_hh_l0"].shape[1]
    h, c, out = torch.zeros(hid), torch.zeros(hid), []
    for t in range(enc.shape[0]):
        gates = (state["gAR.baseNet.weight_ih_l0"] @ enc[t] + state["gAR.baseNet.bias_ih_l0"]
                 + state["gAR.baseNet.weight_hh_l0"] @ h + state["gAR.baseNet.bias_hh_l0"])
        i_, f_, g_, o_ = gates.chunk(4)
        c = torch.sigmoid(f_) * c + torch.sigmoid(i_) * torch.tanh(g_)
        h = torch.sigmoid(o_) * torch.tanh(c)
        out.append(h)
    return [enc, torch.stack(out)]


def _pase_pad(k: int, stride: int) -> tuple[int, int]:
    return (k // 2 - 1, k // 2) if stride > 1 or k % 2 == 0 else (k // 2, k // 2)


def pase_forward(state: dict, cfg: dict, wav: torch.Tensor) -> list[torch.Tensor]:
    """pase ``WaveFe`` (sinc block, FeBlocks, QRNN window 2, W, dense skips, norm_out) on one
    utterance: [W output, each fused skip, final] as ``[T, emb]``."""
    def bn(x, prefix):
        return F.batch_norm(x, state[f"{prefix}.running_mean"], state[f"{prefix}.running_var"],
                            state.get(f"{prefix}.weight"), state.get(f"{prefix}.bias"), False, 0.0, 1e-5)

    h = wav.view(1, 1, -1)
    skips = []
    n_blocks = len(cfg["kwidths"])
    for i, (k, stride) in enumerate(zip(cfg["kwidths"], cfg["strides"])):
        if i == 0:  # SincConv_fast, 'SAME' reflect padding
            k = k + 1 if k % 2 == 0 else k
            low = 50 + state["blocks.0.conv.low_hz_"].abs()
            high = torch.clamp(low + 50 + state["blocks.0.conv.band_hz_"].abs(), 50, 8000)
            band = (high - low)[:, 0]
            n_lin = torch.linspace(0, k / 2 - 1, steps=int(k / 2))
            window = 0.54 - 0.46 * torch.cos(2 * math.pi * n_lin / k)
            n_ = 2 * math.pi * torch.arange(-((k - 1) / 2), 0).view(1, -1) / 16000
            left = (torch.sin(torch.matmul(high, n_)) - torch.sin(torch.matmul(low, n_))) / (n_ / 2) * window
            bp = torch.cat([left, 2 * band.view(-1, 1), torch.flip(left, dims=[1])], dim=1) / (2 * band[:, None])
            h = F.conv1d(F.pad(h, _pase_pad(k, stride), mode="reflect"), bp.view(-1, 1, k), stride=stride)
        else:
            h = F.conv1d(F.pad(h, _pase_pad(k, stride), mode="reflect"), state[f"blocks.{i}.conv.weight"],
                         state[f"blocks.{i}.conv.bias"], stride=stride)
        h = F.prelu(bn(h, f"blocks.{i}.norm"), state[f"blocks.{i}.act.weight"])
        if i < n_blocks - 1:
            skips.append(F.conv1d(h, state[f"denseskips.{i}.weight"]))
    x = h.permute(2, 0, 1)  # T B C
    src = torch.cat([x, torch.cat([x[:1] * 0, x[:-1]], 0)], 2)
    z, f, o = F.linear(src, state["rnn.layers.0.linear.weight"], state["rnn.layers.0.linear.bias"]).chunk(3, dim=2)
    z, f = torch.tanh(z), torch.sigmoid(f)
    c, cs = None, []
    for t in range(z.shape[0]):
        c = f[t] * z[t] if c is None else f[t] * z[t] + (1 - f[t]) * c
        cs.append(c)
    h = (torch.sigmoid(o) * torch.stack(cs)).permute(1, 2, 0)
    y = F.conv1d(h, state["W.weight"], state["W.bias"])
    states = [y]
    for skip in skips:
        d = skip.shape[2] // y.shape[2]
        if d > 1:
            skip = skip[:, :, : y.shape[2] * d]
            skip = skip.view(1, skip.shape[1], skip.shape[2] // d, d).mean(dim=3)
        states.append(skip)
        y = y + skip
    y = bn(y, "norm_out")
    states.append(y)
    return [s[0].t() for s in states]
