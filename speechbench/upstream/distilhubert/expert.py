"""DistilHuBERT (Chang, Yang and Lee, 2022) as its authors release it (s3prl's distiller).

``-k`` takes ``distilhubert_ls960_4-8-12.ckpt``-style files written by s3prl's pretrain
runner: ``{'Distiller': state_dict, 'Config': {'distiller': {...}, ...}, 'Optimizer',
'Step', 'Args', 'Runner'}``. ``Args`` is a pickled ``argparse.Namespace`` and ``Optimizer``
may pickle learning-rate schedules of s3prl's ``optimizers`` module: these load as inert
stubs (the same allow-list as the Mockingjay/TERA runner files), anything else is refused.
Without ``-k`` a random DistilHuBERT (2 layers, 3 heads predicting layers 4, 8, 12) is built.

The student is the wav2vec 2.0 encoder (``upstream/wav2vec2/model.py``) without the
LayerNorm on the conv features, plus the prediction heads. Hidden states, as s3prl reports
them: the projected conv features (before the positional conv), the output of each student
layer, then each head's prediction (of teacher layers 4, 8, 12): 6 of 768 for the released
model; ``last_hidden_state`` is the last prediction (s3prl's; its "paper" feature, the last
layer's output, is ``hidden_states[2]``). 20 ms frames, ``T = 1 + (L - 400) // 320``.

Padding: s3prl runs the GroupNorm front end over the padded batch; we run it per utterance
(padding follows the conv output lengths as in s3prl), so batched features equal s3prl's
single-utterance output.

Options: ``predictions`` (bool, default true): false leaves the heads' outputs out (hidden
states are then the student's alone: 3 for the released model).
"""
from __future__ import annotations

import torch

from speechbench.checkpoints import CheckpointError, load_checkpoint
from speechbench.checkpoints.safe_load import check_state_dict
from speechbench.errors import OptionError
from speechbench.upstream._modules.fairseq_checkpoint import FairseqCheckpoint
from speechbench.upstream.base import UpstreamBase, upstream_output
from speechbench.upstream.distilhubert.model import PredictionHeads, heads_state_dict
from speechbench.upstream.mockingjay.checkpoint import ALLOWED_GLOBALS as S3PRL_RUNNER_GLOBALS
from speechbench.upstream.wav2vec2.model import (
    DEFAULT_CONV_LAYERS, EncoderConfig, add_positions, check_inputs, load_weights, new_encoder, parse_conv_layers, project_frames,
    run_layers, torchaudio_state_dict,
)

LAYOUT = "DistilHuBERT checkpoint (s3prl distiller)"
# DistillerConfig's defaults, for keys a config leaves out
_DEFAULTS = {"extractor_mode": "default", "extractor_conv_feature_layers": DEFAULT_CONV_LAYERS,
             "conv_pos": 128, "conv_pos_groups": 16, "encoder_layers": 1, "encoder_embed_dim": 768,
             "encoder_ffn_embed_dim": 3072, "encoder_attention_heads": 12, "activation_fn": "gelu",
             "layer_norm_first": False, "attention_type": "original", "final_dim": 768,
             "out_layer_type": "expand-last", "out_layer_inter_dim": -1, "n_tasks": 12,
             "task_emb_type": "expand-last"}
RELEASED = {"encoder_layers": 2, "n_tasks": 3, "pred_layer_id": [4, 8, 12]}


def student_config(distiller: dict, path: str) -> tuple[EncoderConfig, dict]:
    """The encoder architecture and the full distiller config (defaults filled in)."""
    c = {**_DEFAULTS, **distiller}
    unsupported = [f"{k}={c[k]}" for k, ok in (("activation_fn", "gelu"), ("attention_type", "original"))
                   if str(c[k]) != ok]
    if str(c["task_emb_type"]) not in ("expand-last", "none"):
        unsupported.append(f"task_emb_type={c['task_emb_type']}")
    if str(c["out_layer_type"]) not in ("expand-last", "none"):
        unsupported.append(f"out_layer_type={c['out_layer_type']}")
    if int(c["encoder_layers"]) < 1:
        unsupported.append(f"encoder_layers={c['encoder_layers']}")
    if str(c["extractor_mode"]) not in ("default", "layer_norm"):
        unsupported.append(f"extractor_mode={c['extractor_mode']}")
    if unsupported:
        raise CheckpointError(f"{path}: unsupported distiller variant ({', '.join(unsupported)})")
    cfg = EncoderConfig(
        family="distilhubert", finetuned=False, extractor_mode=str(c["extractor_mode"]),
        conv_layers=tuple(parse_conv_layers(c["extractor_conv_feature_layers"])), conv_bias=False,
        encoder_embed_dim=int(c["encoder_embed_dim"]), encoder_layers=int(c["encoder_layers"]),
        encoder_attention_heads=int(c["encoder_attention_heads"]),
        encoder_ffn_embed_dim=int(c["encoder_ffn_embed_dim"]), layer_norm_first=bool(c["layer_norm_first"]),
        conv_pos=int(c["conv_pos"]), conv_pos_groups=int(c["conv_pos_groups"]), normalize=False,
        feature_layer_norm=False)
    return cfg, c


def _heads(cfg: EncoderConfig, c: dict) -> PredictionHeads | None:
    if str(c["out_layer_type"]) == "none":
        return None
    inter = int(c["out_layer_inter_dim"])
    return PredictionHeads(cfg.encoder_embed_dim, inter if inter > 0 else cfg.encoder_embed_dim,
                           int(c["n_tasks"]), int(c["final_dim"]))


class UpstreamExpert(UpstreamBase):
    """Frozen DistilHuBERT; see the module docstring for files, outputs and options."""

    def __init__(self, ckpt: str | None = None, predictions: bool | str = True, **unused: object) -> None:
        super().__init__()
        if unused:
            raise OptionError(f"distilhubert upstream: unknown options {sorted(unused)}; known: predictions")
        if str(predictions).lower() not in ("true", "false", "1", "0"):
            raise OptionError(f"distilhubert upstream: predictions must be true or false, not '{predictions}'")
        self.predictions = str(predictions).lower() in ("true", "1")
        if ckpt:
            self.model, self.heads, self.config = self._load(ckpt)
        else:
            self.config, c = student_config(RELEASED, "(no checkpoint)")
            self.model, self.heads = new_encoder(self.config), _heads(self.config, c)
        self.requires_grad_(False)
        self.downsample_rate = self.config.downsample_rate

    @staticmethod
    def _load(path: str) -> tuple[torch.nn.Module, PredictionHeads | None, EncoderConfig]:
        file = load_checkpoint(path, allowed_globals=S3PRL_RUNNER_GLOBALS, layout=LAYOUT, mmap=True)
        if not isinstance(file, dict) or not isinstance(file.get("Distiller"), dict) \
                or not isinstance((file.get("Config") or {}).get("distiller"), dict):
            keys = sorted(map(str, file)) if isinstance(file, dict) else type(file).__name__
            raise CheckpointError(f"{path}: not a {LAYOUT}: expected a 'Distiller' state dict and a 'Config' with a "
                                  f"'distiller' section (top-level keys: {keys})")
        state = file["Distiller"]
        cfg, c = student_config(file["Config"]["distiller"], path)
        encoder_state = {k: v for k, v in state.items() if not k.startswith("output_layer.")}
        model = load_weights(cfg, torchaudio_state_dict(FairseqCheckpoint(path, "s3prl", {}, encoder_state), cfg),
                             f"{path} (DistilHuBERT student weights)")
        heads = _heads(cfg, c)
        head_state = heads_state_dict(state, path)
        if heads is None and head_state:
            raise CheckpointError(f"{path}: out_layer_type is 'none' but the file holds output_layer weights")
        if heads is not None:
            check_state_dict(heads, head_state, f"{path} (DistilHuBERT prediction heads)")
        return model, heads, cfg

    @torch.no_grad()
    def forward(self, wavs: list[torch.Tensor]) -> dict:
        check_inputs(wavs, self.config, "distilhubert")
        batch = project_frames(self.model, wavs)
        transformer = self.model.encoder.transformer
        layer_outputs = run_layers(transformer, add_positions(transformer, batch), batch.attention_mask)[1:]
        hidden = [batch.x] + layer_outputs
        if self.predictions and self.heads is not None:
            last = layer_outputs[-1]
            if not transformer.layer_norm_first:  # torchaudio's flag is True for post-LN encoders
                last = transformer.layer_norm(last)
            hidden += self.heads(last)
        return upstream_output(batch.zero_padding(hidden), batch.frames)
