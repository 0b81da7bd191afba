"""The shared pretraining loop: batches from a Kaldi data dir, resumable, atomic saves.

A run is ``pretrain(upstream, data_dir, out, config)``. ``config`` is the YAML of
``speechbench/pretrain/conf/<upstream>.yaml`` (or the user's): a ``pretrain:`` section
for this loop (:class:`LoopConfig`) and an ``objective:`` section handed unchanged to the
objective's ``build_objective``. Every ``save_every`` steps the full training state goes to
``<out>.state`` (atomically); when that file exists a new run with the same objective
config resumes from it, so a killed job continues where it stopped and asking for more
``steps`` extends a finished run. At the end ``<out>`` gets the authors' checkpoint layout.
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass
from itertools import count
from typing import Iterator

import torch
import yaml
from tqdm import tqdm

from speechbench.checkpoints import load_checkpoint
from speechbench.contracts import SAMPLE_RATE
from speechbench.errors import ConfigError, DivergedError, MissingFileError
from speechbench.pretrain.data import PretrainCorpus, random_crop
from speechbench.pretrain.objective import PretrainObjective, build_objective
from speechbench.utils_io import atomic_open


@dataclass
class LoopConfig:
    """Settings of the loop (the ``pretrain:`` section of the config; CLI flags override)."""

    steps: int = 1000          # optimizer updates in total (resumed runs count from their step)
    batch_size: int = 8        # utterances per batch
    lr: float = 1e-3           # peak learning rate given to the objective's optimizer
    max_seconds: float = 3.0   # random crop of each utterance; 0 keeps whole utterances
    min_seconds: float = 0.1   # shorter utterances are skipped (too short for any front end)
    grad_clip: float = 5.0     # max global gradient norm; 0 disables clipping
    save_every: int = 100      # steps between training-state saves
    log_every: int = 10        # steps between log lines (loss averaged over them)
    seed: int = 0              # model init, batch order, crops and dropout
    device: str = "cpu"

    @classmethod
    def from_dict(cls, values: dict, where: str) -> "LoopConfig":
        """Build from a config section; an unknown key is an error naming the valid ones."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"{where}: unknown pretrain setting(s) {', '.join(unknown)}; "
                              f"valid: {', '.join(sorted(names))}")
        return cls(**values)


# Changing these makes a saved training state meaningless for the new run.
_RESUME_KEYS = ("upstream", "objective", "batch_size", "seed", "max_seconds", "min_seconds")


def state_path(out: str | os.PathLike) -> str:
    """Where the resumable training state of a run writing ``out`` lives."""
    return os.fspath(out) + ".state"


def load_config(path: str | os.PathLike) -> dict:
    """Read a pretraining YAML: ``{'pretrain': {...}, 'objective': {...}}``."""
    if not os.path.isfile(path):
        raise MissingFileError(f"--config {path} not found: give a YAML with 'pretrain:' and 'objective:' "
                               f"sections, or leave --config out for speechbench/pretrain/conf/<upstream>.yaml")
    with open(path, encoding="utf-8") as f:
        try:
            config = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path} holds a {type(config).__name__}, not a mapping with 'pretrain:' and "
                          f"'objective:' sections")
    unknown = sorted(set(config) - {"pretrain", "objective"})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level section(s) {', '.join(unknown)}; "
                          f"expected 'pretrain' (loop settings) and 'objective' (model and loss)")
    return config


class _Log:
    """Appends timestamped lines to ``<out_dir>/log/pretrain.log`` and echoes them above the bar."""

    def __init__(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.path = path

    def __call__(self, message: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        tqdm.write(line)


def _batches(corpus: PretrainCorpus, loop: LoopConfig, start_step: int) -> Iterator[list[str]]:
    """Batches from step ``start_step`` on, epoch after epoch, identical to an unbroken run."""
    seen = 0
    for epoch in count():
        batches = corpus.batches(loop.batch_size, loop.seed, epoch)
        if seen + len(batches) <= start_step:
            seen += len(batches)
            continue
        yield from batches[max(0, start_step - seen):]
        seen += len(batches)


def _save_state(path: str, objective: PretrainObjective, optimizer: torch.optim.Optimizer,
                scheduler, step: int, run: dict) -> None:
    state = {
        "step": step,
        "run": run,
        "model": objective.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    with atomic_open(path, "wb") as f:
        torch.save(state, f)


def _restore(path: str, run: dict, objective: PretrainObjective, optimizer: torch.optim.Optimizer,
             scheduler) -> int:
    """Load a saved training state into the run; return its step. Refuses a state of other settings."""
    state = load_checkpoint(path, layout="pretraining state")
    saved = state["run"]
    changed = [k for k in _RESUME_KEYS if saved.get(k) != run.get(k)]
    if changed:
        raise ConfigError(f"{path} holds a run with different {', '.join(changed)} "
                          f"(saved: {', '.join(f'{k}={saved.get(k)!r}' for k in changed)}); "
                          f"use the same settings to resume, or delete the file to start over")
    objective.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return state["step"]


def pretrain(upstream: str, data_dir: str | os.PathLike, out: str | os.PathLike, config: dict,
             show_progress: bool = True) -> str:
    """Train ``upstream``'s objective on ``data_dir`` and write ``out`` in the official layout.

    Returns ``out``. Resumes from ``<out>.state`` when it exists (see module docstring).
    """
    out = os.fspath(out)
    loop = LoopConfig.from_dict(config.get("pretrain") or {}, "pretrain config")
    objective_config = config.get("objective") or {}
    out_dir = os.path.dirname(os.path.abspath(out))
    log = _Log(os.path.join(out_dir, "log", "pretrain.log"))
    run = {"upstream": upstream, "objective": objective_config, "data_dir": os.fspath(data_dir),
           **dataclasses.asdict(loop)}

    corpus = PretrainCorpus(data_dir, loop.min_seconds)
    device = torch.device(loop.device)
    torch.manual_seed(loop.seed)
    objective = build_objective(upstream, objective_config).to(device)
    optimizer, scheduler = objective.make_optimizer(loop.lr, loop.steps)

    step = 0
    state_file = state_path(out)
    if os.path.isfile(state_file):
        step = _restore(state_file, run, objective, optimizer, scheduler)
        log(f"resuming {upstream} from {state_file} at step {step}")
    else:
        n_params = sum(p.numel() for p in objective.parameters())
        hours = sum(corpus.durations[u] for u in corpus.ids) / 3600
        skipped = f" ({corpus.dropped} shorter than {loop.min_seconds} s skipped)" if corpus.dropped else ""
        log(f"pretraining {upstream} ({n_params / 1e6:.2f}M parameters) on {data_dir}: "
            f"{len(corpus.ids)} utterances{skipped}, {hours:.2f} h; writing {out}")
    with atomic_open(os.path.join(out_dir, "log", "pretrain_config.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump({"upstream": upstream, "data_dir": os.fspath(data_dir), "out": out,
                        "pretrain": dataclasses.asdict(loop), "objective": objective_config}, f, sort_keys=False)

    objective.train()
    crop = torch.Generator()
    max_samples = int(loop.max_seconds * SAMPLE_RATE)
    window: list[float] = []
    start_time, start_step = time.time(), step
    bar = tqdm(total=loop.steps, initial=step, desc=f"pretrain {upstream}", disable=not show_progress,
               dynamic_ncols=True)
    batches = _batches(corpus, loop, step)
    while step < loop.steps:
        utts = next(batches)
        crop.manual_seed(loop.seed * 1000003 + step)
        wavs = [random_crop(corpus.load(u), max_samples, crop).to(device) for u in utts]
        loss, stats = objective.loss(wavs)
        if not math.isfinite(loss.item()):
            raise DivergedError(f"step {step + 1}: loss is {loss.item()} on {', '.join(utts)}; "
                                f"lower --lr or check the audio; resume from {state_file} if it exists")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if loop.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(objective.parameters(), loop.grad_clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        step += 1
        window.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if step % loop.log_every == 0 or step == loop.steps:
            rate = (step - start_step) / max(time.time() - start_time, 1e-9)
            fields = [f"step {step}/{loop.steps}", f"loss {sum(window) / len(window):.4f}",
                      *(f"{k} {v:.4g}" for k, v in stats.items()),
                      f"lr {optimizer.param_groups[0]['lr']:.3g}", f"{rate:.2f} steps/s"]
            log(" ".join(fields))
            window = []
        if step % loop.save_every == 0 or step == loop.steps:
            _save_state(state_file, objective, optimizer, scheduler, step, run)
    bar.close()

    with atomic_open(out, "wb") as f:
        torch.save(objective.official_checkpoint(), f)
    elapsed = time.time() - start_time
    log(f"wrote {out} after {step} steps ({step - start_step} this run in {elapsed / 60:.1f} min)")
    return out
