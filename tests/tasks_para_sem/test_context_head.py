"""The utterance head's word-detector option (``modelrc.context`` + ``pooling: max``)."""
from __future__ import annotations

import pytest
import torch

from speechbench.downstream._modules.pooling import masked_max
from speechbench.downstream._modules.utterance_head import UtteranceClassifier


def test_masked_max_ignores_padding():
    x = torch.tensor([[[1.0, -5.0], [3.0, -1.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, True, False]])
    assert masked_max(x, mask).tolist() == [[3.0, -1.0]]


@pytest.mark.parametrize("context", [0, 1, 5])
def test_batched_equals_single(context):
    torch.manual_seed(0)
    head = UtteranceClassifier(6, 4, projector_dim=8, pooling="max", context=context).eval()
    utts = [torch.randn(n, 6) for n in (3, 11, 7)]
    batched = head(utts)
    for i, u in enumerate(utts):
        assert torch.allclose(head([u])[0], batched[i], atol=1e-6)


def test_context_sees_the_order_of_frames():
    """A per-frame projection with mean pooling cannot tell "ab" from "ba"; a 3-frame window can."""
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    ab, ba = torch.stack([a, b]), torch.stack([b, a])
    torch.manual_seed(0)
    mean_head = UtteranceClassifier(2, 1, projector_dim=4, pooling="mean")
    assert torch.allclose(mean_head([ab]), mean_head([ba]))
    head = UtteranceClassifier(2, 1, projector_dim=4, pooling="max", context=3)
    with torch.no_grad():
        head.projector.conv.weight.zero_()
        head.projector.conv.bias.zero_()
        head.projector.conv.weight[0, 0, 0] = 1.0  # fires when the previous frame is "a" ...
        head.projector.conv.weight[0, 1, 1] = 1.0  # ... and this one is "b"
        head.projector.conv.bias[0] = -1.0
        head.output.weight.zero_()
        head.output.weight[0, 0] = 1.0
        head.output.bias.zero_()
    assert head([ab]).item() == pytest.approx(1.0)
    assert head([ba]).item() == pytest.approx(0.0)


@pytest.mark.parametrize("kwargs", [{"context": 4}, {"context": -1}, {"context": 3, "projector_dim": 0}])
def test_bad_context_is_one_clear_error(kwargs):
    with pytest.raises(ValueError, match="modelrc.context"):
        UtteranceClassifier(6, 4, **kwargs)
