"""The checks themselves: each missing piece of an expert is one message naming it."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from speechbench import contracts, registry
from speechbench.data.loader import make_dataloader
from speechbench.upstream.base import UpstreamBase, upstream_output


class NoRate(UpstreamBase):
    def __init__(self, ckpt: str | None = None) -> None:
        super().__init__()

    def forward(self, wavs: list[torch.Tensor]) -> dict:
        return upstream_output([torch.zeros(len(wavs), 3, 2)], torch.full((len(wavs),), 3))


class NoForward(nn.Module):
    downsample_rate = 160

    def __init__(self, ckpt: str | None = None) -> None:
        super().__init__()


class Task(nn.Module):
    METRIC = ("acc", "max")

    def __init__(self, upstream_dim: int, downstream_expert: dict, expdir: str, **kwargs: object) -> None:
        super().__init__()

    def get_dataloader(self, split: str) -> DataLoader: ...

    def forward(self, split: str, features: list, utt_ids: list, *labels: object, records: dict) -> torch.Tensor: ...

    def log_records(self, split: str, records: dict, logger: object, global_step: int) -> None: ...


def test_a_complete_downstream_passes_and_each_missing_piece_is_named():
    contracts.check_downstream_class(Task, "t.py")
    with pytest.raises(contracts.ContractError, match=r"t.py: DownstreamExpert.METRIC must be \(name, 'max' \| 'min'\)"):
        contracts.check_downstream_class(type("T", (Task,), {"METRIC": ("acc", "higher")}), "t.py")
    with pytest.raises(contracts.ContractError, match=r"lacks log_records\(...\)"):
        contracts.check_downstream_class(type("T", (Task,), {"log_records": None}), "t.py")
    with pytest.raises(contracts.ContractError, match="must be a torch.nn.Module subclass"):
        contracts.check_downstream_class(object, "t.py")


def test_upstream_class_and_instance_checks():
    with pytest.raises(contracts.ContractError, match=r"lacks forward\(wavs\)"):
        contracts.check_upstream_class(NoForward, "u.py")
    with pytest.raises(contracts.ContractError, match="UpstreamExpert has no downsample_rate; set it"):
        contracts.check_upstream(NoRate(), "u.py")
    contracts.check_upstream(NoForward(), "u.py")


def test_upstream_output_refuses_lengths_beyond_the_frames_instead_of_clamping():
    with pytest.raises(contracts.ContractError, match=r"feature_lengths \[3, 5\] must lie in 0..4"):
        upstream_output([torch.zeros(2, 4, 8)], torch.tensor([3, 5]))
    with pytest.raises(contracts.ContractError, match=r"hidden state 1 has shape \(2, 3, 8\)"):
        upstream_output([torch.zeros(2, 4, 8), torch.zeros(2, 3, 8)], torch.tensor([3, 4]))
    assert upstream_output([torch.zeros(2, 4, 8)], torch.tensor([3, 4]))["feature_lengths"].tolist() == [3, 4]


def test_a_loader_without_the_resume_hooks_is_refused():
    data = [("u", None, 0)] * 4
    with pytest.raises(contracts.ContractError, match="no set_epoch.*a resumed run would not continue"):
        contracts.check_dataloader(DataLoader(data, batch_size=2), "task x")

    class Items(list):
        pass

    with pytest.raises(contracts.ContractError, match="has no load_audio attribute"):
        contracts.check_dataloader(make_dataloader(Items(data), [1.0] * 4, 2, train=True), "task x")


def test_the_registry_checks_what_it_loads(monkeypatch):
    import speechbench.upstream.example.expert as example

    monkeypatch.setattr(example, "UpstreamExpert", NoForward)
    with pytest.raises(contracts.ContractError, match="speechbench/upstream/example/expert.py: UpstreamExpert lacks"):
        registry.expert_class("upstream", "example")
    monkeypatch.setattr(example, "UpstreamExpert", NoRate)
    with pytest.raises(contracts.ContractError, match="example/expert.py: UpstreamExpert has no downsample_rate"):
        registry.build_upstream("example")


def test_best_dev_value_by_direction():
    assert contracts.is_improvement(0.5, None, "max") and contracts.is_improvement(0.4, 0.5, "min")
    assert not contracts.is_improvement(0.5, 0.5, "max") and not contracts.is_improvement(float("nan"), None, "max")
    assert contracts.metric_value({"dev-wer_beam5": 0.2, "dev-loss": 1.0}, "dev", "wer") == 0.2
    assert contracts.metric_value({"dev-acc": 0.2}, "dev", "wer") is None
