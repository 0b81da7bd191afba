"""The one fairseq conv-spec reader: literals only, bounded repeats and length (wav2vec and wav2vec 2.0 alike)."""
from __future__ import annotations

import pytest

from speechbench.upstream._modules.conv_spec import ConvSpecError, parse_conv_spec


def test_reads_the_released_specs():
    assert parse_conv_spec("[(512, 10, 5)] + [(512, 8, 4)] + [(512, 4, 2)] * 3", "f") == \
        [(512, 10, 5), (512, 8, 4)] + [(512, 4, 2)] * 3
    assert parse_conv_spec([[512, 2, 1]], "f") == [(512, 2, 1)]


@pytest.mark.parametrize("spec,why", [
    ("[(512, 3, 2)] * 1000000000000", "repeat counts must be integers up to 100"),
    ("[(512, 3, 2)] * 100 * 100", "more than 1000 layers"),
    ("__import__('os').system('true')", "only number, list and tuple literals"),
    ("[(512, 3)]", "every layer must be a (dim, kernel, stride) tuple"),
])
def test_refuses_what_could_run_code_or_exhaust_memory(spec, why):
    with pytest.raises(ConvSpecError, match=r"conv_aggregator_layers=.*" + why.replace("(", r"\(").replace(")", r"\)")):
        parse_conv_spec(spec, "conv_aggregator_layers")
