"""The QA head: padding never changes logits or spans; span decoding; the metric hook."""
from __future__ import annotations

import itertools

import pytest
import torch

from speechbench.downstream.qa.expert import DownstreamExpert
from speechbench.downstream.qa.model import SpanHead, best_spans
from speechbench.downstream._modules.pooling import pad_features
from testutil import dev_improves


class Logger:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.values[tag] = value


def test_batched_logits_equal_one_by_one():
    torch.manual_seed(0)
    head = SpanHead(upstream_dim=6, vocab_size=12, hidden_size=8, dropout=0.0).eval()
    frames = [torch.randn(n, 6) for n in (7, 13, 4)]
    words = [torch.randint(2, 12, (n,)) for n in (3, 5, 2)]
    padded, mask = pad_features(frames)
    w = torch.nn.utils.rnn.pad_sequence(words, batch_first=True)
    with torch.no_grad():
        batched = head(padded, mask, w, w != 0)
        for i, (f, q) in enumerate(zip(frames, words)):
            single = head(f[None], torch.ones(1, len(f), dtype=torch.bool), q[None], torch.ones(1, len(q), dtype=torch.bool))
            torch.testing.assert_close(batched[i, : len(f)], single[0], atol=1e-5, rtol=1e-5)
            assert torch.isinf(batched[i, len(f):]).all()
        spans = best_spans(batched[..., 0], batched[..., 1], max_frames=4)
        assert [best_spans(head(f[None], torch.ones(1, len(f), dtype=torch.bool), q[None],
                                torch.ones(1, len(q), dtype=torch.bool))[..., 0],
                           head(f[None], torch.ones(1, len(f), dtype=torch.bool), q[None],
                                torch.ones(1, len(q), dtype=torch.bool))[..., 1], 4)[0]
                for f, q in zip(frames, words)] == spans


def test_best_spans_matches_brute_force():
    gen = torch.Generator().manual_seed(3)
    start, end = torch.randn(5, 9, generator=gen), torch.randn(5, 9, generator=gen)
    got = best_spans(start, end, max_frames=3)
    for b in range(5):
        pairs = [(s, e) for s, e in itertools.product(range(9), repeat=2) if s <= e < s + 3]
        assert got[b] == max(pairs, key=lambda p: float(start[b, p[0]] + end[b, p[1]]))


@pytest.fixture()
def expert(tiny_data, tmp_path) -> DownstreamExpert:
    qa = f"{tiny_data}/qa"
    config = {"datarc": {"train": f"{qa}/train", "dev": f"{qa}/dev", "test": f"{qa}/test"}}
    return DownstreamExpert(4, config, str(tmp_path), upstream_rate=160)


def test_log_records_scores_seconds_and_keeps_the_best_dev(expert, tmp_path):
    records = {"loss": [1.0], "predictions": [("u1", 1.0, 2.0, (1.0, 2.0)), ("u2", 0.0, 1.0, (0.5, 1.5))]}
    logger = Logger()
    expert.log_records("dev", records, logger, 10)
    assert dev_improves(expert, logger.values, None)
    assert logger.values["dev-ff1"] == pytest.approx((1.0 + 0.5) / 2)
    assert logger.values["dev-aos"] == pytest.approx((1.0 + 0.5 / 1.5) / 2)
    best = logger.values["dev-ff1"]
    expert.log_records("dev", records, logger, 20)
    assert not dev_improves(expert, logger.values, best)  # not better
    expert.log_records("test", records, logger, 20)
    assert (tmp_path / "test_predictions.txt").read_text().splitlines() == ["u1 1.000 2.000", "u2 0.000 1.000"]


def test_forward_targets_and_decoded_seconds(expert):
    """A head that already points at the answer frames decodes the reference span to the frame."""
    torch.manual_seed(0)
    feats = [torch.randn(300, 4), torch.randn(120, 4)]
    spans = [(1.004, 1.396), (0.2, 0.5)]
    questions = [torch.tensor([2, 3]), torch.tensor([4])]

    def pointing(frames, mask, words, word_mask):
        logits = torch.full((*mask.shape, 2), -10.0)
        logits[0, 100, 0] = logits[0, 139, 1] = 10.0
        logits[1, 20, 0] = logits[1, 49, 1] = 10.0
        return logits.masked_fill(~mask[..., None], float("-inf"))

    expert.model.forward = pointing
    records: dict = {}
    loss = expert("dev", feats, ["a", "b"], questions, spans, records=records)
    assert loss.item() < 1e-6  # the targets are exactly the frames holding start and end
    (_, s0, e0, _), (_, s1, e1, _) = records["predictions"]
    assert (s0, e0) == pytest.approx((1.0, 1.4)) and (s1, e1) == pytest.approx((0.2, 0.5))
