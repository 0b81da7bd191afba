"""Train, resume and evaluate a downstream head on a frozen (or fine-tuned) upstream.

The runner owns everything shared by all tasks: building the upstream and the feature
source, the featurizer, optimizer and scheduler, the loop (gradient accumulation and
clipping, AMP on CUDA, torchrun), evaluation, checkpoints and logs. Experts only
provide data, a head and metrics (see ``speechbench/downstream/example/expert.py``).
"""
from __future__ import annotations

import json
import logging
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from speechbench import contracts, registry
from speechbench.checkpoints.experiment import (ExperimentCheckpoint, load_experiment, prune_step_checkpoints,
                                                remove_stale_temporaries)
from speechbench.errors import DivergedError
from speechbench.features.source import FeatureSource, build_feature_source
from speechbench.train import distributed
from speechbench.train.config import complete_config, dump_config
from speechbench.train.expdir import lock as lock_expdir
from speechbench.train.featurizer import Featurizer
from speechbench.train.optim import build_optimizer, build_scheduler
from speechbench.train.rng import capture_rng, restore_rng
from speechbench.upstream.options import parse_options
from speechbench.utils_io import atomic_open

log = logging.getLogger("speechbench")


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class MetricLogger:
    """TensorBoard writer (rank 0) that also remembers the last value of every tag."""

    def __init__(self, logdir: str | None) -> None:
        self.writer = None
        if logdir is not None:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(logdir)
        self.latest: dict[str, float] = {}
        self.parent: MetricLogger | None = None

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.latest[tag] = float(value)
        if self.parent is not None:
            self.parent.latest[tag] = float(value)
        if self.writer is not None:
            self.writer.add_scalar(tag, value, step)

    def scope(self) -> "MetricLogger":
        """A logger writing to the same events whose ``latest`` holds only what goes through it."""
        child = MetricLogger(None)
        child.writer, child.parent = self.writer, self
        return child

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class Pipeline(nn.Module):
    """Feature source -> featurizer -> downstream expert; one module for DDP and checkpoints."""

    def __init__(self, source: FeatureSource, featurizer: Featurizer, expert: nn.Module) -> None:
        super().__init__()
        self.source, self.featurizer, self.expert = source, featurizer, expert

    def forward(self, split: str, batch: tuple, records: dict) -> torch.Tensor:
        utt_ids, wavs, *labels = batch
        device = self.featurizer.weights.device
        hidden, lengths = self.source(utt_ids, wavs, device)
        feats = self.featurizer(hidden)
        features = [f[:n] for f, n in zip(feats, lengths.tolist())]
        return self.expert(split, features, utt_ids, *labels, records=records)


@dataclass
class Progress:
    """Where training stands; saved in every checkpoint."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    records: dict = field(default_factory=dict)
    best: float | None = None  # best dev value of the task's primary metric so far

    @classmethod
    def of(cls, ckpt: ExperimentCheckpoint) -> "Progress":
        """The progress stored in an experiment checkpoint."""
        return cls(ckpt.step, ckpt.epoch, ckpt.batch_in_epoch, ckpt.records, ckpt.best)


@dataclass
class Training:
    """What a training run holds from one step to the next (made by ``Runner._setup_training``)."""

    model: nn.Module  # the pipeline, wrapped in DistributedDataParallel under torchrun
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler | None  # AMP on CUDA only
    params: list[nn.Parameter]  # what gradient clipping sees
    loader: Any
    logger: MetricLogger
    bar: tqdm
    micro_batches: int = 0  # since this process started; every accumulate-th one updates


def _setup_logging(expdir: str | None, verbose: bool) -> None:
    log.handlers.clear()
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False
    fmt = logging.Formatter("%(asctime)s [%(levelname)s] %(message)s", "%Y-%m-%d %H:%M:%S")
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(fmt)
    if expdir is None:  # ranks other than 0 only report problems
        console.setLevel(logging.WARNING)
    log.addHandler(console)
    if expdir is not None:
        handler = logging.FileHandler(os.path.join(expdir, "train.log"))
        handler.setFormatter(fmt)
        log.addHandler(handler)


class Runner:
    """One experiment: ``args`` (a dict of the CLI options) and a completed config."""

    def __init__(self, args: dict, config: dict, resume: ExperimentCheckpoint | None = None) -> None:
        self.args = args
        self.config = complete_config(config)
        self.resume = resume
        self.progress = Progress.of(resume) if resume is not None else Progress()
        self._rng_to_restore = resume.rng if resume is not None else None  # restored once the first loader exists
        self.rank, self.world, device = distributed.init_from_env(args["device"])
        self.device = torch.device(device)
        self.main = self.rank == 0
        self.expdir = args["expdir"]
        if self.main:
            os.makedirs(self.expdir, exist_ok=True)
        distributed.barrier()
        _setup_logging(self.expdir if self.main else None, args.get("verbose", False))
        set_seed(args["seed"])
        self.pipeline, self.upstream_dims = self._build()
        if resume is not None:
            self._load_states(resume)

    # ----------------------------------------------------------------- building
    def _build(self) -> tuple[Pipeline, list[int]]:
        a = self.args
        cache = a.get("feature_cache")
        source = build_feature_source(a["upstream"], a.get("upstream_ckpt"), parse_options(a.get("upstream_options")),
                                      cache_dirs=cache.split(",") if cache else None,
                                      selection=a.get("upstream_feature_selection", "hidden_states"),
                                      trainable=a.get("upstream_trainable", False), device=self.device)
        layer = a.get("layer")
        if layer is not None:
            layer = source.layer_position(layer)
        featurizer = Featurizer(source.dims, layer=layer, layer_norm=self.config["featurizer"]["layer_norm"])
        if layer is not None:
            featurizer.weights.requires_grad_(False)
        expert_cls = registry.expert_class("downstream", a["downstream"])
        expert = expert_cls(featurizer.output_dim, self.config["downstream_expert"], self.expdir,
                            upstream_rate=source.downsample_rate)
        pipeline = Pipeline(source, featurizer, expert).to(self.device)
        return pipeline, source.dims

    def _load_states(self, ckpt: ExperimentCheckpoint) -> None:
        p = self.pipeline
        p.featurizer.load_state_dict(ckpt.featurizer)
        downstream = dict(ckpt.downstream)
        legacy_best = downstream.pop("best_dev", None)  # kept by the experts in checkpoints of older versions
        if legacy_best is not None and ckpt.best is None:
            self.progress.best = legacy_best.item()
        p.expert.load_state_dict(downstream)
        if ckpt.upstream is not None:
            p.source.load_saved_state(ckpt.upstream)

    # ----------------------------------------------------------------- checkpoints
    def _checkpoint(self, name: str, run: Training) -> None:
        if not self.main:
            return
        progress = self.progress
        ckpt = ExperimentCheckpoint(
            args=self.args, config=self.config, downstream=self.pipeline.expert.state_dict(),
            featurizer=self.pipeline.featurizer.state_dict(), upstream=self.pipeline.source.state_to_save(),
            optimizer=run.optimizer.state_dict(), scheduler=run.scheduler.state_dict(),
            scaler=run.scaler.state_dict() if run.scaler is not None else None, step=progress.step,
            epoch=progress.epoch, batch_in_epoch=progress.batch_in_epoch, records=progress.records,
            best=progress.best, rng=capture_rng())
        ckpt.save(os.path.join(self.expdir, name))
        if name.startswith("states-"):
            prune_step_checkpoints(self.expdir, self.config["runner"]["max_keep"])
        log.info("saved %s (step %d)", name, progress.step)

    # ----------------------------------------------------------------- training
    def _trainable_params(self) -> list[dict]:
        opt = self.config["optimizer"]
        p = self.pipeline
        head = [x for m in (p.featurizer, p.expert) for x in m.parameters() if x.requires_grad]
        groups = [{"params": head}]
        upstream = p.source.trainable_parameters()
        if upstream:
            groups.append({"params": upstream,
                           "lr": opt["upstream_lr"] if opt["upstream_lr"] is not None else opt["lr"]})
        return groups

    def _loader(self, split: str):
        """This process's share of the expert's loader of ``split``, checked for exact resume; audio is
        skipped when the source has no use for it."""
        loader = self.pipeline.expert.get_dataloader(split)
        contracts.check_dataloader(loader, f"downstream '{self.args['downstream']}', split {split}")
        loader.batch_sampler.shard(self.rank, self.world)
        loader.dataset.load_audio = self.pipeline.source.needs_audio
        return loader

    def _evaluate(self, split: str, logger: MetricLogger, step: int) -> dict[str, float]:
        """Run one split (each rank its share, records joined on rank 0); returns the metrics logged for it."""
        loader = self._loader(split)
        self.pipeline.eval()
        records: dict = {}
        with torch.no_grad():
            for batch in tqdm(loader, desc=f"eval {split}", leave=False, disable=not self.main, file=sys.stderr):
                self.pipeline(split, batch, records)
        self.pipeline.train()
        records = distributed.gather_records(records)
        if records is None:  # not rank 0
            return {}
        scope = logger.scope()
        self.pipeline.expert.log_records(split, records, scope, step)
        return scope.latest

    def _improves_dev(self, metrics: dict[str, float], progress: Progress) -> bool:
        """Whether dev beats the best so far on the task's primary metric (then remembered)."""
        name, direction = self.pipeline.expert.METRIC
        value = contracts.metric_value(metrics, "dev", name)
        if value is None:
            raise contracts.ContractError(f"downstream '{self.args['downstream']}' declares METRIC {name!r} but logged "
                                          f"no dev-{name} (logged: {sorted(metrics)})")
        if not contracts.is_improvement(value, progress.best, direction):
            return False
        progress.best = value
        return True

    def _lock_expdir(self) -> None:
        """One training run per experiment dir: a second one would interleave checkpoints."""
        if self.main:
            self._lock = lock_expdir(self.expdir)
            remove_stale_temporaries(self.expdir)

    def train(self) -> dict:
        """Train to ``total_steps`` (from where a resumed checkpoint stopped); returns the last logged values."""
        self._lock_expdir()
        run = self._setup_training()
        started = time.time()
        try:
            while self.progress.step < self.config["runner"]["total_steps"]:
                self._train_epoch(run)
        finally:
            run.bar.close()
        log.info("training done: %d steps in %.1f s", self.progress.step, time.time() - started)
        run.logger.close()
        distributed.barrier()
        return dict(run.logger.latest)

    def _setup_training(self) -> Training:
        """Optimizer, scheduler and AMP scaler (resumed when a checkpoint was given), DDP, logs, the train loader."""
        rc = self.config["runner"]
        groups = self._trainable_params()
        optimizer = build_optimizer(groups, self.config["optimizer"])
        scheduler = build_scheduler(optimizer, self.config["scheduler"], rc["total_steps"])
        scaler = torch.amp.GradScaler("cuda") if rc["amp"] and self.device.type == "cuda" else None
        if self.resume is not None:
            optimizer.load_state_dict(self.resume.optimizer)
            scheduler.load_state_dict(self.resume.scheduler)
            if scaler is not None and self.resume.scaler:
                scaler.load_state_dict(self.resume.scaler)
            log.info("resuming from %s at step %d", self.resume.path, self.progress.step)
        model = DistributedDataParallel(self.pipeline, find_unused_parameters=False) if self.world > 1 \
            else self.pipeline
        if self.main:
            dump_config(self.config, os.path.join(self.expdir, "config.yaml"))
            with atomic_open(os.path.join(self.expdir, "args.yaml"), "w") as f:
                json.dump(self.args, f, indent=1)
        logger = MetricLogger(self.expdir if self.main else None)
        loader = self._loader("train")
        for split in rc["eval_dataloaders"]:  # a split that cannot load fails now, not after training
            self._loader(split)
        self.pipeline.train()
        bar = tqdm(total=rc["total_steps"], initial=self.progress.step, desc="train", disable=not self.main,
                   file=sys.stderr, dynamic_ncols=True)
        return Training(model, optimizer, scheduler, scaler, [x for g in groups for x in g["params"]], loader,
                        logger, bar)

    def _train_epoch(self, run: Training) -> None:
        """The rest of the current epoch (all of it unless resumed mid-epoch), or up to ``total_steps``."""
        progress = self.progress
        sampler = run.loader.batch_sampler
        sampler.set_epoch(progress.epoch)
        if progress.batch_in_epoch:
            sampler.skip(progress.batch_in_epoch)
        if hasattr(run.loader.dataset, "set_epoch"):  # optional: per-epoch randomness (crops) seeded by epoch
            run.loader.dataset.set_epoch(progress.epoch)
        batches = iter(run.loader)
        if self._rng_to_restore is not None:  # after the iterator is made: its creation draws from the RNG
            restore_rng(self._rng_to_restore)
            self._rng_to_restore = None
        for batch in batches:
            progress.batch_in_epoch += 1
            if self._train_step(run, batch) and progress.step >= self.config["runner"]["total_steps"]:
                return
        progress.epoch += 1
        progress.batch_in_epoch = 0

    def _train_step(self, run: Training, batch: tuple) -> bool:
        """Forward and backward one batch; every ``gradient_accumulate_steps``-th also updates. True if it did."""
        progress, accum = self.progress, self.config["runner"]["gradient_accumulate_steps"]
        with torch.autocast("cuda", enabled=run.scaler is not None):
            loss = run.model("train", batch, progress.records) / accum
        if not torch.isfinite(loss):
            raise DivergedError(f"loss is {loss.item()} at step {progress.step}: lower the learning rate "
                                f"or check the inputs (utterances {batch[0][:4]})")
        (run.scaler.scale(loss) if run.scaler else loss).backward()
        run.micro_batches += 1
        if run.micro_batches % accum:
            return False
        self._update(run)
        progress.step += 1
        run.bar.update(1)
        self._after_step(run)
        return True

    def _update(self, run: Training) -> None:
        """Clip the accumulated gradients and step the optimizer (skipped on a non-finite norm) and scheduler."""
        if run.scaler:
            run.scaler.unscale_(run.optimizer)
        norm = torch.nn.utils.clip_grad_norm_(run.params, self.config["runner"]["gradient_clipping"])
        if math.isfinite(norm.item()):
            if run.scaler:
                run.scaler.step(run.optimizer)
            else:
                run.optimizer.step()
        else:
            log.warning("step %d: gradient norm is %s; update skipped", self.progress.step, norm.item())
        if run.scaler:
            run.scaler.update()
        run.optimizer.zero_grad(set_to_none=True)
        run.scheduler.step()

    def _after_step(self, run: Training) -> None:
        """Log train records, evaluate, save checkpoints, each at its configured interval."""
        rc, progress = self.config["runner"], self.progress
        step = progress.step
        if step % rc["log_step"] == 0 and progress.records:
            self._log_train(run, step)
        names: list[str] = []
        if step % rc["eval_step"] == 0 or step == rc["total_steps"]:
            for split in rc["eval_dataloaders"]:  # every rank scores its share; rank 0 keeps the best
                metrics = self._evaluate(split, run.logger, step)
                if split == "dev" and self.main and self._improves_dev(metrics, progress):
                    names.append("best-states-dev.ckpt")
        distributed.barrier()
        if step % rc["save_step"] == 0 or step == rc["total_steps"]:
            names.append(f"states-{step}.ckpt")
        for name in dict.fromkeys(names):
            self._checkpoint(name, run)

    def _log_train(self, run: Training, step: int) -> None:
        """The expert's train metrics since the last log, the learning rate and the layer weights."""
        self.pipeline.expert.log_records("train", self.progress.records, run.logger, step)
        run.logger.add_scalar("train-lr", run.scheduler.get_last_lr()[0], step)
        self.progress.records = {}
        w = self.pipeline.featurizer.layer_weights()
        if len(w) > 1:
            for i, value in enumerate(w.tolist()):
                run.logger.add_scalar(f"layer_weight/{i}", value, step)

    # ----------------------------------------------------------------- evaluation
    def evaluate(self, split: str, checkpoint_path: str | None) -> dict:
        """Score one split and write ``<expdir>/<split>_results.json``."""
        logger = MetricLogger(None)
        step = self.progress.step
        log.info("scoring %s (step %d) on %s", checkpoint_path, step, split)
        self._evaluate(split, logger, step)
        result = {"split": split, "metrics": logger.latest, "checkpoint": checkpoint_path, "step": step,
                  "upstream": self.args["upstream"], "downstream": self.args["downstream"],
                  "layer": self.args.get("layer"), "upstream_ckpt": self.args.get("upstream_ckpt"),
                  "upstream_weights": self.args.get("upstream_weights")}
        if self.main:
            with atomic_open(os.path.join(self.expdir, f"{split}_results.json"), "w") as f:
                json.dump(result, f, indent=1)
            log.info("%s: %s", split, ", ".join(f"{k} = {v:.4f}" for k, v in logger.latest.items()))
        return result


def resume_runner(checkpoint: str, overrides: dict, config_overrides: str | None) -> Runner:
    """Rebuild a Runner from an experiment checkpoint alone (``-e``)."""
    from speechbench.hub import recheck_weights
    from speechbench.train.config import apply_overrides

    ckpt = load_experiment(checkpoint)
    args = dict(ckpt.args)
    args.update({k: v for k, v in overrides.items() if v is not None})
    recheck_weights(args["upstream"], args.get("upstream_weights"))
    config = apply_overrides(ckpt.config, config_overrides) if config_overrides else ckpt.config
    return Runner(args, config, resume=ckpt)
