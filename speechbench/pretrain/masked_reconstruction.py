"""Masked reconstruction pretraining of Mockingjay, TERA and Audio ALBERT (s3prl's recipe).

The input frames are altered and the transformer + ``SpecHead`` reconstruct the target
frames; the loss (L1 by default) counts only altered positions. Alterations, from the
``task`` section of the MODEL config, per utterance as in s3prl's ``task.py``:

* time (Mockingjay, TERA): spans of ``mask_consecutive_{min,max}`` frames covering about
  ``mask_proportion`` of the frames (``round(n * p / span)`` starts, overlapping unless
  ``mask_allow_overlap`` is false, then one start per bucket of ``span * mask_bucket_ratio``);
  per utterance a die picks: 80% zero the spans, 10% copy other random spans of the same
  utterance into them, 10% leave them; the loss covers the spans in all three cases.
* frequency (TERA): one band of ``randint(0, int(D * mask_frequency))`` channels zeroed
  over the whole utterance; the loss covers that band on every valid frame.
* magnitude (TERA): with probability ``noise_proportion`` per batch, Gaussian noise
  (std 0.2) is added to the input frames; it adds no loss positions by itself.

Utterances with nothing to reconstruct are dropped from the batch, as in s3prl. Random
draws come from torch's global RNG only, so the loop's seed and saved RNG state make runs
reproducible and resumable. Departures: spans are clipped to the utterance (s3prl can
index past a short utterance), the 10% replacement copies as many spans as were chosen,
and noise touches valid frames only.

The written checkpoint is s3prl's generation (c) (see
:mod:`speechbench.upstream.mockingjay.checkpoint`), loadable by s3prl and by ``-k``.
"""
from __future__ import annotations

import copy
import dataclasses
import math

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from speechbench.errors import ConfigError, DataError
from speechbench.pretrain.objective import PretrainObjective
from speechbench.upstream._modules.mel_frontend import build_frontend
from speechbench.upstream._modules.transformer import SpecHead, TransformerConfig, TransformerModel, stack_frames
from speechbench.upstream.mockingjay.checkpoint import official_layout

NOISE_STD = 0.2


@dataclasses.dataclass
class MaskConfig:
    """The alteration settings of a MODEL config's ``task`` section (s3prl names)."""

    mask_proportion: float = 0.15
    mask_consecutive_min: int = 7
    mask_consecutive_max: int = 7
    mask_allow_overlap: bool = True
    mask_bucket_ratio: float = 1.5
    mask_frequency: float = 0.0
    noise_proportion: float = 0.0

    @classmethod
    def from_task(cls, task: dict) -> "MaskConfig":
        names = [f.name for f in dataclasses.fields(cls)]
        config = cls(**{k: type(getattr(cls, k))(task[k]) for k in names if k in task})
        if not 0 <= config.mask_proportion < 1 or not 0 <= config.mask_frequency <= 1:
            raise ConfigError(f"task config: mask_proportion must be in [0, 1) and mask_frequency in [0, 1]: {task}")
        if not 1 <= config.mask_consecutive_min <= config.mask_consecutive_max:
            raise ConfigError(f"task config: need 1 <= mask_consecutive_min <= mask_consecutive_max: {task}")
        if config.mask_proportion == 0 and config.mask_frequency == 0:
            raise ConfigError("task config: mask_proportion and mask_frequency are both 0, nothing to reconstruct")
        return config


def _randint(low: int, high: int) -> int:
    """Uniform integer in [low, high] from torch's global RNG."""
    return int(torch.randint(low, high + 1, ()))


def _time_spans(n: int, cfg: MaskConfig) -> tuple[torch.Tensor, int, int]:
    """Chosen span starts, span length, and the largest valid start for an n-frame utterance."""
    span = _randint(cfg.mask_consecutive_min, cfg.mask_consecutive_max)
    last_start = max(n - span - 1, 0)
    count = round(n * cfg.mask_proportion / span)
    if cfg.mask_allow_overlap:
        starts = torch.randperm(last_start + 1)[:count]
    else:
        bucket = max(round(span * cfg.mask_bucket_ratio), 1)
        first = _randint(0, min(span, last_start))
        candidates = torch.arange(first, last_start + 1, bucket)
        starts = candidates[torch.randperm(len(candidates))[:count]]
    return starts, span, last_start


def _frames(starts: torch.Tensor, span: int, n: int) -> torch.Tensor:
    idx = (starts[:, None] + torch.arange(span)[None, :]).reshape(-1)
    return idx[idx < n]


def alter(inputs: list[torch.Tensor], targets: list[torch.Tensor], cfg: MaskConfig
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Alter a batch of ``[T_i, D]`` inputs; return padded (altered, label mask, target, lengths)."""
    lengths = torch.tensor([len(x) for x in inputs])
    altered = pad_sequence([x.clone() for x in inputs], batch_first=True)
    target = pad_sequence(targets, batch_first=True)
    label = torch.zeros(target.shape, dtype=torch.bool)
    if cfg.mask_frequency > 0 and altered.shape[-1] != target.shape[-1]:
        raise ConfigError(f"frequency masking needs input and target of the same dimension "
                          f"(got {altered.shape[-1]} and {target.shape[-1]}); set mask_frequency: 0")
    for b, n in enumerate(lengths.tolist()):
        if cfg.mask_proportion > 0:
            starts, span, last_start = _time_spans(n, cfg)
            chosen = _frames(starts, span, n)
            dice = float(torch.rand(()))
            if dice < 0.8:
                altered[b, chosen] = 0
            elif dice < 0.9:
                source = _frames(torch.randperm(last_start + 1)[:len(starts)], span, n)
                k = min(len(source), len(chosen))
                altered[b, chosen[:k]] = altered[b, source[:k]].clone()
            label[b, chosen] = True
        if cfg.mask_frequency > 0:
            dim = target.shape[-1]
            width = _randint(0, int(dim * cfg.mask_frequency))
            width = width if width < dim else 0  # s3prl draws no start for a full-width band
            start = _randint(0, dim - width - 1)
            altered[b, :, start:start + width] = 0
            label[b, :n, start:start + width] = True
    if cfg.noise_proportion > 0 and float(torch.rand(())) < cfg.noise_proportion:
        valid = (torch.arange(altered.shape[1])[None, :] < lengths[:, None])[:, :, None]
        altered = altered + torch.randn(altered.shape) * NOISE_STD * valid
    return altered, label, target, lengths


class MaskedReconstructionObjective(PretrainObjective):
    """Transformer + SpecHead trained to undo the alterations of :func:`alter`."""

    def __init__(self, name: str, model_config: dict, warmup_proportion: float = 0.07) -> None:
        super().__init__()
        self.name = name
        self.model_config = copy.deepcopy(model_config)
        audio = self.model_config["audio"]
        self.input_frontend = build_frontend(copy.deepcopy(audio), "input")
        self.target_frontend = build_frontend(copy.deepcopy(audio), "target")
        self.config = TransformerConfig.from_dict(self.model_config["transformer"], f"{name} objective transformer")
        self.model_config["transformer"] = self.config.to_dict(self.input_frontend.dim)
        self.mask = MaskConfig.from_task(self.model_config["task"])
        loss = self.model_config["task"].get("loss", "L1")
        if loss not in ("L1", "MSE"):
            raise ConfigError(f"{name} objective: task.loss must be L1 or MSE, got {loss!r}")
        self.criterion = nn.L1Loss() if loss == "L1" else nn.MSELoss()
        self.model_config["task"] = {**self.model_config["task"], "loss": loss,
                                     "position_encoding_size": self.config.hidden_size, **dataclasses.asdict(self.mask)}
        if self.mask.mask_frequency > 0 and self.input_frontend.dim != self.target_frontend.dim:
            raise ConfigError(f"{name} objective: frequency masking needs input and target features of the same "
                              f"dimension (got {self.input_frontend.dim} and {self.target_frontend.dim}); "
                              f"set task.mask_frequency: 0 or make audio.target match audio.input")
        self.transformer = TransformerModel(self.config, self.input_frontend.dim)
        self.spec_head = SpecHead(self.config, self.target_frontend.dim * self.config.downsample_rate)
        self.warmup_proportion = warmup_proportion
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self.optimizer: torch.optim.Optimizer | None = None
        self.optimizer_config: dict = {}

    def _frames(self, wavs: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        rate = self.config.downsample_rate
        need = (max(self.input_frontend.min_samples, self.target_frontend.min_samples)
                + (rate - 1) * self.input_frontend.hop)
        short = [len(w) for w in wavs if len(w) < need]
        if short:
            raise DataError(f"{self.name} objective: got wavs of {short} samples; each needs at least {need} "
                            f"(drop such short utterances from wav.scp)")
        with torch.no_grad():  # alterations index on the CPU, so the frames go there
            inputs = [stack_frames(self.input_frontend(w), rate).cpu() for w in wavs]
            targets = [stack_frames(self.target_frontend(w), rate).cpu() for w in wavs]
        return inputs, targets

    def loss(self, wavs: list[torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """L1 (or MSE) between SpecHead predictions and targets on altered positions."""
        device = wavs[0].device
        inputs, targets = self._frames([w.float() for w in wavs])
        altered, label, target, lengths = alter(inputs, targets, self.mask)
        keep = label.flatten(1).any(1)
        if self.training:
            self.steps_done += 1
        if not bool(keep.any()):  # every utterance too short to mask: a zero loss still steps the loop
            return sum(p.sum() for p in self.parameters()) * 0.0, {"altered_frac": 0.0}
        altered, label, target = altered[keep].to(device), label[keep].to(device), target[keep].to(device)
        lengths = lengths[keep].to(device)
        hidden = self.transformer(altered, lengths)[-1]
        pred = self.spec_head(hidden)
        loss = self.criterion(pred.masked_select(label), target.masked_select(label))
        return loss, {"altered_frac": float(label.sum()) / float(lengths.sum() * label.shape[-1])}

    def make_optimizer(self, lr: float, total_steps: int
                       ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
        """s3prl's ``AdamW_with_schedule``: AdamW, linear warm-up over ``warmup_proportion``, linear decay."""
        warmup = max(1, int(total_steps * self.warmup_proportion))

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

        self.optimizer = torch.optim.AdamW(self.parameters(), lr=lr)
        self.optimizer_config = {"name": "AdamW_with_schedule", "lr": lr, "warmup_proportion": self.warmup_proportion}
        return self.optimizer, torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)

    def official_checkpoint(self) -> dict:
        """s3prl generation (c): the MODEL config under ``Upstream_Config``, plain-dict ``Args``."""
        runner_config = {"runner": {"total_steps": int(self.steps_done)}, "optimizer": self.optimizer_config}
        return official_layout(
            model_config=copy.deepcopy(self.model_config), transformer=self.transformer.state_dict(),
            spec_head=self.spec_head.state_dict(), runner_config=runner_config, step=int(self.steps_done),
            optimizer=self.optimizer.state_dict() if self.optimizer is not None else None,
            args={"upstream": self.name, "trainer": "speechbench.pretrain"})


def build(name: str, config: dict, defaults: dict) -> MaskedReconstructionObjective:
    """An objective from the YAML ``objective:`` section: a MODEL config merged over ``defaults``.

    ``config`` may hold ``transformer``, ``task`` and ``audio`` sections (each merged key by
    key over the upstream's released config) and ``warmup_proportion``.
    """
    unknown = sorted(set(config) - {"transformer", "task", "audio", "warmup_proportion"})
    if unknown:
        raise ConfigError(f"{name} objective config: unknown key(s) {', '.join(unknown)}; "
                          f"valid: transformer, task, audio, warmup_proportion")
    model_config = copy.deepcopy(defaults)
    for section in ("transformer", "task", "audio"):
        model_config[section].update(copy.deepcopy(config.get(section) or {}))
    warmup = float(config.get("warmup_proportion", 0.07))
    if not math.isfinite(warmup) or not 0 <= warmup < 1:
        raise ConfigError(f"{name} objective config: warmup_proportion must be in [0, 1), got {warmup}")
    return MaskedReconstructionObjective(name, model_config, warmup)
