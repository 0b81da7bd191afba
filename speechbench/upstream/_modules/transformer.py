"""The BERT-style acoustic transformer encoder of Mockingjay, TERA and Audio ALBERT.

One module for the three upstreams. Submodule names follow s3prl's ``TransformerModel``
so the released ``Transformer`` and ``SpecHead`` state dicts load key for key:
``input_representations.{spec_transform,LayerNorm}``, ``encoder.layer.{i}.attention.
{self.{query,key,value},output.{dense,LayerNorm}}``, ``...intermediate.dense``,
``...output.{dense,LayerNorm}``; pre-LN models also expose ``layer.{i}.attention.LayerNorm``
and ``layer.{i}.LayerNorm`` (aliases of the two output LayerNorms, as in s3prl) and
``encoder.LayerNorm.{0..N}``. ``share_layer`` (Audio ALBERT) puts one layer object at every
index, so its parameters are shared and the state dict repeats them under each index.

Computation: frames (optionally ``downsample_rate`` of them stacked into one vector) ->
Linear -> + sinusoidal positions -> TF-style LayerNorm (eps inside the sqrt) -> layers
with erf GELU and an additive ``-10000`` key mask on padded frames. Hidden states are the
input representation then each layer's output (pre-LN models: each passed through its
``encoder.LayerNorm`` entry), N + 1 in all.
"""
from __future__ import annotations

import dataclasses
import math
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from speechbench.errors import ConfigError

MASK_VALUE = -10000.0
_ACTIVATIONS = {
    "gelu": lambda x: x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0))),
    "relu": F.relu,
    "swish": lambda x: x * torch.sigmoid(x),
}


class TransformerConfigError(ConfigError):
    """A ``transformer`` config section that does not describe a valid encoder."""


@dataclasses.dataclass
class TransformerConfig:
    """The ``transformer`` section of an s3prl MODEL config (``input_dim`` is ignored)."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    share_layer: bool = False
    pre_layer_norm: bool = False
    downsample_rate: int = 1  # consecutive frames stacked into one input vector (Mockingjay)

    @classmethod
    def from_dict(cls, section: dict, where: str = "transformer config") -> "TransformerConfig":
        """Validate and convert; unknown keys are ignored (s3prl files carry extras like input_dim)."""
        if not isinstance(section, dict):
            raise TransformerConfigError(f"{where}: expected a mapping, got {type(section).__name__}")
        required = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
        missing = [k for k in required if k not in section]
        if missing:
            raise TransformerConfigError(f"{where}: missing {', '.join(missing)}")
        values = {}
        for field in dataclasses.fields(cls):
            if field.name in section:
                kind = {"int": int, "float": float, "bool": bool, "str": str}[field.type]
                values[field.name] = kind(section[field.name])
        config = cls(**values)
        if config.hidden_size % config.num_attention_heads:
            raise TransformerConfigError(f"{where}: hidden_size {config.hidden_size} is not a multiple of "
                                         f"num_attention_heads {config.num_attention_heads}")
        if config.hidden_act not in _ACTIVATIONS:
            raise TransformerConfigError(f"{where}: hidden_act '{config.hidden_act}' is not one of "
                                         f"{', '.join(_ACTIVATIONS)}")
        if min(config.hidden_size, config.num_hidden_layers, config.intermediate_size, config.downsample_rate) < 1:
            raise TransformerConfigError(f"{where}: sizes must be positive: {section}")
        return config

    def to_dict(self, input_dim: int) -> dict:
        """The section as s3prl writes it (``input_dim`` is informational there)."""
        out = {"input_dim": int(input_dim), **dataclasses.asdict(self)}
        if self.downsample_rate == 1:
            del out["downsample_rate"]  # s3prl 0.4 files have no such key
        return out


class LayerNorm(nn.Module):
    """TensorFlow-style layer norm: epsilon inside the square root."""

    def __init__(self, size: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.bias = nn.Parameter(torch.zeros(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(-1, keepdim=True)
        var = (x - mean).pow(2).mean(-1, keepdim=True)
        return self.weight * (x - mean) / torch.sqrt(var + self.eps) + self.bias


@lru_cache(maxsize=16)
def _sinusoid_table(length: int, size: int) -> torch.Tensor:
    pos = torch.arange(length, dtype=torch.float64)[:, None]
    rate = torch.pow(10000.0, 2 * (torch.arange(size, dtype=torch.float64) // 2) / size)
    angle = pos / rate
    angle[:, 0::2] = angle[:, 0::2].sin()
    angle[:, 1::2] = angle[:, 1::2].cos()
    return angle.float()


def position_encoding(length: int, size: int) -> torch.Tensor:
    """``[length, size]`` sinusoidal positions (sin on even, cos on odd dimensions)."""
    return _sinusoid_table(1 << max(length - 1, 1).bit_length(), size)[:length]


def stack_frames(feat: torch.Tensor, rate: int) -> torch.Tensor:
    """``[T, D]`` -> ``[T // rate, D * rate]``: consecutive frames concatenated, remainder dropped."""
    if rate == 1:
        return feat
    usable = feat.shape[0] // rate * rate
    return feat[:usable].reshape(usable // rate, feat.shape[1] * rate)


class InputRepresentations(nn.Module):
    def __init__(self, config: TransformerConfig, input_dim: int) -> None:
        super().__init__()
        self.spec_transform = nn.Linear(input_dim * config.downsample_rate, config.hidden_size)
        self.LayerNorm = LayerNorm(config.hidden_size, config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        pos = position_encoding(spec.shape[1], self.spec_transform.out_features).to(spec.device, spec.dtype)
        return self.dropout(self.LayerNorm(self.spec_transform(spec) + pos))


class SelfAttention(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.heads = config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_p = config.attention_probs_dropout_prob

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape

        def split(proj: nn.Linear) -> torch.Tensor:
            return proj(x).view(b, t, self.heads, d // self.heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(split(self.query), split(self.key), split(self.value), attn_mask=mask,
                                             dropout_p=self.dropout_p if self.training else 0.0)
        return out.transpose(1, 2).reshape(b, t, d)


class ResidualOutput(nn.Module):
    """Dense -> dropout -> + residual (-> LayerNorm when post-LN)."""

    def __init__(self, config: TransformerConfig, in_size: int) -> None:
        super().__init__()
        self.pre_layer_norm = config.pre_layer_norm
        self.dense = nn.Linear(in_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.LayerNorm = LayerNorm(config.hidden_size, config.layer_norm_eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.dense(x)) + residual
        return x if self.pre_layer_norm else self.LayerNorm(x)


class Attention(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.self = SelfAttention(config)
        self.output = ResidualOutput(config, config.hidden_size)
        if config.pre_layer_norm:
            self.LayerNorm = self.output.LayerNorm

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        inner = self.LayerNorm(x) if hasattr(self, "LayerNorm") else x
        return self.output(self.self(inner, mask), x)


class Intermediate(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = _ACTIVATIONS[config.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(x))


class TransformerLayer(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.attention = Attention(config)
        self.intermediate = Intermediate(config)
        self.output = ResidualOutput(config, config.intermediate_size)
        if config.pre_layer_norm:
            self.LayerNorm = self.output.LayerNorm

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        attended = self.attention(x, mask)
        inner = self.LayerNorm(attended) if hasattr(self, "LayerNorm") else attended
        return self.output(self.intermediate(inner), attended)


class Encoder(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        n = config.num_hidden_layers
        if config.share_layer:
            shared = TransformerLayer(config)
            self.layer = nn.ModuleList([shared] * n)
        else:
            self.layer = nn.ModuleList(TransformerLayer(config) for _ in range(n))
        if config.pre_layer_norm:
            self.LayerNorm = nn.ModuleList(LayerNorm(config.hidden_size, config.layer_norm_eps) for _ in range(n + 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        """Hidden states before each layer and after the last (normalised when pre-LN)."""
        states = [x]
        for layer in self.layer:
            states.append(layer(states[-1], mask))
        if hasattr(self, "LayerNorm"):
            states = [norm(s) for norm, s in zip(self.LayerNorm, states)]
        return states


def init_weights(module: nn.Module, std: float) -> None:
    """BERT init: Linear weights N(0, std), biases 0, LayerNorms 1/0 (torch's global RNG)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            nn.init.zeros_(m.bias)
        elif isinstance(m, LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class TransformerModel(nn.Module):
    """Frames ``[B, T, input_dim * downsample_rate]`` + lengths -> N + 1 hidden states."""

    def __init__(self, config: TransformerConfig, input_dim: int) -> None:
        super().__init__()
        self.config = config
        self.input_dim = input_dim
        self.input_representations = InputRepresentations(config, input_dim)
        self.encoder = Encoder(config)
        init_weights(self, config.initializer_range)

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        valid = torch.arange(frames.shape[1], device=frames.device)[None, :] < lengths[:, None]
        mask = ((~valid).to(frames.dtype) * MASK_VALUE)[:, None, None, :]
        states = self.encoder(self.input_representations(frames), mask)
        keep = valid[:, :, None].to(frames.dtype)
        return [s * keep for s in states]


class SpecHead(nn.Module):
    """s3prl's ``TransformerSpecPredictionHead``: dense -> act -> LayerNorm -> output."""

    def __init__(self, config: TransformerConfig, output_dim: int) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = _ACTIVATIONS[config.hidden_act]
        self.LayerNorm = LayerNorm(config.hidden_size, config.layer_norm_eps)
        self.output = nn.Linear(config.hidden_size, output_dim)
        init_weights(self, config.initializer_range)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.output(self.LayerNorm(self.act(self.dense(hidden))))
