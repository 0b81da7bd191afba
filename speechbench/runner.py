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

from speechbench import registry
from speechbench.errors import ConfigError
from speechbench.train import distributed
from speechbench.train.checkpoint import (capture_rng, load_experiment, prune_step_checkpoints,
                                          remove_stale_temporaries, restore_rng, save_checkpoint)
from speechbench.train.config import complete_config, dump_config
from speechbench.train.expdir import lock as lock_expdir
from speechbench.train.feature_source import CacheSource, UpstreamSource, select_feature
from speechbench.train.featurizer import Featurizer
from speechbench.train.optim import build_optimizer, build_scheduler
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

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.latest[tag] = float(value)
        if self.writer is not None:
            self.writer.add_scalar(tag, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class Pipeline(nn.Module):
    """Feature source -> featurizer -> downstream expert; one module for DDP and checkpoints."""

    def __init__(self, source: nn.Module, featurizer: Featurizer, expert: nn.Module) -> None:
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

    def __init__(self, args: dict, config: dict, resume: dict | None = None) -> None:
        self.args = args
        self.config = complete_config(config)
        self.resume = resume
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
        if a.get("feature_cache"):
            from speechbench.features.cache import FeatureCache
            options = parse_options(a.get("upstream_options"))
            caches = [FeatureCache(d, upstream=a["upstream"], upstream_ckpt=a.get("upstream_ckpt"),
                                   upstream_options=options) for d in a["feature_cache"].split(",")]
            source: nn.Module = CacheSource(caches)
            meta = caches[0].meta
            dims = list(meta["dims"])
            layer = a.get("layer")
            if layer is not None:
                cached = list(meta["layers"])
                if layer not in cached:
                    raise ConfigError(f"layer {layer} is not in the feature cache (cached layers: {cached})")
                layer = cached.index(layer)
        else:
            upstream_cls = registry.expert_class("upstream", a["upstream"])
            upstream = upstream_cls(a.get("upstream_ckpt"), **parse_options(a.get("upstream_options")))
            upstream.to(self.device)
            source = UpstreamSource(upstream, a.get("upstream_feature_selection", "hidden_states"),
                                    trainable=a.get("upstream_trainable", False))
            dims = self._probe_dims(upstream)
            layer = a.get("layer")
        featurizer = Featurizer(dims, layer=layer, layer_norm=self.config["featurizer"]["layer_norm"])
        if layer is not None:
            featurizer.weights.requires_grad_(False)
        expert_cls = registry.expert_class("downstream", a["downstream"])
        upstream_rate = source.downsample_rate if isinstance(source, CacheSource) \
            else source.upstream.downsample_rate
        expert = expert_cls(featurizer.output_dim, self.config["downstream_expert"], self.expdir,
                            upstream_rate=upstream_rate)
        pipeline = Pipeline(source, featurizer, expert).to(self.device)
        return pipeline, dims

    def _probe_dims(self, upstream: nn.Module) -> list[int]:
        """Sizes of the selected hidden states, from one second of silence."""
        upstream.eval()
        with torch.inference_mode():
            out = upstream([torch.zeros(16000, device=self.device)])
        return [h.shape[-1] for h in select_feature(out, self.args.get("upstream_feature_selection", "hidden_states"))]

    def _upstream_state(self) -> dict | None:
        """Upstream weights go into our checkpoint when no file can rebuild them (random or fine-tuned)."""
        source = self.pipeline.source
        if isinstance(source, UpstreamSource) and (source.trainable or not self.args.get("upstream_ckpt")):
            return source.upstream.state_dict()
        return None

    def _load_states(self, state: dict) -> None:
        p = self.pipeline
        p.featurizer.load_state_dict(state["Featurizer"])
        p.expert.load_state_dict(state["Downstream"])
        if state.get("Upstream") is not None and isinstance(p.source, UpstreamSource):
            p.source.upstream.load_state_dict(state["Upstream"])

    # ----------------------------------------------------------------- checkpoints
    def _checkpoint(self, name: str, progress: Progress, optimizer, scheduler, scaler) -> None:
        if not self.main:
            return
        state = {
            "Args": self.args, "Config": self.config,
            "Downstream": self.pipeline.expert.state_dict(),
            "Featurizer": self.pipeline.featurizer.state_dict(),
            "Upstream": self._upstream_state(),
            "Optimizer": optimizer.state_dict(), "Scheduler": scheduler.state_dict(),
            "Scaler": scaler.state_dict() if scaler is not None else None,
            "Step": progress.step, "Epoch": progress.epoch, "BatchInEpoch": progress.batch_in_epoch,
            "Records": progress.records, "RNG": capture_rng(),
        }
        save_checkpoint(state, os.path.join(self.expdir, name))
        if name.startswith("states-"):
            prune_step_checkpoints(self.expdir, self.config["runner"]["max_keep"])
        log.info("saved %s (step %d)", name, progress.step)

    # ----------------------------------------------------------------- training
    def _trainable_params(self) -> list[dict]:
        opt = self.config["optimizer"]
        p = self.pipeline
        head = [x for m in (p.featurizer, p.expert) for x in m.parameters() if x.requires_grad]
        groups = [{"params": head}]
        if isinstance(p.source, UpstreamSource) and p.source.trainable:
            groups.append({"params": list(p.source.upstream.parameters()),
                           "lr": opt["upstream_lr"] if opt["upstream_lr"] is not None else opt["lr"]})
        return groups

    def _evaluate(self, split: str, logger: MetricLogger, step: int) -> list[str]:
        """Run one split; returns the checkpoint names the expert asks to save."""
        expert = self.pipeline.expert
        loader = expert.get_dataloader(split)
        self._use_cache_in(loader)
        self.pipeline.eval()
        records: dict = {}
        with torch.no_grad():
            for batch in tqdm(loader, desc=f"eval {split}", leave=False, disable=not self.main, file=sys.stderr):
                self.pipeline(split, batch, records)
        names = expert.log_records(split, records, logger, step) or []
        self.pipeline.train()
        return names

    def _use_cache_in(self, loader) -> None:
        if isinstance(self.pipeline.source, CacheSource) and hasattr(loader.dataset, "load_audio"):
            loader.dataset.load_audio = False

    def _lock_expdir(self) -> None:
        """One training run per experiment dir: a second one would interleave checkpoints."""
        if self.main:
            self._lock = lock_expdir(self.expdir)
            remove_stale_temporaries(self.expdir)

    def train(self) -> dict:
        """Train to ``total_steps``; on an error, the progress bar ends its line before the message."""
        self._bar = None
        try:
            return self._train()
        finally:
            if self._bar is not None:
                self._bar.close()

    def _train(self) -> dict:
        self._lock_expdir()
        rc = self.config["runner"]
        model: nn.Module = self.pipeline
        groups = self._trainable_params()
        optimizer = build_optimizer(groups, self.config["optimizer"])
        scheduler = build_scheduler(optimizer, self.config["scheduler"], rc["total_steps"])
        use_amp = rc["amp"] and self.device.type == "cuda"
        scaler = torch.amp.GradScaler("cuda") if use_amp else None
        progress = Progress()
        if self.resume is not None:
            r = self.resume
            optimizer.load_state_dict(r["Optimizer"])
            scheduler.load_state_dict(r["Scheduler"])
            if scaler is not None and r.get("Scaler"):
                scaler.load_state_dict(r["Scaler"])
            progress = Progress(r["Step"], r["Epoch"], r["BatchInEpoch"], r.get("Records") or {})
            log.info("resuming from %s at step %d", r["path"], progress.step)
        if self.world > 1:
            model = DistributedDataParallel(self.pipeline, find_unused_parameters=False)
        if self.main:
            dump_config(self.config, os.path.join(self.expdir, "config.yaml"))
            with atomic_open(os.path.join(self.expdir, "args.yaml"), "w") as f:
                json.dump(self.args, f, indent=1)
        logger = MetricLogger(self.expdir if self.main else None)
        loader = self.pipeline.expert.get_dataloader("train")
        self._use_cache_in(loader)
        for split in rc["eval_dataloaders"]:  # a split that cannot load fails now, not after training
            self.pipeline.expert.get_dataloader(split)
        sampler = loader.batch_sampler
        params = [x for g in groups for x in g["params"]]
        self.pipeline.train()
        bar = self._bar = tqdm(total=rc["total_steps"], initial=progress.step, desc="train",
                               disable=not self.main, file=sys.stderr, dynamic_ncols=True)
        accum, micro = rc["gradient_accumulate_steps"], 0
        started = time.time()
        while progress.step < rc["total_steps"]:
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(progress.epoch)
                if progress.batch_in_epoch:
                    sampler.skip(progress.batch_in_epoch)
            if hasattr(loader.dataset, "set_epoch"):  # per-epoch randomness (crops) seeded by epoch
                loader.dataset.set_epoch(progress.epoch)
            batches = iter(loader)
            if self.resume is not None:  # after the iterator is made: its creation draws from the RNG
                restore_rng(self.resume["RNG"])
                self.resume = None
            for batch in batches:
                progress.batch_in_epoch += 1
                with torch.autocast("cuda", enabled=use_amp):
                    loss = model("train", batch, progress.records) / accum
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"loss is {loss.item()} at step {progress.step}: lower the learning rate "
                                             f"or check the inputs (utterances {batch[0][:4]})")
                (scaler.scale(loss) if scaler else loss).backward()
                micro += 1
                if micro % accum:
                    continue
                if scaler:
                    scaler.unscale_(optimizer)
                norm = torch.nn.utils.clip_grad_norm_(params, rc["gradient_clipping"])
                if math.isfinite(norm.item()):
                    if scaler:
                        scaler.step(optimizer)
                    else:
                        optimizer.step()
                else:
                    log.warning("step %d: gradient norm is %s; update skipped", progress.step, norm.item())
                if scaler:
                    scaler.update()
                optimizer.zero_grad(set_to_none=True)
                scheduler.step()
                progress.step += 1
                bar.update(1)
                self._after_step(progress, logger, optimizer, scheduler, scaler)
                if progress.step >= rc["total_steps"]:
                    break
            else:
                progress.epoch += 1
                progress.batch_in_epoch = 0
                continue
            break
        bar.close()
        log.info("training done: %d steps in %.1f s", progress.step, time.time() - started)
        logger.close()
        distributed.barrier()
        return dict(logger.latest)

    def _after_step(self, progress: Progress, logger: MetricLogger, optimizer, scheduler, scaler) -> None:
        rc = self.config["runner"]
        step = progress.step
        if step % rc["log_step"] == 0 and progress.records:
            self.pipeline.expert.log_records("train", progress.records, logger, step)
            logger.add_scalar("train-lr", scheduler.get_last_lr()[0], step)
            progress.records = {}
            w = self.pipeline.featurizer.layer_weights()
            if len(w) > 1:
                for i, value in enumerate(w.tolist()):
                    logger.add_scalar(f"layer_weight/{i}", value, step)
        names: list[str] = []
        if (step % rc["eval_step"] == 0 or step == rc["total_steps"]) and self.main:
            for split in rc["eval_dataloaders"]:  # rank 0 scores whole splits; the others wait
                names += self._evaluate(split, logger, step)
        distributed.barrier()
        if step % rc["save_step"] == 0 or step == rc["total_steps"]:
            names.append(f"states-{step}.ckpt")
        for name in dict.fromkeys(names):
            self._checkpoint(name, progress, optimizer, scheduler, scaler)

    # ----------------------------------------------------------------- evaluation
    def evaluate(self, split: str, checkpoint_path: str | None) -> dict:
        """Score one split and write ``<expdir>/<split>_results.json``."""
        logger = MetricLogger(None)
        step = self.resume["Step"] if self.resume else 0
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

    state = load_experiment(checkpoint)
    args = dict(state["Args"])
    args.update({k: v for k, v in overrides.items() if v is not None})
    recheck_weights(args["upstream"], args.get("upstream_weights"))
    config = apply_overrides(state["Config"], config_overrides) if config_overrides else state["Config"]
    return Runner(args, config, resume=state)
