"""wav2vec 2.0-family encoders from fairseq checkpoints, on torchaudio's components.

The architecture is read from the checkpoint's fairseq config (any era, see
:mod:`speechbench.upstream._modules.fairseq_checkpoint`), built with
``torchaudio.models.wav2vec2_model`` and filled from the fairseq state_dict with renamed
keys. The same encoder serves HuBERT, data2vec audio (stacked positional convs, see
:mod:`~speechbench.upstream._modules.stacked_pos_conv`), WavLM and UniSpeech-SAT (relative
position bias, :mod:`~speechbench.upstream._modules.relative_attention`), DistilHuBERT and
Hugging Face directories (their own key maps). Weights load onto a meta-device model by
assignment, so a memory-mapped file is never copied a second time.

Our own forward walks torchaudio's modules so that (a) the hidden states are those s3prl
reports: the input of every transformer layer, then the encoder output (final layer norm
included for pre-LN models), and (b) an utterance's features never depend on its batch:

* ``task.normalize`` files normalise each waveform on its own, before padding;
* the conv extractor runs on each unpadded utterance, so the ``default`` extractor's
  GroupNorm (which normalises over time) sees only that utterance (fairseq and s3prl
  normalise over the padded batch, so their *batched* outputs differ from their
  single-utterance outputs; we equal the latter);
* padded frames are zeroed before the positional convolution (as fairseq does) and
  masked out of attention, and set to zero in every returned hidden state.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
import torchaudio
from torch import nn

from speechbench.checkpoints.safe_load import CheckpointError, check_state_dict
from speechbench.errors import InputTooShortError
from speechbench.upstream._modules.conv_spec import ConvSpecError, parse_conv_spec
from speechbench.upstream._modules.fairseq_checkpoint import FairseqCheckpoint
from speechbench.upstream._modules.relative_attention import RelativePositionSelfAttention
from speechbench.upstream._modules.stacked_pos_conv import StackedPositionalConv
from speechbench.upstream.base import pad_wavs

DEFAULT_CONV_LAYERS = "[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2"
_FINETUNED = {"wav2vec_ctc": "wav2vec2", "hubert_ctc": "hubert"}
# fairseq model name -> our upstream name (the ``-u`` that loads it)
_PRETRAINED = {"wav2vec2": "wav2vec2", "hubert": "hubert", "data2vec_audio": "data2vec",
               "unispeech_sat": "unispeech_sat", "wavlm": "wavlm"}
# Pretraining-only parameters that features do not use (quantiser, targets, masking,
# UniSpeech-SAT's speaker projection and its extra layer norm for the contrastive layer).
_DROPPED_PREFIXES = ("quantizer.", "input_quantizer.", "project_q.", "project_inp.", "final_proj.",
                     "target_glu.", "mask_emb", "label_embs_concat", "spk_proj.", "encoder.layer_norm_for_extract.")


def parse_conv_layers(spec: Any) -> list[tuple[int, int, int]]:
    """A checkpoint's ``conv_feature_layers`` (see :mod:`speechbench.upstream._modules.conv_spec`)."""
    try:
        return parse_conv_spec(spec, "conv_feature_layers")
    except ConvSpecError as err:
        raise CheckpointError(str(err)) from None


@dataclass(frozen=True)
class EncoderConfig:
    """Architecture of one wav2vec 2.0-family encoder, in fairseq's field names.

    The fields after ``normalize`` are the variants of the family; their defaults are wav2vec 2.0's.
    ``conv_pos`` is the kernel of each positional conv (fairseq's ``conv_pos // pos_conv_depth``
    when there are several).
    """

    family: str  # the upstream that loads it: "wav2vec2", "hubert", "wavlm", "data2vec", ...
    finetuned: bool
    extractor_mode: str  # "default" (GroupNorm on conv 0) or "layer_norm"
    conv_layers: tuple[tuple[int, int, int], ...]
    conv_bias: bool
    encoder_embed_dim: int
    encoder_layers: int
    encoder_attention_heads: int
    encoder_ffn_embed_dim: int
    layer_norm_first: bool
    conv_pos: int
    conv_pos_groups: int
    normalize: bool
    pos_conv_depth: int = 1  # data2vec: a stack of convs (no weight norm) instead of one
    relative_buckets: int = 0  # WavLM / UniSpeech-SAT relative position bias; 0: none
    relative_max_distance: int = 0
    gated_relative_position: bool = False
    feature_layer_norm: bool = True  # LayerNorm on conv features before the projection (not DistilHuBERT)
    layer_norm_eps: float = 1e-5

    @property
    def downsample_rate(self) -> int:
        rate = 1
        for _, _, stride in self.conv_layers:
            rate *= stride
        return rate

    @property
    def min_samples(self) -> int:
        """Shortest waveform that yields one frame (400 samples for the released models)."""
        need = 1
        for _, kernel, stride in reversed(self.conv_layers):
            need = (need - 1) * stride + kernel
        return need


def check_inputs(wavs: list[torch.Tensor], cfg: EncoderConfig, name: str) -> None:
    """The shared input checks, and at least one frame's worth of samples per utterance."""
    pad_wavs(wavs)
    short = [i for i, w in enumerate(wavs) if len(w) < cfg.min_samples]
    if short:
        listed = ", ".join(f"wav {i} ({len(wavs[i])} samples)" for i in short[:5])
        raise InputTooShortError(f"{name} needs at least {cfg.min_samples} samples per utterance "
                                 f"(one frame); too short: {listed}", short)


def _model_and_task(ckpt: FairseqCheckpoint) -> tuple[str, bool, dict, dict]:
    """Find the pretraining model config; fine-tuned files nest it in ``w2v_args``."""
    model, task = ckpt.cfg["model"], ckpt.cfg.get("task") or {}
    name = str(model.get("_name") or model.get("arch") or "")
    if name in _PRETRAINED:
        return _PRETRAINED[name], False, model, task
    if name in _FINETUNED:
        inner = model.get("w2v_args")
        if not isinstance(inner, dict):
            raise CheckpointError(
                f"{ckpt.path}: fine-tuned '{name}' file does not embed its pretraining config "
                f"(model.w2v_args is empty); load the pretrained file it was fine-tuned from instead")
        if isinstance(inner.get("model"), dict):  # hydra era: a full nested cfg
            inner_model, inner_task = inner["model"], inner.get("task") or {}
        else:  # argparse era: a flat namespace
            inner_model, inner_task = inner, inner
        merged_task = {**inner_task, **{k: v for k, v in task.items() if k == "normalize"}}
        family = _PRETRAINED.get(str(inner_model.get("_name") or inner_model.get("arch") or ""), _FINETUNED[name])
        return family, True, inner_model, merged_task
    raise CheckpointError(
        f"{ckpt.path}: model '{name or '?'}' is not a wav2vec 2.0-family model "
        f"(expected one of {', '.join(sorted({**_PRETRAINED, **_FINETUNED}))}); wav2vec and vq-wav2vec "
        f"files load with -u wav2vec / -u vq_wav2vec")


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def encoder_config(ckpt: FairseqCheckpoint) -> EncoderConfig:
    """Read the architecture from a checkpoint's config, with fairseq's defaults."""
    family, finetuned, m, task = _model_and_task(ckpt)
    unsupported = []
    if str(m.get("activation_fn", "gelu")) != "gelu":
        unsupported.append(f"activation_fn={m.get('activation_fn')}")
    for key in ("layer_type", "structure_type"):  # UniSpeech-SAT names it structure_type
        if str(m.get(key, "transformer")) != "transformer":
            unsupported.append(f"{key}={m.get(key)}")
    if int(m.get("expand_attention_head_size", -1)) != -1:
        unsupported.append(f"expand_attention_head_size={m.get('expand_attention_head_size')}")
    if unsupported:
        raise CheckpointError(f"{ckpt.path}: unsupported {family} variant ({', '.join(unsupported)})")
    depth, conv_pos = int(m.get("pos_conv_depth", 1)), int(m.get("conv_pos", 128))
    relative = _bool(m.get("relative_position_embedding", False))
    mode = str(m.get("extractor_mode", "default"))
    if mode not in ("default", "layer_norm"):
        raise CheckpointError(f"{ckpt.path}: extractor_mode '{mode}' is not 'default' or 'layer_norm'")
    return EncoderConfig(
        family=family, finetuned=finetuned, extractor_mode=mode,
        conv_layers=tuple(parse_conv_layers(m.get("conv_feature_layers", DEFAULT_CONV_LAYERS))),
        conv_bias=_bool(m.get("conv_bias", False)),
        encoder_embed_dim=int(m.get("encoder_embed_dim", 768)),
        encoder_layers=int(m.get("encoder_layers", 12)),
        encoder_attention_heads=int(m.get("encoder_attention_heads", 12)),
        encoder_ffn_embed_dim=int(m.get("encoder_ffn_embed_dim", 3072)),
        layer_norm_first=_bool(m.get("layer_norm_first", False)),
        conv_pos=conv_pos if depth == 1 else max(3, conv_pos // depth),
        conv_pos_groups=int(m.get("conv_pos_groups", 16)),
        normalize=_bool(task.get("normalize", m.get("normalize", False))),  # as fairseq reads it
        pos_conv_depth=depth,
        relative_buckets=int(m.get("num_buckets", 320)) if relative else 0,
        relative_max_distance=int(m.get("max_distance", 1280)) if relative else 0,
        gated_relative_position=relative and _bool(m.get("gru_rel_pos", False)),
    )


_RENAMES = tuple((re.compile(pattern), target) for pattern, target in (
    (r"feature_extractor\.conv_layers\.0\.2\.(weight|bias)", r"feature_extractor.conv_layers.0.layer_norm.\1"),
    (r"feature_extractor\.conv_layers\.(\d+)\.0\.(weight|bias)", r"feature_extractor.conv_layers.\1.conv.\2"),
    (r"feature_extractor\.conv_layers\.(\d+)\.2\.1\.(weight|bias)", r"feature_extractor.conv_layers.\1.layer_norm.\2"),
    (r"post_extract_proj\.(weight|bias)", r"encoder.feature_projection.projection.\1"),
    (r"layer_norm\.(weight|bias)", r"encoder.feature_projection.layer_norm.\1"),
    (r"encoder\.pos_conv\.0\.(weight_g|parametrizations\.weight\.original0)",
     "encoder.transformer.pos_conv_embed.conv.parametrizations.weight.original0"),
    (r"encoder\.pos_conv\.0\.(weight_v|parametrizations\.weight\.original1)",
     "encoder.transformer.pos_conv_embed.conv.parametrizations.weight.original1"),
    (r"encoder\.pos_conv\.0\.bias", "encoder.transformer.pos_conv_embed.conv.bias"),
    (r"encoder\.pos_conv\.(\d+)\.0\.(weight|bias)", r"encoder.transformer.pos_conv_embed.convs.\1.\2"),
    # relative position bias: WavLM's names, then UniSpeech-SAT's for the gate
    (r"encoder\.layers\.0\.self_attn\.relative_attention_bias\.weight",
     "encoder.transformer.layers.0.attention.rel_attn_embed.weight"),
    (r"encoder\.layers\.(\d+)\.self_attn\.(?:grep_linear|gate_ur_linear)\.(weight|bias)",
     r"encoder.transformer.layers.\1.attention.gru_rel_pos_linear.\2"),
    (r"encoder\.layers\.(\d+)\.self_attn\.(?:grep_a|eco_a)", r"encoder.transformer.layers.\1.attention.gru_rel_pos_const"),
    (r"encoder\.layer_norm\.(weight|bias)", r"encoder.transformer.layer_norm.\1"),
    (r"encoder\.layers\.(\d+)\.self_attn\.((?:k|v|q|out)_proj\.(?:weight|bias))",
     r"encoder.transformer.layers.\1.attention.\2"),
    (r"encoder\.layers\.(\d+)\.self_attn_layer_norm\.(weight|bias)", r"encoder.transformer.layers.\1.layer_norm.\2"),
    (r"encoder\.layers\.(\d+)\.fc1\.(weight|bias)",
     r"encoder.transformer.layers.\1.feed_forward.intermediate_dense.\2"),
    (r"encoder\.layers\.(\d+)\.fc2\.(weight|bias)", r"encoder.transformer.layers.\1.feed_forward.output_dense.\2"),
    (r"encoder\.layers\.(\d+)\.final_layer_norm\.(weight|bias)", r"encoder.transformer.layers.\1.final_layer_norm.\2"),
))

_CTC_HEAD = ("proj.weight", "proj.bias")  # after the w2v_encoder. prefix


def _target_key(key: str) -> str | None:
    """fairseq encoder parameter name -> torchaudio ``Wav2Vec2Model`` name (None: not needed)."""
    if key.startswith(_DROPPED_PREFIXES):
        return None
    for pattern, target in _RENAMES:
        if pattern.fullmatch(key):
            return pattern.sub(target, key)
    return key  # unknown: kept, so the strict check names it


def torchaudio_state_dict(ckpt: FairseqCheckpoint, cfg: EncoderConfig) -> dict[str, torch.Tensor]:
    """Rename a fairseq state_dict for torchaudio; drop pretraining-only and CTC-head tensors."""
    out: dict[str, torch.Tensor] = {}
    for key, value in ckpt.state_dict.items():
        if cfg.finetuned:
            if not key.startswith("w2v_encoder."):
                raise CheckpointError(f"{ckpt.path}: fine-tuned file has unexpected key '{key}' "
                                      f"(only CTC fine-tuning, keys w2v_encoder.*, is supported)")
            key = key.removeprefix("w2v_encoder.")
            if key in _CTC_HEAD:
                continue
            key = key.removeprefix("w2v_model.")
        target = _target_key(key)
        if target is not None:
            out[target] = value
    proj = "encoder.feature_projection.projection."
    if proj + "weight" not in out:  # fairseq skips post_extract_proj when dims already match
        dim = cfg.encoder_embed_dim
        out[proj + "weight"], out[proj + "bias"] = torch.eye(dim), torch.zeros(dim)
    return out


def new_encoder(cfg: EncoderConfig) -> torchaudio.models.Wav2Vec2Model:
    """A torchaudio ``Wav2Vec2Model`` of this architecture (random weights, no dropout).

    The family's variants replace torchaudio's parts: the positional conv stack, relative
    position attention, no feature LayerNorm, another LayerNorm epsilon.
    """
    model = torchaudio.models.wav2vec2_model(
        extractor_mode="group_norm" if cfg.extractor_mode == "default" else "layer_norm",
        extractor_conv_layer_config=list(cfg.conv_layers), extractor_conv_bias=cfg.conv_bias,
        encoder_embed_dim=cfg.encoder_embed_dim, encoder_projection_dropout=0.0,
        encoder_pos_conv_kernel=cfg.conv_pos, encoder_pos_conv_groups=cfg.conv_pos_groups,
        encoder_num_layers=cfg.encoder_layers, encoder_num_heads=cfg.encoder_attention_heads,
        encoder_attention_dropout=0.0, encoder_ff_interm_features=cfg.encoder_ffn_embed_dim,
        encoder_ff_interm_dropout=0.0, encoder_dropout=0.0, encoder_layer_norm_first=cfg.layer_norm_first,
        encoder_layer_drop=0.0, aux_num_out=None).eval()
    transformer = model.encoder.transformer
    if cfg.pos_conv_depth > 1:
        transformer.pos_conv_embed = StackedPositionalConv(cfg.encoder_embed_dim, cfg.conv_pos,
                                                           cfg.conv_pos_groups, cfg.pos_conv_depth)
    if cfg.relative_buckets:
        for i, layer in enumerate(transformer.layers):
            layer.attention = RelativePositionSelfAttention(
                cfg.encoder_embed_dim, cfg.encoder_attention_heads, has_bias_table=i == 0,
                num_buckets=cfg.relative_buckets, max_distance=cfg.relative_max_distance,
                gated=cfg.gated_relative_position)
    if not cfg.feature_layer_norm:
        model.encoder.feature_projection.layer_norm = nn.Identity()
    for module in model.encoder.modules():
        if isinstance(module, nn.LayerNorm):
            module.eps = cfg.layer_norm_eps
    return model.eval()


def load_weights(cfg: EncoderConfig, state: dict[str, torch.Tensor], what: str) -> torchaudio.models.Wav2Vec2Model:
    """Build ``cfg`` on the meta device and take ``state``'s tensors as its parameters.

    Assignment instead of copying: with a memory-mapped file the weights exist once (as
    file pages). Non-float32 tensors (fp16 files) are converted once.
    """
    with torch.device("meta"):
        model = new_encoder(cfg)
    state = {k: v if v.dtype == torch.float32 else v.float() for k, v in state.items()}
    check_state_dict(model, state, what, assign=True)
    return model.eval()


def load_encoder(ckpt: FairseqCheckpoint) -> tuple[torchaudio.models.Wav2Vec2Model, EncoderConfig]:
    """Build the checkpoint's architecture and load its weights (strict, named errors)."""
    cfg = encoder_config(ckpt)
    return load_weights(cfg, torchaudio_state_dict(ckpt, cfg), f"{ckpt.path} ({cfg.family} weights)"), cfg


def _single_channel_conv(conv: nn.Conv1d, wav: torch.Tensor) -> torch.Tensor:
    """The first conv (one input channel) as a matmul over strided windows: ``[L] -> [C, T]``.

    Same numbers as ``conv(wav[None, None])[0]``, about 7x faster on CPU, where the
    one-channel convolution runs at a few GFLOP/s (it was ~4% of Base's extraction time).
    """
    windows = wav.unfold(0, conv.kernel_size[0], conv.stride[0])  # [T, K], a view
    out = conv.weight[:, 0, :] @ windows.t()
    return out if conv.bias is None else out + conv.bias[:, None]


def _conv_features(model: torchaudio.models.Wav2Vec2Model, wav: torch.Tensor) -> torch.Tensor:
    """Conv feature extractor on one unpadded utterance: ``[L] -> [T, C]``."""
    x = None
    for block in model.feature_extractor.conv_layers:  # the first takes the raw waveform
        x = _single_channel_conv(block.conv, wav)[None] if x is None else block.conv(x)
        if block.layer_norm is not None:
            x = block.layer_norm(x)
        x = F.gelu(x)
    return x[0].transpose(0, 1)


@dataclass
class ProjectedFrames:
    """Conv features of a batch, projected to the encoder width, padded frames zeroed."""

    x: torch.Tensor  # [B, T, D]
    frames: torch.Tensor  # LongTensor[B], valid frames per utterance
    valid: torch.Tensor | None  # bool [B, T], None when nothing is padded

    @property
    def attention_mask(self) -> torch.Tensor | None:
        """bool ``[B, 1, T, T]``, True where a query may attend (valid keys); None: no padding."""
        if self.valid is None:
            return None
        b, t = self.valid.shape
        return self.valid[:, None, None, :].expand(b, 1, t, t)

    def zero_padding(self, states: list[torch.Tensor]) -> list[torch.Tensor]:
        """Set padded frames to zero in every ``[B, T, D]`` state."""
        if self.valid is None:
            return states
        keep = self.valid[..., None].to(states[0].dtype)
        return [h * keep for h in states]


def project_frames(model: torchaudio.models.Wav2Vec2Model, wavs: list[torch.Tensor]) -> ProjectedFrames:
    """Conv extractor per unpadded utterance, then (LayerNorm and) projection on the padded batch.

    Per utterance, the ``default`` extractor's GroupNorm sees only that utterance, and no
    compute is spent on padding. Padded frames are zeroed, as fairseq does before pos_conv.
    """
    feats = [_conv_features(model, w) for w in wavs]
    frames = torch.tensor([len(f) for f in feats], device=feats[0].device)
    padded = feats[0][None] if len(feats) == 1 else nn.utils.rnn.pad_sequence(feats, batch_first=True)
    x = model.encoder.feature_projection(padded)
    valid = None
    if bool((frames < x.shape[1]).any()):
        valid = torch.arange(x.shape[1], device=x.device)[None, :] < frames[:, None]
        x = x * valid[..., None].to(x.dtype)
    return ProjectedFrames(x, frames, valid)


def add_positions(transformer: nn.Module, batch: ProjectedFrames) -> torch.Tensor:
    """The projected frames plus the positional conv; LayerNorm after it for post-LN encoders."""
    pos = transformer.pos_conv_embed
    x = batch.x + (pos(batch.x, batch.valid) if isinstance(pos, StackedPositionalConv) else pos(batch.x))
    return transformer.layer_norm(x) if transformer.layer_norm_first else x  # torchaudio's flag: post-LN


def run_layers(transformer: nn.Module, x: torch.Tensor, attention_mask: torch.Tensor | None) -> list[torch.Tensor]:
    """Input of every layer, then the last layer's output (relative position bias passed on)."""
    states, position_bias = [], None
    for layer in transformer.layers:
        states.append(x)
        x, position_bias = layer(x, attention_mask, position_bias=position_bias)
    return states + [x]


@torch.no_grad()
def extract_hidden_states(model: torchaudio.models.Wav2Vec2Model,
                          wavs: list[torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Hidden states (inputs of every layer, then the encoder output) and frame counts.

    ``wavs`` are unpadded (already normalised when the model wants it); see
    :func:`project_frames`. The transformer runs on the padded batch with padded frames masked.
    """
    batch = project_frames(model, wavs)
    transformer = model.encoder.transformer
    hidden = run_layers(transformer, add_positions(transformer, batch), batch.attention_mask)
    if not transformer.layer_norm_first:  # torchaudio's flag is True for post-LN encoders
        hidden[-1] = transformer.layer_norm(hidden[-1])
    return batch.zero_padding(hidden), batch.frames
