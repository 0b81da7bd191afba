"""Without -k each raw-waveform upstream builds its released architecture with random weights."""
from __future__ import annotations

import pytest
import torch

from speechbench.registry import expert_class


@pytest.mark.parametrize("name, sizes", [("cpc", [256] * 2), ("wav2vec", [512] * 13),
                                         ("vq_wav2vec", [512] * 13), ("pase", [256] * 9)])
def test_released_architecture_sizes(name, sizes):
    torch.manual_seed(0)
    expert = expert_class("upstream", name)()
    assert expert.downsample_rate == 160
    assert expert.hidden_sizes() == sizes


def test_unknown_option_is_named():
    with pytest.raises(TypeError, match=r"unknown options \['layer'\]"):
        expert_class("upstream", "cpc")(layer=3)
