"""The report ranks by what each downstream declares, and refuses to guess a direction."""
from __future__ import annotations

import pytest

from speechbench import registry
from speechbench.report.metrics import UnknownMetricError, declared_primary, lower_is_better


def test_primary_metrics_and_directions_come_from_the_experts():
    for task in registry.available("downstream"):
        name, direction = registry.expert_class("downstream", task).METRIC
        assert declared_primary()[task] == name.lower()
        assert lower_is_better(f"test-{name}") is (direction == "min")


def test_an_undeclared_metric_has_no_direction():
    with pytest.raises(UnknownMetricError, match="no downstream declares whether metric 'f1' is better high or low"):
        lower_is_better("test-f1")
