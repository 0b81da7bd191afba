"""ASV head: x-vector padding invariance, margin losses, trials, cosine scoring and metrics."""
from __future__ import annotations

import math
import os
import shutil

import pytest
import torch

from speechbench.data.kaldi_dir import DataDirError, read_kv
from speechbench.downstream.asv.expert import DownstreamExpert, cosine_scores
from speechbench.downstream.asv.model import MarginSoftmax, XVector
from speechbench.data import trials as trials_cli
from speechbench.data.trials import hold_out_speakers, make_trials, read_trials, write_trials
from testutil import assert_bug_propagates, dev_improves, one_error_line

SMALL = {"input_size": 8, "channels": 8, "stats_channels": 12, "embedding_size": 6}


def test_xvector_batched_equals_single():
    torch.manual_seed(0)
    model = XVector(5, 8, 8, 12, 6)
    model(([torch.randn(40, 5), torch.randn(25, 5)]))  # a training step moves the BN statistics
    model.eval()
    features = [torch.randn(n, 5) for n in (30, 16, 4, 57)]  # 4 frames: shorter than the 15-frame context
    batched = model(features)
    single = torch.cat([model([f]) for f in features])
    torch.testing.assert_close(batched, single, rtol=1e-5, atol=1e-6)


def test_batch_norm_statistics_ignore_padding():
    torch.manual_seed(0)
    model = XVector(5, 8, 8, 12, 6)
    x = torch.randn(40, 5)
    model([x, x[:20]])
    with torch.no_grad():  # first-layer outputs of each utterance alone, no padding anywhere
        frames = [torch.relu(model.convs[0](model.project(u).T[None]))[0].T for u in (x, x[:20])]
    expected = 0.1 * torch.cat(frames).mean(0)  # BatchNorm momentum 0.1 from a zero running mean
    torch.testing.assert_close(model.norms[0].running_mean, expected, atol=1e-6, rtol=1e-5)


def test_am_softmax_matches_hand_computation():
    loss_fn = MarginSoftmax(2, 2, "amsoftmax", scale=10.0, margin=0.2)
    with torch.no_grad():
        loss_fn.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    emb = torch.tensor([[3.0, 4.0]])  # cos = 0.6 to class 0, 0.8 to class 1
    loss, cos = loss_fn(emb, torch.tensor([0]))
    expected = -math.log(math.exp(10 * 0.4) / (math.exp(10 * 0.4) + math.exp(10 * 0.8)))
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    torch.testing.assert_close(cos, torch.tensor([[0.6, 0.8]]))
    aam = MarginSoftmax(2, 2, "aamsoftmax", scale=10.0, margin=0.2)
    aam.weight.data.copy_(loss_fn.weight.data)
    target = math.cos(math.acos(0.6) + 0.2)
    expected = -math.log(math.exp(10 * target) / (math.exp(10 * target) + math.exp(10 * 0.8)))
    assert aam(emb, torch.tensor([0]))[0].item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="arcface"):
        MarginSoftmax(2, 2, "arcface")


def test_make_trials_balanced_and_seeded():
    utt2spk = {f"s{s}-u{i}": f"s{s}" for s in range(3) for i in range(3)}
    trials = make_trials(utt2spk, seed=1)
    assert trials == make_trials(utt2spk, seed=1)
    targets = [t for t in trials if t[2] == 1]
    assert all(utt2spk[a] == utt2spk[b] for a, b, _ in targets)
    assert all(utt2spk[a] != utt2spk[b] for a, b, y in trials if y == 0)
    assert len({frozenset(t[:2]) for t in trials}) == len(trials) and 0 < len(targets) < len(trials)


def test_trials_errors_name_file_and_line(tmp_path):
    path = tmp_path / "trials"
    path.write_text("a b target\na c maybe\n")
    with pytest.raises(DataDirError, match=r"trials:2: expected"):
        read_trials(str(path))
    path.write_text("a b target\na zz nontarget\n")
    with pytest.raises(DataDirError, match=r"trials:2: utterance 'zz' is not in"):
        read_trials(str(path), {"a", "b"})
    with pytest.raises(DataDirError, match="not found"):
        read_trials(str(tmp_path / "missing"))


def test_hold_out_speakers_is_speaker_disjoint(tiny_data, tmp_path):
    speakers = hold_out_speakers(os.path.join(tiny_data, "asv", "train"), str(tmp_path / "tr"), str(tmp_path / "dev"), 2)
    train_spk = set(read_kv(tmp_path / "tr" / "utt2spk").values())
    dev_spk = set(read_kv(tmp_path / "dev" / "utt2spk").values())
    assert dev_spk == set(speakers) and len(speakers) == 2 and not train_spk & dev_spk and len(train_spk) == 6
    trials = read_trials(str(tmp_path / "dev" / "trials"), set(read_kv(tmp_path / "dev" / "wav.scp")))
    assert {y for *_, y in trials} == {0, 1}
    with pytest.raises(DataDirError, match="cannot hold out 7"):
        hold_out_speakers(os.path.join(tiny_data, "asv", "train"), str(tmp_path / "a"), str(tmp_path / "b"), 7)


def test_hold_out_cli_errors_are_one_line(tiny_data, tmp_path, capsys, monkeypatch):
    args = ["--train", os.path.join(tiny_data, "asv", "train"), "--out-train", str(tmp_path / "a"),
            "--out-dev", str(tmp_path / "b"), "--dev-speakers", "7"]
    line = one_error_line(capsys, trials_cli.main, args)
    assert "cannot hold out 7 dev speakers" in line and "use --dev-speakers 6" in line
    assert_bug_propagates(monkeypatch, trials_cli.main, trials_cli, "hold_out_speakers", args)


class Logger:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.values[tag] = value


def test_test_scoring_matches_hand_computed_eer_and_min_dcf(tiny_data, tmp_path):
    """Six disjoint pairs with cosines 0.9, 0.6, 0.3 (target) and 0.7, 0.2, 0.1 (nontarget).
    Accepting score >= 0.6 misses 1/3 targets and accepts 1/3 nontargets: EER = 1/3. With
    p_target 0.01 the cheapest threshold is 0.9 (miss 2/3, no false alarm): minDCF =
    0.01 * 2/3 / 0.01 = 2/3 (rejecting all costs 1, threshold 0.6 costs 33.3)."""
    test = str(tmp_path / "test")
    shutil.copytree(os.path.join(tiny_data, "asv", "test"), test)
    utts = sorted(read_kv(os.path.join(test, "wav.scp")))
    cosines = [0.9, 0.6, 0.3, 0.7, 0.2, 0.1]
    labels = [1, 1, 1, 0, 0, 0]
    trials = [(utts[2 * i], utts[2 * i + 1], y) for i, y in enumerate(labels)]
    write_trials(os.path.join(test, "trials"), trials)
    embeddings = {}
    for (a, b, _), c in zip(trials, cosines):
        embeddings[a] = torch.tensor([2.0, 0.0])
        embeddings[b] = torch.tensor([c, math.sqrt(1 - c * c)]) * 3
    asv = os.path.join(tiny_data, "asv")
    config = {"datarc": {"train": f"{asv}/train", "dev": test, "test": test}, "modelrc": SMALL}
    expert = DownstreamExpert(4, config, str(tmp_path))
    expert.get_dataloader("test")
    logger = Logger()
    assert expert.log_records("test", {"embeddings": list(embeddings.items())}, logger, 0) is None
    assert logger.values["test-EER"] == pytest.approx(1 / 3)
    assert logger.values["test-minDCF"] == pytest.approx(2 / 3)
    lines = (tmp_path / "test_scores.txt").read_text().splitlines()
    assert lines[0] == f"{utts[0]} {utts[1]} 0.900000 target" and lines[5].endswith("0.100000 nontarget")
    expert.log_records("dev", {"embeddings": list(embeddings.items())}, logger, 0)
    assert dev_improves(expert, logger.values, None)
    assert logger.values["dev-EER"] == pytest.approx(1 / 3)


def test_cosine_scores():
    emb = {"a": torch.tensor([1.0, 0.0]), "b": torch.tensor([0.0, 5.0]), "c": torch.tensor([-2.0, 0.0])}
    assert cosine_scores(emb, [("a", "b", 0), ("a", "c", 0), ("c", "a", 1)]).tolist() == [0.0, -1.0, -1.0]


def test_dev_without_trials_names_the_file(tiny_data, tmp_path):
    asv = os.path.join(tiny_data, "asv")
    dev = str(tmp_path / "dev")
    shutil.copytree(os.path.join(asv, "train"), dev)
    config = {"datarc": {"train": f"{asv}/train", "dev": dev, "test": f"{asv}/test"}, "modelrc": SMALL}
    expert = DownstreamExpert(4, config, str(tmp_path))
    with pytest.raises(DataDirError, match=f"{dev}/trials not found"):
        expert.get_dataloader("dev")


def test_test_dir_needs_no_utt2spk(tiny_data, tmp_path):
    test = str(tmp_path / "test")
    shutil.copytree(os.path.join(tiny_data, "asv", "test"), test)
    for name in ("utt2spk", "spk2utt"):
        os.unlink(os.path.join(test, name))
    asv = os.path.join(tiny_data, "asv")
    config = {"datarc": {"train": f"{asv}/train", "dev": test, "test": test}, "modelrc": SMALL}
    batch = next(iter(DownstreamExpert(4, config, str(tmp_path)).get_dataloader("test")))
    assert set(batch[2]) == {-1} and set(batch[3]) == {None}
