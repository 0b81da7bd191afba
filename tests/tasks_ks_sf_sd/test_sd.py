"""Diarization: frame labels, the PIT loss, chunked recordings and scoring in the expert."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from speechbench.corpora.librimix import prepare_librimix
from speechbench.data.kaldi_dir import DataDirError
from speechbench.downstream.sd.dataset import DiarizationDataset
from speechbench.downstream.sd.expert import DownstreamExpert, frame_labels
from speechbench.downstream.sd.model import DiarizationHead, pit_bce
from speechbench.metrics.diarization import read_rttm
from tasks_ks_sf_sd.fake_trees import librimix_tree
from testutil import dev_improves


def test_frame_labels_take_the_speakers_active_at_each_frame_centre():
    labels = frame_labels([(0, 0.0, 0.025), (1, 0.015, 0.05)], 6, 2, upstream_rate=160)
    # centres at 5, 15, 25, 35, 45, 55 ms
    assert labels[:, 0].tolist() == [1, 1, 0, 0, 0, 0]
    assert labels[:, 1].tolist() == [0, 0, 1, 1, 1, 0]
    assert frame_labels([(0, 0.0, 1.0)], 3, 2, upstream_rate=320)[:, 0].tolist() == [1, 1, 1]


def test_pit_bce_is_invariant_to_the_speaker_order_and_takes_the_best_one():
    torch.manual_seed(0)
    logits = torch.randn(2, 7, 2)
    labels = (torch.rand(2, 7, 2) > 0.5).float()
    mask = torch.ones(2, 7, dtype=torch.bool)
    mask[1, 5:] = False
    loss = pit_bce(logits, labels, mask)
    assert loss == pytest.approx(pit_bce(logits, labels.flip(-1), mask).item())
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    by_hand = 0.0
    for b, n in ((0, 7), (1, 5)):
        by_hand += min(bce(logits[b, :n], labels[b, :n, order], reduction="none").mean(-1).sum().item()
                       for order in ([0, 1], [1, 0]))
    assert loss.item() == pytest.approx(by_hand / 12)
    assert pit_bce(torch.full((1, 3, 2), 30.0), torch.ones(1, 3, 2), torch.ones(1, 3, dtype=torch.bool)) < 1e-6


def test_head_output_does_not_depend_on_padding():
    torch.manual_seed(0)
    head = DiarizationHead(5, 2, rnn_layers=1, hidden_size=4, bidirectional=True).eval()
    x = torch.randn(1, 9, 5)
    alone = head(x, torch.tensor([9]))
    padded = head(torch.cat([x, torch.zeros(1, 4, 5)], 1), torch.tensor([9]))[:, :9]
    assert torch.allclose(alone, padded, atol=1e-6)
    assert DiarizationHead(5, 2, rnn_layers=0)(x, torch.tensor([9])).shape == (1, 9, 2)


@pytest.fixture(scope="module")
def sd_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("sd")
    db, rttm_dir = librimix_tree(root, mix="clean")
    prepare_librimix(str(db), str(rttm_dir), str(root / "data"), mix="clean")
    return root / "data"


def test_training_chunks_cut_recordings_and_shift_their_turns(sd_data):
    ds = DiarizationDataset(str(sd_data / "train"), 2, chunk_seconds=1.0)
    mixture = "19-198-0001_26-495-0004"   # 3.0 s: speaker 19 at 0.2-1.4 and 1.8-2.9, 26 at 0.5-2.0
    chunks = [i for i, item in enumerate(ds.items) if item[0] == mixture]
    assert [ds.items[i][1:] for i in chunks] == [(0.0, 1.0), (1.0, 1.0), (2.0, 1.0)]
    rec, wav, spans, window = ds[chunks[1]]
    assert rec == mixture and len(wav) == 16000 and window is None
    assert sorted((k, round(a, 3), round(b, 3)) for k, a, b in spans) == [(0, 0.0, 0.4), (0, 0.8, 1.0), (1, 0.0, 1.0)]
    ds.load_audio = False
    assert ds[chunks[1]][3] == (16000, 16000)  # cached features are cut by the expert
    whole = DiarizationDataset(str(sd_data / "dev"), 2, chunk_seconds=None)
    assert len(whole) == 1 and whole.lengths() == [2.0]


def test_turn_layout_dirs_are_refused_with_the_fix(sd_data):
    with pytest.raises(DataDirError, match="not the segment layout"):
        DiarizationDataset(str(sd_data / "s3prl" / "dev"), 2, None)


class _Logger:
    def __init__(self):
        self.values = {}

    def add_scalar(self, tag, value, step):
        self.values[tag] = value


def test_expert_scores_decoded_activities_against_the_reference(sd_data, tmp_path):
    config = {"datarc": {s: str(sd_data / s) for s in ("train", "dev", "test")},
              "modelrc": {"hidden_size": 4}, "decoderc": {"median": 1}}
    expert = DownstreamExpert(3, config, str(tmp_path), upstream_rate=160)
    mixture = "61-70968-0000_121-121726-0001"   # 2.2 s: 61 at 0.4-2.1, 121 at 0.0-0.8 and 1.2-2.2
    truth = frame_labels([(0, 0.0, 0.8), (0, 1.2, 2.2), (1, 0.4, 2.1)], 220, 2, 160).numpy()  # speakers swapped
    logger = _Logger()
    assert expert.log_records("test", {"loss": [0.1], "probs": [(mixture, truth)]}, logger, 5) is None
    assert logger.values["test-der"] == pytest.approx(0.0, abs=1e-6)
    assert logger.values["test-der_best"] == pytest.approx(0.0, abs=1e-6)
    assert set(read_rttm(str(tmp_path / "test_predictions.rttm"))) == {mixture}
    assert (tmp_path / "scoring" / "sweep.tsv").read_text().count("\n") == 11
    silent = {"loss": [0.1], "probs": [(mixture, np.zeros((220, 2)))]}
    assert expert.log_records("test", silent, logger, 5) is None
    assert logger.values["test-der"] == pytest.approx(1.0) and logger.values["test-miss"] == pytest.approx(1.0)
    dev = {"loss": [0.1], "probs": [("84-121-0001_251-136-0002", np.zeros((200, 2)))]}
    expert.log_records("dev", dev, logger, 5)
    assert dev_improves(expert, logger.values, None)
    best = logger.values["dev-der"]
    expert.log_records("dev", dev, logger, 6)
    assert not dev_improves(expert, logger.values, best)  # not better than itself


def test_padded_lstm_equals_a_packed_bidirectional_lstm_on_valid_frames():
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from speechbench.downstream._modules.rnn import PaddedLSTM, reverse_within_length

    x = torch.arange(12.0).reshape(2, 3, 2)
    assert reverse_within_length(x, torch.tensor([3, 2]))[1, :, 0].tolist() == [8.0, 6.0, 10.0]
    torch.manual_seed(0)
    ours = PaddedLSTM(5, 4, num_layers=2, bidirectional=True)
    reference = torch.nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True)
    with torch.no_grad():
        for i in range(2):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(reference, f"{name}_l{i}").copy_(getattr(ours.forward_layers[i], f"{name}_l0"))
                getattr(reference, f"{name}_l{i}_reverse").copy_(getattr(ours.backward_layers[i], f"{name}_l0"))
    x, lengths = torch.randn(3, 8, 5), torch.tensor([8, 5, 2])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    expected, _ = pad_packed_sequence(reference(packed)[0], batch_first=True)
    got = ours(x, lengths)
    for b, n in enumerate(lengths.tolist()):
        assert torch.allclose(got[b, :n], expected[b, :n], atol=1e-6)
