"""APC, VQ-APC and NPC networks with the parameter names of the released checkpoints.

Module and parameter names follow the authors' code as s3prl serves it
(``s3prl/upstream/{apc,npc}``), so a released ``state_dict`` loads strictly:

* APC: ``rnn_layers.{i}`` (one unidirectional ``nn.GRU`` per layer), ``postnet``; VQ-APC
  adds ``vq_layers.{g}`` (Gumbel-softmax codebooks on the last layer's output, split into
  groups); an optional ``prenet.layers.{i}`` (Linear-ReLU-dropout, as in Chung's original
  APC code) is absent from the released files.
* NPC: ``blocks.{i}`` (ConvBlocks), ``masked_convs.{i}`` (convolutions whose centre taps
  are zeroed by the stored ``conv_mask`` buffer), ``vq_layers.{g}``, ``postnet``.

Both networks return their hidden states, in the order s3prl reports them (see
:meth:`APC.forward`, :meth:`NPC.forward`); ``predict`` maps the last one to the pretraining
target through the VQ layers and the postnet.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from speechbench.errors import ConfigError
from speechbench.upstream.base import frame_mask


class VQLayer(nn.Module):
    """One Gumbel-softmax codebook: logits -> one-hot (hard Gumbel in training, argmax in eval) -> code.

    Keys: ``vq_logits.{weight,bias}`` (codebook_size x input_size) and
    ``codebook_CxE.weight`` (code_dim x codebook_size, no bias).
    """

    def __init__(self, input_size: int, codebook_size: int, code_dim: int, gumbel_temperature: float) -> None:
        super().__init__()
        self.gumbel_temperature = float(gumbel_temperature)
        self.vq_logits = nn.Linear(input_size, codebook_size)
        self.codebook_CxE = nn.Linear(codebook_size, code_dim, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits, codes)`` for ``x`` of shape ``[..., input_size]``."""
        logits = self.vq_logits(x)
        if self.training:
            onehot = F.gumbel_softmax(logits, tau=self.gumbel_temperature, hard=True, dim=-1)
        else:
            onehot = F.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype)
        return logits, self.codebook_CxE(onehot)


class GroupVQ(nn.ModuleList):
    """Several codebooks, each quantising its own slice of the features (the authors' "N-group VQ")."""

    def __init__(self, hidden_size: int, codebook_size: list[int], code_dim: list[int],
                 gumbel_temperature: float) -> None:
        if len(codebook_size) != len(code_dim):
            raise ConfigError(f"vq: codebook_size {codebook_size} and code_dim {code_dim} must have one entry per group")
        if sum(code_dim) != hidden_size:
            raise ConfigError(f"vq: code_dim {code_dim} must sum to hidden_size {hidden_size}")
        super().__init__(VQLayer(d, c, d, gumbel_temperature) for c, d in zip(codebook_size, code_dim))
        self.code_dims = list(code_dim)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Per-group logits and the concatenated codes (same size as ``x``)."""
        logits, codes = [], []
        for vq, part in zip(self, x.split(self.code_dims, dim=-1)):
            lg, code = vq(part)
            logits.append(lg)
            codes.append(code)
        return logits, torch.cat(codes, dim=-1)


class Prenet(nn.Module):
    """Frame-wise Linear -> ReLU -> dropout stack before the GRUs (keys ``layers.{i}``)."""

    def __init__(self, input_size: int, num_layers: int, hidden_size: int, dropout: float) -> None:
        super().__init__()
        sizes = [input_size] + [hidden_size] * num_layers
        self.layers = nn.ModuleList(nn.Linear(i, o) for i, o in zip(sizes, sizes[1:]))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = self.dropout(torch.relu(layer(x)))
        return x


class _Predictor(nn.Module):
    """The pretraining head shared by APC and NPC: optional group VQ, then the ``postnet`` Linear."""

    def predict(self, top: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Last hidden state ``[B, T, H]`` -> (predicted frames ``[B, T, M]``, VQ logits per group)."""
        logits: list[torch.Tensor] = []
        if hasattr(self, "vq_layers"):
            logits, top = self.vq_layers(top)
        return self.postnet(top), logits


class APC(_Predictor):
    """Stacked unidirectional GRUs predicting future frames (VQ-APC when ``vq`` is given).

    ``paras`` are the checkpoint's ``config['model']['paras']``: ``num_layers``,
    ``hidden_size``, ``dropout``, ``residual``, optional ``vq`` ({codebook_size: [..],
    code_dim: [..], gumbel_temperature}) and optional ``prenet`` ({num_layers, hidden_size,
    dropout}).
    """

    def __init__(self, input_size: int, num_layers: int, hidden_size: int, dropout: float, residual: bool,
                 vq: dict | None = None, prenet: dict | None = None) -> None:
        super().__init__()
        if num_layers < 1:
            raise ConfigError(f"APC needs num_layers >= 1, got {num_layers}")
        rnn_input = input_size
        if prenet is not None:
            self.prenet = Prenet(input_size, int(prenet["num_layers"]), int(prenet["hidden_size"]),
                                 float(prenet.get("dropout", 0.0)))
            rnn_input = int(prenet["hidden_size"])
        sizes = [rnn_input] + [hidden_size] * num_layers
        self.rnn_layers = nn.ModuleList(nn.GRU(i, o, batch_first=True) for i, o in zip(sizes, sizes[1:]))
        self.rnn_dropout = nn.Dropout(dropout)
        self.residual = bool(residual)
        if vq is not None:
            self.vq_layers = GroupVQ(hidden_size, list(vq["codebook_size"]), list(vq["code_dim"]),
                                     float(vq["gumbel_temperature"]))
        self.postnet = nn.Linear(hidden_size, input_size)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """``feats [B, T, M]`` -> one ``[B, T, H]`` hidden state per GRU layer.

        Layer ``i``'s hidden state is its GRU output after dropout, plus its input when
        ``residual`` and ``i > 0``; padded frames are zero. Packed sequences make each
        utterance's result independent of the batch. VQ (when present) quantises the last
        layer for the postnet only (:meth:`predict`), so hidden states are pre-quantisation,
        as in s3prl.
        """
        total = feats.shape[1]
        cpu_lengths = lengths.cpu()
        x = self.prenet(feats) if hasattr(self, "prenet") else feats
        hidden: list[torch.Tensor] = []
        for i, rnn in enumerate(self.rnn_layers):
            packed = pack_padded_sequence(x, cpu_lengths, batch_first=True, enforce_sorted=False)
            out, _ = rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=total)
            out = self.rnn_dropout(out)
            if self.residual and i > 0:
                out = out + x
            hidden.append(out)
            x = out
        return hidden


class ConvBlock(nn.Module):
    """Conv(k3) -> BN -> act -> Conv(k1) -> BN -> dropout -> (+input) -> act."""

    def __init__(self, input_size: int, hidden_size: int, residual: bool, dropout: float,
                 batch_norm: bool, activate: str) -> None:
        super().__init__()
        if activate not in ("relu", "tanh"):
            raise ConfigError(f"NPC: activate must be 'relu' or 'tanh', got {activate!r}")
        self.act = nn.ReLU() if activate == "relu" else nn.Tanh()
        self.residual = residual
        self.conv = nn.Conv1d(input_size, hidden_size, kernel_size=3, padding=1)
        self.linear = nn.Conv1d(hidden_size, hidden_size, kernel_size=1)
        self.batch_norm = batch_norm
        if batch_norm:
            self.bn1 = nn.BatchNorm1d(hidden_size)
            self.bn2 = nn.BatchNorm1d(hidden_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, T]`` -> ``[B, H, T]``."""
        out = self.conv(x)
        if self.batch_norm:
            out = self.bn1(out)
        out = self.linear(self.act(out))
        if self.batch_norm:
            out = self.bn2(out)
        out = self.dropout(out)
        if self.residual:
            out = out + x
        return self.act(out)


def centre_mask(hidden_size: int, kernel_size: int, mask_size: int) -> torch.Tensor:
    """``[H, H, k]`` of ones with the ``mask_size`` centre taps zeroed."""
    if not 0 < mask_size < kernel_size:
        raise ConfigError(f"NPC: a masked conv needs 0 < mask size ({mask_size}) < kernel_size ({kernel_size}); "
                         f"raise kernel_size or lower mask_size/n_blocks")
    mask = torch.ones(hidden_size, hidden_size, kernel_size)
    head = (kernel_size - mask_size) // 2
    mask[:, :, head:head + mask_size] = 0
    return mask


class MaskConvBlock(nn.Module):
    """Conv(kernel_size) whose centre ``mask_size`` taps are zeroed, then tanh; ``[B, H, T]`` -> ``[B, T, H]``."""

    def __init__(self, hidden_size: int, kernel_size: int, mask_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(hidden_size, hidden_size, kernel_size, padding=(kernel_size - 1) // 2)
        self.register_buffer("conv_mask", centre_mask(hidden_size, kernel_size, mask_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv1d(x, self.conv_mask * self.conv.weight, self.conv.bias, padding=self.conv.padding)
        return torch.tanh(out.transpose(1, 2))


class NPC(_Predictor):
    """Non-autoregressive predictive coding: ConvBlocks, masked convs summed across layers, VQ, postnet.

    ``paras`` are ``config['model']['paras']``: ``hidden_size``, ``n_blocks``, ``dropout``,
    ``residual``, ``kernel_size``, ``mask_size``, optional ``vq``, ``batch_norm`` (True),
    ``activate`` ('relu'), ``disable_cross_layer`` (False), ``dim_bottleneck`` (None).
    Block ``i``'s masked conv hides ``mask_size + 2 (i + 1)`` centre frames: the frames any
    earlier layer saw of the target frame.
    """

    def __init__(self, input_size: int, hidden_size: int, n_blocks: int, dropout: float, residual: bool,
                 kernel_size: int, mask_size: int, vq: dict | None = None, batch_norm: bool = True,
                 activate: str = "relu", disable_cross_layer: bool = False,
                 dim_bottleneck: int | None = None) -> None:
        super().__init__()
        if kernel_size % 2 == 0 or mask_size % 2 == 0:
            raise ConfigError(f"NPC: kernel_size ({kernel_size}) and mask_size ({mask_size}) must be odd")
        if n_blocks < 1:
            raise ConfigError(f"NPC needs n_blocks >= 1, got {n_blocks}")
        if vq is not None and dim_bottleneck is not None:
            raise ConfigError("NPC: vq and dim_bottleneck exclude each other")
        self.disable_cross_layer = bool(disable_cross_layer)
        self.blocks = nn.ModuleList(
            ConvBlock(input_size if i == 0 else hidden_size, hidden_size, residual=bool(residual) and i > 0,
                      dropout=dropout, batch_norm=bool(batch_norm), activate=activate)
            for i in range(n_blocks))
        masked = nn.ModuleDict()
        for i in range(n_blocks):
            if not self.disable_cross_layer or i == n_blocks - 1:
                masked[str(i)] = MaskConvBlock(hidden_size, kernel_size, mask_size + 2 * (i + 1))
        self.masked_convs = masked
        if vq is not None:
            self.vq_layers = GroupVQ(hidden_size, list(vq["codebook_size"]), list(vq["code_dim"]),
                                     float(vq["gumbel_temperature"]))
        if dim_bottleneck is not None:
            self.ae_bottleneck = nn.Linear(hidden_size, int(dim_bottleneck), bias=False)
        self.postnet = nn.Linear(int(dim_bottleneck or hidden_size), input_size)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """``feats [B, T, M]`` -> hidden states ``[B, T, H]``.

        Hidden states: block 0, masked conv 0, block 1, masked conv 1, ..., then the summed
        masked outputs (the bottleneck output when ``dim_bottleneck`` is set), as s3prl
        reports them. Each block's output is zeroed past the utterance end before the next
        convolution, so padded frames act exactly like the zero padding of a single
        utterance and batching changes nothing (in eval mode).
        """
        keep = frame_mask(lengths, feats.shape[1])[:, None, :].to(feats.dtype)  # [B, 1, T]
        x = feats.transpose(1, 2) * keep
        hidden: list[torch.Tensor] = []
        summed = None
        for i, block in enumerate(self.blocks):
            x = block(x) * keep
            hidden.append(x.transpose(1, 2))
            if str(i) in self.masked_convs:
                masked = self.masked_convs[str(i)](x) * keep.transpose(1, 2)
                hidden.append(masked)
                summed = masked if summed is None else summed + masked
        feat = summed
        if hasattr(self, "ae_bottleneck"):
            feat = self.ae_bottleneck(feat)
        hidden.append(feat)
        return hidden
