"""wav2vec (v1) and vq-wav2vec as in fairseq's ``models/wav2vec/wav2vec.py``, without fairseq.

Parameter names match fairseq's state_dict so the authors' files load strictly:
``feature_extractor.conv_layers.{i}.{0 conv, 2 GroupNorm}``, ``feature_aggregator.conv_layers.
{i}.{1 conv, 3 GroupNorm}``, ``feature_aggregator.residual_proj.{i}``, ``vector_quantizer.*``,
``wav2vec_predictions.project_to_steps`` (kept only so the file loads; unused for features).

Every GroupNorm here normalises over the *valid* frames of each utterance (``frame_mask``), so
an utterance's features never depend on its batch. fairseq normalises over the padded batch
time axis; on a single unpadded utterance both are identical, which is what we match.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from speechbench import errors
from speechbench.upstream._modules.conv_spec import parse_conv_spec
from speechbench.upstream.options import as_bool

# Defaults of fairseq's ``base_wav2vec_architecture`` (what argparse-era files were built from
# when a field is absent).
DEFAULTS: dict = {
    "conv_feature_layers": "[(512, 10, 5)] + [(512, 8, 4)] + [(512, 4, 2)] * 3",
    "conv_aggregator_layers": "[(512, 3, 1)] * 9",
    "aggregator": "cnn", "skip_connections_feat": False, "skip_connections_agg": False,
    "residual_scale": 0.5, "log_compression": False, "non_affine_group_norm": False,
    "no_conv_bias": False, "agg_zero_pad": False, "activation": "relu", "project_features": "none",
    "prediction_steps": 12, "vq_type": "none", "vq_vars": 320, "vq_groups": 2, "vq_dim": 0,
    "vq_depth": 1, "combine_groups": False, "vq_gamma": 0.25,
}


class ConfigError(errors.ConfigError):
    """A wav2vec config field we cannot build a model from."""


@dataclass
class Wav2VecConfig:
    """The fields of a fairseq wav2vec model config that shape the network."""

    feature_layers: list
    aggregator_layers: list
    skip_connections_agg: bool
    residual_scale: float
    log_compression: bool
    affine_group_norm: bool
    conv_bias: bool
    agg_zero_pad: bool
    activation: str
    project_features: str
    prediction_steps: int
    vq_type: str
    vq_vars: int
    vq_groups: int
    vq_dim: int
    vq_depth: int
    combine_groups: bool

    @classmethod
    def from_fairseq(cls, raw: dict) -> "Wav2VecConfig":
        """Merge a fairseq model config (argparse fields or hydra ``cfg['model']``) over the defaults."""
        c = {**DEFAULTS, **{k: v for k, v in raw.items() if v is not None}}
        if str(c.get("aggregator")) != "cnn":
            raise ConfigError(f"aggregator={c['aggregator']!r}: only the convolutional aggregator "
                              "(every released wav2vec/vq-wav2vec file) is supported")
        if as_bool(c["skip_connections_feat"]):
            raise ConfigError("skip_connections_feat=True is not supported (no released file uses it; its "
                              "residual stride depends on the padded batch length)")
        activation = str(c["activation"])
        if activation not in ("relu", "gelu"):
            raise ConfigError(f"activation={activation!r}; fairseq knows relu and gelu")
        vq_type = str(c["vq_type"] or "none")
        if vq_type not in ("none", "gumbel", "kmeans"):
            raise ConfigError(f"vq_type={vq_type!r}; expected none, gumbel or kmeans")
        project = str(c["project_features"])
        if project not in ("none", "same", "new"):
            raise ConfigError(f"project_features={project!r}; expected none, same or new")
        return cls(
            feature_layers=parse_conv_spec(c["conv_feature_layers"], "conv_feature_layers"),
            aggregator_layers=parse_conv_spec(c["conv_aggregator_layers"], "conv_aggregator_layers"),
            skip_connections_agg=as_bool(c["skip_connections_agg"]), residual_scale=float(c["residual_scale"]),
            log_compression=as_bool(c["log_compression"]),
            affine_group_norm=not as_bool(c["non_affine_group_norm"]), conv_bias=not as_bool(c["no_conv_bias"]),
            agg_zero_pad=as_bool(c["agg_zero_pad"]), activation=activation, project_features=project,
            prediction_steps=int(c["prediction_steps"]), vq_type=vq_type, vq_vars=int(c["vq_vars"]),
            vq_groups=int(c["vq_groups"]), vq_dim=int(c["vq_dim"]), vq_depth=int(c["vq_depth"]),
            combine_groups=as_bool(c["combine_groups"]),
        )


class MaskedGroupNorm(nn.Module):
    """``GroupNorm(groups, C)`` over channels and the valid frames only (fp32, eps 1e-5, biased var)."""

    def __init__(self, groups: int, channels: int, affine: bool = True, eps: float = 1e-5) -> None:
        super().__init__()
        self.groups, self.eps = groups, eps
        self.weight = nn.Parameter(torch.ones(channels)) if affine else None
        self.bias = nn.Parameter(torch.zeros(channels)) if affine else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        dtype = x.dtype
        g = x.float().view(b, self.groups, c // self.groups, t)
        m = mask[:, None, None, :].to(g.dtype)
        count = (m.sum(dim=(2, 3), keepdim=True) * (c // self.groups)).clamp(min=1)
        mean = (g * m).sum(dim=(2, 3), keepdim=True) / count
        var = (((g - mean) * m) ** 2).sum(dim=(2, 3), keepdim=True) / count
        y = ((g - mean) * torch.rsqrt(var + self.eps)).view(b, c, t)
        if self.weight is not None:
            y = y * self.weight[None, :, None] + self.bias[None, :, None]
        return y.to(dtype)


def _activation(name: str) -> nn.Module:
    return nn.GELU() if name == "gelu" else nn.ReLU()


class FeatureExtractor(nn.Module):
    """Strided convs (no bias) -> GroupNorm(1, C) -> activation, then optional log(|x|+1)."""

    def __init__(self, cfg: Wav2VecConfig) -> None:
        super().__init__()
        self.conv_layers = nn.ModuleList()
        in_dim = 1
        for dim, k, stride in cfg.feature_layers:
            self.conv_layers.append(nn.Sequential(
                nn.Conv1d(in_dim, dim, k, stride=stride, bias=False), nn.Dropout(0.0),
                MaskedGroupNorm(1, dim, affine=cfg.affine_group_norm), _activation(cfg.activation)))
            in_dim = dim
        self.log_compression = cfg.log_compression

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, L]`` samples -> ``[B, C, T]`` and valid frame counts."""
        x = wav.unsqueeze(1)
        for conv, _, norm, act in self.conv_layers:
            x = conv(x)
            lengths = torch.div(lengths - conv.kernel_size[0], conv.stride[0], rounding_mode="floor") + 1
            x = act(norm(x, _mask(lengths, x.shape[-1])))
        if self.log_compression:
            x = (x.abs() + 1).log()
        return x, lengths


def _mask(lengths: torch.Tensor, t: int) -> torch.Tensor:
    return torch.arange(t, device=lengths.device)[None, :] < lengths[:, None]


class Aggregator(nn.Module):
    """Causal convs (left padding k-1) -> GroupNorm -> activation, with scaled skip connections."""

    def __init__(self, cfg: Wav2VecConfig, embed: int) -> None:
        super().__init__()
        self.conv_layers = nn.Sequential()
        self.residual_proj = nn.ModuleList()
        in_dim = embed
        for dim, k, stride in cfg.aggregator_layers:
            if stride != 1:
                raise ConfigError(f"aggregator layer ({dim}, {k}, {stride}): only stride 1 keeps frames aligned")
            pad = nn.ConstantPad1d((k - 1, 0), 0.0) if cfg.agg_zero_pad else nn.ReplicationPad1d((k - 1, 0))
            self.residual_proj.append(nn.Conv1d(in_dim, dim, 1, bias=False)
                                      if in_dim != dim and cfg.skip_connections_agg else None)
            self.conv_layers.append(nn.Sequential(
                pad, nn.Conv1d(in_dim, dim, k, bias=cfg.conv_bias), nn.Dropout(0.0),
                MaskedGroupNorm(1, dim, affine=cfg.affine_group_norm), _activation(cfg.activation)))
            in_dim = dim
        self.skip_connections = cfg.skip_connections_agg
        self.residual_scale = math.sqrt(cfg.residual_scale)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        """The input of every layer after the first, then the output: ``len(layers)`` tensors."""
        states = []
        for i, ((pad, conv, _, norm, act), proj) in enumerate(zip(self.conv_layers, self.residual_proj)):
            if i > 0:
                states.append(x)
            residual = x
            x = act(norm(conv(pad(x)), mask))
            if self.skip_connections:
                x = (x + (proj(residual) if proj is not None else residual)) * self.residual_scale
        states.append(x)
        return states


def _codeword_dim(cfg: Wav2VecConfig, dim: int) -> int:
    """Size of one group's codeword: ``vq_dim`` (0: the input's ``dim``) split over ``vq_groups``."""
    vq_dim = cfg.vq_dim if cfg.vq_dim > 0 else dim
    if vq_dim % cfg.vq_groups:
        raise ConfigError(f"vq_dim {vq_dim} is not divisible by vq_groups {cfg.vq_groups}")
    return vq_dim // cfg.vq_groups


class GumbelQuantizer(nn.Module):
    """fairseq's ``GumbelVectorQuantizer`` at inference: argmax per group picks a codeword."""

    def __init__(self, cfg: Wav2VecConfig, dim: int) -> None:
        super().__init__()
        self.groups, self.num_vars, self.combine_groups = cfg.vq_groups, cfg.vq_vars, cfg.combine_groups
        num_groups = 1 if cfg.combine_groups else cfg.vq_groups
        self.vars = nn.Parameter(torch.rand(1, num_groups * cfg.vq_vars, _codeword_dim(cfg, dim)))
        if cfg.vq_depth > 1:
            inner = dim * 2
            blocks = [nn.Sequential(nn.Linear(dim if i == 0 else inner, inner), _activation(cfg.activation))
                      for i in range(cfg.vq_depth - 1)]
            self.weight_proj = nn.Sequential(*blocks, nn.Linear(inner, cfg.vq_groups * cfg.vq_vars))
        else:
            self.weight_proj = nn.Linear(dim, cfg.vq_groups * cfg.vq_vars)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, C, T]`` -> quantised ``[B, vq_dim, T]`` and codes ``[B, T, groups]``."""
        b, _, t = x.shape
        logits = self.weight_proj(x.transpose(1, 2)).view(b, t, self.groups, self.num_vars)
        codes = logits.argmax(-1)
        table = self.vars.squeeze(0).view(-1 if self.combine_groups else self.groups, self.num_vars, self.vars.shape[-1])
        if self.combine_groups:
            table = table.expand(self.groups, -1, -1)
        q = torch.stack([table[g][codes[..., g]] for g in range(self.groups)], dim=2)
        return q.reshape(b, t, -1).transpose(1, 2), codes


class KmeansQuantizer(nn.Module):
    """fairseq's ``KmeansVectorQuantizer``: grouped 1x1 conv + GroupNorm, nearest codeword per group."""

    def __init__(self, cfg: Wav2VecConfig, dim: int) -> None:
        super().__init__()
        self.groups, self.var_dim, self.combine_groups = cfg.vq_groups, _codeword_dim(cfg, dim), cfg.combine_groups
        self.embedding = nn.Parameter(0.01 * torch.randn(cfg.vq_vars, 1 if cfg.combine_groups else cfg.vq_groups, self.var_dim))
        self.projection = nn.Sequential(nn.Conv1d(dim, dim, 1, groups=cfg.vq_groups, bias=False),
                                        MaskedGroupNorm(cfg.vq_groups, dim))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, t = x.shape
        ze = self.projection[1](self.projection[0](x), mask)
        ze = ze.view(b, self.groups, self.var_dim, t).permute(0, 3, 1, 2)          # B T G D
        emb = self.embedding.expand(-1, self.groups, -1)                            # V G D
        dist = (ze.unsqueeze(3) - emb.transpose(0, 1)[None, None]).norm(dim=-1)     # B T G V
        codes = dist.argmin(-1)
        q = torch.stack([emb[codes[..., g], g] for g in range(self.groups)], dim=2)
        return q.reshape(b, t, -1).transpose(1, 2), codes


class Predictions(nn.Module):
    """Only the parameters of fairseq's ``Wav2VecPredictionsModel`` (step projections)."""

    def __init__(self, in_dim: int, out_dim: int, steps: int) -> None:
        super().__init__()
        self.project_to_steps = nn.ConvTranspose2d(in_dim, out_dim, (1, steps))


class Wav2VecModel(nn.Module):
    """Feature extractor, optional quantiser, aggregator; ``forward`` returns every layer."""

    def __init__(self, cfg: Wav2VecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.feature_extractor = FeatureExtractor(cfg)
        embed = cfg.feature_layers[-1][0]
        if cfg.vq_type == "gumbel":
            self.vector_quantizer = GumbelQuantizer(cfg, embed)
        elif cfg.vq_type == "kmeans":
            self.vector_quantizer = KmeansQuantizer(cfg, embed)
        else:
            self.vector_quantizer = None
        # fairseq feeds the aggregator with `embed` channels whatever vq_dim says.
        self.feature_aggregator = Aggregator(cfg, embed)
        self.wav2vec_predictions = Predictions(cfg.aggregator_layers[-1][0], embed, cfg.prediction_steps)
        if cfg.project_features != "none":
            # 'same' shares the aggregator in fairseq, whose state_dict then repeats its weights here.
            self.project_features = Aggregator(cfg, embed)

    def min_samples(self) -> int:
        """Shortest input giving one frame (the extractor's receptive field)."""
        need = 1
        for _, k, stride in reversed(self.cfg.feature_layers):
            need = (need - 1) * stride + k
        return need

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor) -> dict:
        """``[B, L]`` zero-padded samples -> hidden states ``[B, T, D]``, frame counts, codes."""
        z, frames = self.feature_extractor(wav, lengths)
        mask = _mask(frames, z.shape[-1])
        out = {"z": z, "feature_lengths": frames, "mask": mask}
        x = z
        if self.vector_quantizer is not None:
            x, codes = self.vector_quantizer(z, mask)
            out["codewords"], out["codes"] = x, codes.masked_fill(~mask[..., None], -1)
        states = self.feature_aggregator(x, mask)
        out["hidden_states"] = [h.transpose(1, 2) for h in [z] + states]
        return out
