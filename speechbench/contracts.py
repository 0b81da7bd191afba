"""What the runner expects of an upstream and of a downstream expert, written once and checked.

The registry checks an expert's class when it loads it, :func:`speechbench.registry.build_upstream`
checks the built upstream, and the runner checks each data loader it is given, so a missing
piece is one message naming the file and what to add, not an ``AttributeError`` mid-run or a
resume that silently stops being exact. ``tests/contract`` runs every expert folder through the
same checks on real batches.

Upstream (``speechbench/upstream/<name>/expert.py`` defines ``UpstreamExpert``, an ``nn.Module``):

* ``UpstreamExpert(ckpt: str | None = None, **options)``;
* ``downsample_rate`` (int > 0): input samples per output frame (160 = 10 ms at 16 kHz);
* ``forward(wavs)``: a list of 1-D float tensors at :data:`SAMPLE_RATE` (unpadded, any lengths)
  -> ``{"hidden_states": [B, T, D] per layer (one T), "last_hidden_state": the last of them,
  "feature_lengths": LongTensor[B] with 0 <= length <= T}`` (``speechbench.upstream.base.upstream_output``
  builds and checks it). An utterance's features must not depend on what it is batched with.

Downstream (``speechbench/downstream/<name>/expert.py`` defines ``DownstreamExpert``, an ``nn.Module``):

* ``DownstreamExpert(upstream_dim, downstream_expert, expdir, **kwargs)`` (``kwargs`` carries
  ``upstream_rate``, input samples per feature frame);
* ``METRIC = (name, "max" | "min")``: the primary metric, logged as ``<split>-<name>`` (a
  ``<name>_<qualifier>`` form such as ``wer_beam5`` counts too). The runner keeps
  ``best-states-dev.ckpt`` by it and the report ranks upstreams by it; ``OTHER_METRICS``
  (optional, ``{name: direction}``) gives the direction of the other metrics it logs;
* ``get_dataloader(split)``: batches ``(utt_ids, wavs, *labels)``; its batch sampler is a
  :class:`ResumableBatchSampler` and its dataset has ``load_audio`` (see :class:`TaskDataset`);
  ``speechbench.data.loader.make_dataloader`` gives both;
* ``forward(split, features, utt_ids, *labels, records)`` -> loss;
* ``log_records(split, records, logger, global_step)``: writes ``<split>-<metric>`` scalars.

A task that trains nothing (query-by-example STD) sets ``SCORED_BY`` to the command that scores
it instead of the three methods; it still declares ``METRIC`` for the report.
"""
from __future__ import annotations

import inspect
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from speechbench.errors import SpeechbenchError

SAMPLE_RATE = 16000  # of every waveform an upstream receives
DIRECTIONS = ("max", "min")  # of a metric: higher is better, lower is better
COMMON_METRICS = {"loss": "min"}  # metrics any task may log, with their direction


class ContractError(SpeechbenchError, TypeError):
    """An expert that does not provide what the runner needs; the message names what to add."""


@runtime_checkable
class UpstreamExpert(Protocol):
    """A frozen (or fine-tuned) speech model: waveforms in, hidden states out."""

    downsample_rate: int

    def __call__(self, wavs: list[torch.Tensor]) -> dict[str, Any]: ...


@runtime_checkable
class ResumableBatchSampler(Protocol):
    """A batch sampler whose epoch order is fixed by ``set_epoch``, that can start mid-epoch, and
    that gives process ``rank`` of ``world_size`` its share of the batches (set by the runner)."""

    def set_epoch(self, epoch: int) -> None: ...

    def skip(self, num_batches: int) -> None: ...

    def shard(self, rank: int, world_size: int) -> None: ...


@runtime_checkable
class TaskDataset(Protocol):
    """A task's dataset: the runner sets ``load_audio = False`` when it reads cached features.

    A dataset with per-epoch randomness (random crops) also defines ``set_epoch(epoch)``,
    called before each epoch, and draws from a generator seeded by it (never the global RNG),
    so a resumed run sees the same items.
    """

    load_audio: bool


@runtime_checkable
class DownstreamExpert(Protocol):
    """A task: its data, its head on top of the featurizer, and its metrics."""

    METRIC: tuple[str, str]

    def get_dataloader(self, split: str) -> torch.utils.data.DataLoader: ...

    def forward(self, split: str, features: list[torch.Tensor], utt_ids: list[str], *labels: Any,
                records: dict) -> torch.Tensor: ...

    def log_records(self, split: str, records: dict, logger: Any, global_step: int, **kwargs: Any) -> Any: ...


_DOWNSTREAM_METHODS = ("get_dataloader", "forward", "log_records")


def _missing_methods(cls: type, names: tuple[str, ...]) -> list[str]:
    """Methods of ``names`` that ``cls`` does not define (``nn.Module.forward`` does not count)."""
    missing = []
    for name in names:
        member = getattr(cls, name, None)
        if not callable(member) or (name == "forward" and member is nn.Module.forward):
            missing.append(name)
    return missing


def _first_parameters(cls: type) -> list[str]:
    """Names of the constructor's parameters after ``self`` (``*args``/``**kwargs`` excluded)."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def check_upstream_class(cls: Any, where: str) -> None:
    """Raise :class:`ContractError` unless ``cls`` can be an upstream expert."""
    problems = []
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ContractError(f"{where}: UpstreamExpert must be a torch.nn.Module subclass")
    if _missing_methods(cls, ("forward",)):
        problems.append("forward(wavs) returning speechbench.upstream.base.upstream_output(...)")
    if _first_parameters(cls)[:1] != ["ckpt"]:
        problems.append("__init__(self, ckpt=None, **options) (the -k file comes first, as ckpt)")
    if problems:
        raise ContractError(f"{where}: UpstreamExpert lacks " + "; ".join(problems))


def check_upstream(model: nn.Module, where: str) -> None:
    """Raise unless a built upstream says how many samples make one of its frames."""
    rate = getattr(model, "downsample_rate", None)
    if rate is None:
        raise ContractError(f"{where}: UpstreamExpert has no downsample_rate; set it (input samples per output "
                            f"frame, e.g. 160 for 10 ms frames at 16 kHz) as a class attribute or in __init__")
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
        raise ContractError(f"{where}: downsample_rate must be a positive int (samples per frame), got {rate!r}")


def check_upstream_output(output: Any, batch_size: int, where: str = "upstream") -> None:
    """Raise unless ``output`` is the upstream output dict for a batch of ``batch_size``."""
    if not isinstance(output, dict) or "hidden_states" not in output or "feature_lengths" not in output:
        keys = sorted(output) if isinstance(output, dict) else type(output).__name__
        raise ContractError(f"{where}: forward must return a dict with hidden_states and feature_lengths "
                            f"(speechbench.upstream.base.upstream_output builds it), got {keys}")
    hidden, lengths = output["hidden_states"], output["feature_lengths"]
    if not isinstance(hidden, (list, tuple)) or not hidden:
        raise ContractError(f"{where}: hidden_states must be a non-empty list of [B, T, D] tensors")
    t = hidden[0].shape[1] if hidden[0].dim() == 3 else None
    for i, h in enumerate(hidden):
        if h.dim() != 3 or h.shape[0] != batch_size or h.shape[1] != t:
            raise ContractError(f"{where}: hidden state {i} has shape {tuple(h.shape)}; every one must be "
                                f"[{batch_size}, {t}, D]")
    if not isinstance(lengths, torch.Tensor) or lengths.dtype != torch.long or tuple(lengths.shape) != (batch_size,):
        raise ContractError(f"{where}: feature_lengths must be a LongTensor of shape [{batch_size}], got "
                            f"{getattr(lengths, 'dtype', type(lengths).__name__)} {tuple(getattr(lengths, 'shape', ()))}")
    if batch_size and not (0 <= int(lengths.min()) and int(lengths.max()) <= t):
        raise ContractError(f"{where}: feature_lengths {lengths.tolist()} must lie in 0..{t} (the frames of the "
                            f"hidden states); compute them from the same convolution/framing arithmetic")


def check_metric(metric: Any, where: str) -> tuple[str, str]:
    """``METRIC`` as ``(name, direction)``, or a :class:`ContractError` saying how to declare it."""
    if (not isinstance(metric, tuple) or len(metric) != 2 or not isinstance(metric[0], str) or not metric[0]
            or metric[1] not in DIRECTIONS):
        raise ContractError(f"{where}: DownstreamExpert.METRIC must be (name, 'max' | 'min'), the primary metric "
                            f"as logged (<split>-<name>) and its direction, e.g. ('acc', 'max'); got {metric!r}")
    return metric


def check_downstream_class(cls: Any, where: str) -> None:
    """Raise :class:`ContractError` unless ``cls`` can be a downstream expert."""
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ContractError(f"{where}: DownstreamExpert must be a torch.nn.Module subclass")
    check_metric(getattr(cls, "METRIC", None), where)
    for other in getattr(cls, "OTHER_METRICS", {}).items():
        check_metric(other, f"{where} (OTHER_METRICS)")
    if getattr(cls, "SCORED_BY", None):
        return
    problems = [f"{m}(...)" for m in _missing_methods(cls, _DOWNSTREAM_METHODS)]
    if _first_parameters(cls)[:3] != ["upstream_dim", "downstream_expert", "expdir"]:
        problems.append("__init__(self, upstream_dim, downstream_expert, expdir, **kwargs)")
    if problems:
        raise ContractError(f"{where}: DownstreamExpert lacks " + "; ".join(problems)
                            + " (see speechbench/downstream/example/expert.py)")


def check_dataloader(loader: Any, where: str) -> None:
    """Raise unless the runner can resume ``loader`` exactly and feed it cached features."""
    sampler = getattr(loader, "batch_sampler", None)
    if not isinstance(sampler, ResumableBatchSampler):
        raise ContractError(f"{where}: the loader's batch_sampler ({type(sampler).__name__}) has no set_epoch(epoch), "
                            f"skip(num_batches) and shard(rank, world_size), so a resumed run would not continue "
                            f"where it stopped (nor torchrun split the data); build the loader with "
                            f"speechbench.data.loader.make_dataloader")
    if not isinstance(getattr(loader, "dataset", None), TaskDataset):
        raise ContractError(f"{where}: the loader's dataset ({type(loader.dataset).__name__}) has no load_audio "
                            f"attribute (True; the runner sets it False to read cached features instead of audio); "
                            f"subclass speechbench.data.dataset.UtteranceDataset or add it")


def metric_value(metrics: dict[str, float], split: str, name: str) -> float | None:
    """The value of metric ``name`` of ``split`` as logged: ``<split>-<name>``, or one ``<split>-<name>_<qualifier>``."""
    exact = f"{split}-{name}"
    if exact in metrics:
        return metrics[exact]
    qualified = [k for k in metrics if k.startswith(exact + "_")]
    return metrics[qualified[0]] if len(qualified) == 1 else None


def is_improvement(value: float, best: float | None, direction: str) -> bool:
    """Whether ``value`` beats ``best`` (None: nothing yet) in ``direction`` (``max`` or ``min``)."""
    if value != value:  # NaN never becomes the best
        return False
    if best is None:
        return True
    return value > best if direction == "max" else value < best
