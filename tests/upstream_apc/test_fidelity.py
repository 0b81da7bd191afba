"""Features of official-layout checkpoints against a straightforward reference written here.

Reference = what the authors' code computes for one utterance: kaldi fbank (hamming,
25/10 ms, 80 bins) -> CMVN over time (unbiased std, +1e-10) -> for APC a GRU unrolled
frame by frame from the stored weights, for NPC plain conv1d calls with eval BatchNorm.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torchaudio.compliance import kaldi

from speechbench.upstream.apc.expert import UpstreamExpert as APCExpert
from speechbench.upstream.npc.expert import UpstreamExpert as NPCExpert
from speechbench.upstream.vq_apc.expert import UpstreamExpert as VQAPCExpert

TOL = 1e-4


def ref_features(wav: torch.Tensor) -> torch.Tensor:
    x = kaldi.fbank(wav[None], num_mel_bins=80, sample_frequency=16000, window_type="hamming",
                    frame_length=25, frame_shift=10)
    return (x - x.mean(0)) / (1e-10 + x.std(0))


def ref_gru(x: torch.Tensor, w_ih, w_hh, b_ih, b_hh) -> torch.Tensor:
    """PyTorch GRU equations (gate order r, z, n), one frame at a time."""
    hidden = w_hh.shape[1]
    h = torch.zeros(hidden, dtype=torch.float64)
    outs = []
    for frame in x:
        gi = w_ih @ frame + b_ih
        gh = w_hh @ h + b_hh
        r = torch.sigmoid(gi[:hidden] + gh[:hidden])
        z = torch.sigmoid(gi[hidden:2 * hidden] + gh[hidden:2 * hidden])
        n = torch.tanh(gi[2 * hidden:] + r * gh[2 * hidden:])
        h = (1 - z) * n + z * h
        outs.append(h)
    return torch.stack(outs)


def ref_apc(file: dict, wav: torch.Tensor) -> list[torch.Tensor]:
    s = {k: v.double() for k, v in file["model"].items()}
    x = ref_features(wav).double()
    hidden = []
    for i in range(file["config"]["model"]["paras"]["num_layers"]):
        out = ref_gru(x, *(s[f"rnn_layers.{i}.{n}"] for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")))
        if i > 0:
            out = out + x
        hidden.append(out)
        x = out
    return hidden


def ref_npc(file: dict, wav: torch.Tensor) -> list[torch.Tensor]:
    s = {k: v.double() for k, v in file["model"].items()}
    paras = file["config"]["model"]["paras"]

    def bn(x, name):
        return ((x - s[name + ".running_mean"][:, None]) / torch.sqrt(s[name + ".running_var"][:, None] + 1e-5)
                * s[name + ".weight"][:, None] + s[name + ".bias"][:, None])

    x = ref_features(wav).double().T[None]  # [1, 80, T]
    hidden, total = [], 0
    for i in range(paras["n_blocks"]):
        b = f"blocks.{i}"
        out = torch.relu(bn(F.conv1d(x, s[b + ".conv.weight"], s[b + ".conv.bias"], padding=1), b + ".bn1"))
        out = bn(F.conv1d(out, s[b + ".linear.weight"], s[b + ".linear.bias"]), b + ".bn2")
        x = torch.relu(out + x if i > 0 else out)
        hidden.append(x[0].T)
        m = f"masked_convs.{i}"
        masked = torch.tanh(F.conv1d(x, s[m + ".conv_mask"] * s[m + ".conv.weight"], s[m + ".conv.bias"],
                                     padding=paras["kernel_size"] // 2))[0].T
        hidden.append(masked)
        total = total + masked
    return hidden + [total]


def _check(expert, reference, wavs) -> None:
    with torch.no_grad():
        out = expert(wavs)
    for b, wav in enumerate(wavs):
        ref = reference(wav)
        n = len(ref[0])
        assert n == 1 + (len(wav) - 400) // 160
        assert out["feature_lengths"][b] == n
        assert len(out["hidden_states"]) == len(ref)
        for layer, (ours, theirs) in enumerate(zip(out["hidden_states"], ref)):
            diff = (ours[b, :n].double() - theirs).abs().max().item()
            assert diff <= TOL, f"utterance {b} hidden state {layer}: max abs diff {diff}"


def test_apc_matches_reference_gru(apc_file, save, wavs):
    file = apc_file()
    expert = APCExpert(ckpt=save(file, "apc.ckpt")).eval()
    _check(expert, lambda w: ref_apc(file, w), wavs)


def test_vq_apc_hidden_states_are_pre_quantisation(apc_file, save, wavs):
    file = apc_file(vq=True)
    expert = VQAPCExpert(ckpt=save(file, "vq_apc.ckpt")).eval()
    _check(expert, lambda w: ref_apc(file, w), wavs)


def test_npc_matches_reference_convs(npc_file, save, wavs):
    file = npc_file()
    expert = NPCExpert(ckpt=save(file, "npc.ckpt")).eval()
    _check(expert, lambda w: ref_npc(file, w), wavs)
