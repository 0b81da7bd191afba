"""Read and write s3prl's pretrain-runner checkpoints of Mockingjay, TERA and Audio ALBERT.

Two generations of file exist (s3prl 0.4 reads both):

* (b) ``{'Optimizer', 'Step', 'Args', 'Runner', 'Config': MODEL config, 'SpecHead', 'Transformer'}``
* (c) ``{'Optimizer', 'Step', 'Args', 'Config': runner config, 'Upstream_Config': MODEL config,
  'SpecHead', 'Transformer'}``

s3prl takes (b) when ``'transformer' in ckpt['Config']``. ``Args`` is a pickled
``argparse.Namespace`` and ``Optimizer`` may pickle learning-rate schedule objects of
s3prl's ``optimizers`` module; these load as inert stubs (nothing of theirs is run), any
other pickled class is refused. Old files name LayerNorm parameters gamma/beta.

We write generation (c). ``Args`` is stored as a plain dict instead of a Namespace: s3prl's
upstream reader never looks at it, and a dict keeps the file loadable with
``weights_only=True`` everywhere.
"""
from __future__ import annotations

import dataclasses
import os

import torch

from speechbench.checkpoints import load_checkpoint
from speechbench.checkpoints.safe_load import CheckpointError

LAYOUT = "Mockingjay/TERA/Audio ALBERT checkpoint (s3prl pretrain runner)"
_SCHEDULES = ("ConstantLR", "WarmupCosineSchedule", "WarmupCosineWithHardRestartsSchedule",
              "WarmupCosineWithWarmupRestartsSchedule", "WarmupConstantSchedule", "WarmupLinearSchedule")
ALLOWED_GLOBALS = ["argparse.Namespace"] + [f"{module}.{name}" for module in ("optimizers", "s3prl.optimizers")
                                            for name in _SCHEDULES]


@dataclasses.dataclass
class OfficialFile:
    """What a released file holds that feature extraction and pretraining need."""

    model_config: dict       # {'transformer': ..., 'task': ..., 'audio': ...}
    transformer: dict        # state dict, gamma/beta already renamed
    spec_head: dict | None   # state dict of the reconstruction head, when present
    generation: str          # 'b' or 'c'


def rename_legacy_keys(state: dict) -> dict:
    """gamma -> weight and beta -> bias, as s3prl does for pre-2020 files."""
    return {k.replace("gamma", "weight").replace("beta", "bias"): v for k, v in state.items()}


def read_official(path: str | os.PathLike) -> OfficialFile:
    """Load ``path`` safely and pick the MODEL config and state dicts out of either generation."""
    path = os.fspath(path)
    file = load_checkpoint(path, allowed_globals=ALLOWED_GLOBALS, layout=LAYOUT)
    if not isinstance(file, dict):
        raise CheckpointError(f"{path}: expected a dict ({LAYOUT}), got {type(file).__name__}")
    if "Settings" in file and "Transformer" in file and "Config" not in file:
        raise CheckpointError(f"{path}: this is a 2019 Mockingjay file (a 'Settings' section); s3prl cannot "
                              f"read it either. Re-save it with s3prl's pretrain runner first.")
    config = file.get("Config")
    if isinstance(config, dict) and "transformer" in config:
        model_config, generation = config, "b"
    elif isinstance(file.get("Upstream_Config"), dict) and "transformer" in file["Upstream_Config"]:
        model_config, generation = file["Upstream_Config"], "c"
    else:
        raise CheckpointError(f"{path}: no MODEL config with a 'transformer' section under 'Config' or "
                              f"'Upstream_Config' (top-level keys: {sorted(map(str, file))}); is this a "
                              f"Mockingjay/TERA/Audio ALBERT file from s3prl's pretrain runner?")
    if not isinstance(file.get("Transformer"), dict):
        raise CheckpointError(f"{path}: no 'Transformer' state dict (top-level keys: {sorted(map(str, file))})")
    for section in ("task", "audio"):
        if not isinstance(model_config.get(section), dict):
            raise CheckpointError(f"{path}: the MODEL config has no '{section}' section; s3prl's upstream needs "
                                  f"it for {'sequence_length' if section == 'task' else 'the feature extractor'}")
    head = file.get("SpecHead")
    return OfficialFile(model_config=model_config, transformer=rename_legacy_keys(file["Transformer"]),
                        spec_head=rename_legacy_keys(head) if isinstance(head, dict) else None,
                        generation=generation)


def check_shared_layers(state: dict, num_layers: int, path: str) -> None:
    """With ``share_layer``, every ``encoder.layer.{i}`` must hold the same tensors as layer 0."""
    prefix = "encoder.layer.0."
    for key, value in state.items():
        if not key.startswith(prefix):
            continue
        for i in range(1, num_layers):
            other = state.get(f"encoder.layer.{i}." + key[len(prefix):])
            if other is not None and not torch.equal(other, value):
                raise CheckpointError(f"{path}: share_layer is set but encoder.layer.{i}.{key[len(prefix):]} "
                                      f"differs from layer 0; the config and the weights disagree")


def official_layout(model_config: dict, transformer: dict, spec_head: dict, runner_config: dict,
                    step: int, optimizer: dict | None, args: dict) -> dict:
    """A generation-(c) file as s3prl's pretrain runner writes it (tensors moved to CPU)."""
    def cpu(state: dict) -> dict:
        return {k: v.detach().cpu() for k, v in state.items()}

    return {
        "Optimizer": optimizer,
        "Step": int(step),
        "Args": dict(args),
        "Config": runner_config,
        "Upstream_Config": model_config,
        "SpecHead": cpu(spec_head),
        "Transformer": cpu(transformer),
    }
