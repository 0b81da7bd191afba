"""Every downstream folder, present and future, against the contract in speechbench/contracts.py.

Each task is built on the tiny mini corpus (``tests/tiny_tasks.py`` says where its data is) over
fbank features, and checked: the declared metric, loaders the runner can resume exactly, a
training step that gives gradients, dev metrics that do not depend on how utterances are
batched, determinism, and a state-dict round trip into a second, differently seeded head.
"""
from __future__ import annotations

import copy
import os

import pytest
import torch
import yaml

from speechbench import contracts, registry
from speechbench.features.source import build_feature_source
from tiny_tasks import PREPARE, SMALL

TRAINABLE = [t for t in registry.available("downstream")
             if not getattr(registry.expert_class("downstream", t), "SCORED_BY", None)]


class Scalars:
    """A logger that keeps the last value of each tag."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.values[tag] = float(value)


def test_every_downstream_declares_its_metric_and_has_a_tiny_setup():
    for task in registry.available("downstream"):
        cls = registry.expert_class("downstream", task)  # the registry checks the contract
        assert cls.METRIC[1] in contracts.DIRECTIONS
    assert sorted(set(TRAINABLE) - set(PREPARE)) == [], "add the task's tiny-corpus setup to tests/tiny_tasks.py"


def test_a_scoring_only_task_names_its_command():
    for task in set(registry.available("downstream")) - set(TRAINABLE):
        cls = registry.expert_class("downstream", task)
        with pytest.raises(ValueError, match=cls.SCORED_BY):
            cls(8, {}, "unused")


def test_one_metric_name_has_one_direction():
    from speechbench.report.metrics import declared_directions

    assert declared_directions()["loss"] == "min"


@pytest.fixture(scope="module")
def fbank():
    return build_feature_source("baseline")


def _config(task: str, datarc: dict) -> dict:
    """The task's config.yaml with its tiny-corpus data, batches of 4 and the small sizes of ``SMALL``."""
    with open(os.path.join(registry.expert_dir("downstream", task), "config.yaml"), encoding="utf-8") as f:
        config = copy.deepcopy((yaml.safe_load(f) or {}).get("downstream_expert") or {})
    small = SMALL.get(task, {})
    config["datarc"] = {**(config.get("datarc") or {}), "batch_size": 4, **datarc, **small.get("datarc", {})}
    if "modelrc" in small:
        config["modelrc"] = {**(config.get("modelrc") or {}), **small["modelrc"]}
    return config


def _build(task: str, config: dict, expdir: str, dim: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return registry.expert_class("downstream", task)(dim, copy.deepcopy(config), expdir, upstream_rate=160)


def _features(fbank, batch: tuple) -> tuple[list[torch.Tensor], tuple]:
    utt_ids, wavs, *labels = batch
    hidden, lengths = fbank(utt_ids, wavs, torch.device("cpu"))
    return [h[:n] for h, n in zip(hidden[0], lengths.tolist())], (utt_ids, *labels)


def _dev_metrics(expert, fbank, batches: list[tuple]) -> dict[str, float]:
    expert.eval()
    records: dict = {}
    with torch.no_grad():
        for batch in batches:
            features, (utt_ids, *labels) = _features(fbank, batch)
            expert("dev", features, utt_ids, *labels, records=records)
    scalars = Scalars()
    expert.log_records("dev", records, scalars, 0)
    return {k: v for k, v in scalars.values.items() if not k.endswith("-loss")}


@pytest.fixture(scope="module", params=TRAINABLE)
def task(request, tiny_task, tmp_path_factory, fbank):
    """(name, config, expdir, built expert)."""
    tmp = str(tmp_path_factory.mktemp(request.param))
    config = _config(request.param, tiny_task(request.param))
    return request.param, config, tmp, _build(request.param, config, tmp, fbank.dims[0], seed=0)


def test_loaders_resume_exactly(task):
    name, config, expdir, expert = task
    for split in ("train", "dev"):
        loader = expert.get_dataloader(split)
        contracts.check_dataloader(loader, f"{name} {split}")
        loader.batch_sampler.set_epoch(1)
        order = list(loader.batch_sampler)
        loader.batch_sampler.set_epoch(1)
        loader.batch_sampler.skip(1)
        assert list(loader.batch_sampler) == order[1:] and len(order) > 1


def test_a_training_step_gives_gradients(task, fbank):
    name, config, expdir, expert = task
    expert.train()
    batch = next(iter(expert.get_dataloader("train")))
    features, (utt_ids, *labels) = _features(fbank, batch)
    records: dict = {}
    loss = expert("train", features, utt_ids, *labels, records=records)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in expert.parameters() if p.requires_grad]
    assert grads and any(g is not None and bool(g.abs().sum() > 0) for g in grads)
    expert.zero_grad(set_to_none=True)


def test_dev_metrics_do_not_depend_on_batching_and_are_deterministic(task, fbank):
    name, config, expdir, expert = task
    loader = expert.get_dataloader("dev")
    batched = list(loader)
    single = [loader.collate_fn([loader.dataset[i]]) for i in range(len(loader.dataset))]
    metrics = _dev_metrics(expert, fbank, batched)
    assert contracts.metric_value(metrics, "dev", expert.METRIC[0]) is not None, sorted(metrics)
    assert _dev_metrics(expert, fbank, single) == pytest.approx(metrics, abs=1e-6)
    assert _dev_metrics(expert, fbank, batched) == metrics


def test_state_dict_round_trip(task, fbank):
    name, config, expdir, expert = task
    other = _build(name, config, expdir, fbank.dims[0], seed=1)
    other.load_state_dict(expert.state_dict())
    batches = list(expert.get_dataloader("dev"))
    assert _dev_metrics(other, fbank, batches) == _dev_metrics(expert, fbank, batches)
    for key, value in other.state_dict().items():
        assert torch.equal(value, expert.state_dict()[key]), key
