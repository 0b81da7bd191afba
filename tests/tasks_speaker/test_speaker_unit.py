"""Speaker ID head and the shared speaker dataset: padding invariance, crops, label errors."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch

from speechbench.data.kaldi_dir import DataDirError, read_kv, write_kv
from speechbench.downstream._modules.speaker_data import SpeakerDataset, crop_features
from speechbench.downstream.speaker.expert import DownstreamExpert, SpeakerClassifier


@pytest.mark.parametrize("pooling", ["mean", "mean_std", "attentive"])
def test_batched_equals_single(pooling):
    torch.manual_seed(0)
    model = SpeakerClassifier(6, 16, 5, pooling).eval()
    features = [torch.randn(n, 6) for n in (3, 17, 9, 1)]
    batched = model(features)
    single = torch.cat([model([f]) for f in features])
    torch.testing.assert_close(batched, single, rtol=1e-5, atol=1e-6)


def _with_durations(src: str, dst: str, durations: dict[str, float]) -> str:
    shutil.copytree(src, dst)
    write_kv(os.path.join(dst, "utt2dur"), {u: f"{d:.6f}" for u, d in durations.items()})
    return dst


def test_crops_depend_only_on_seed_epoch_index(tiny_data, tmp_path):
    src = os.path.join(tiny_data, "read", "train")
    utts = list(read_kv(os.path.join(src, "utt2dur")))
    data = _with_durations(src, str(tmp_path / "train"), {u: 3.0 for u in utts})
    ds = SpeakerDataset(data, max_seconds=1.0, seed=5)
    assert ds.lengths() == [1.0] * len(utts)
    first = [ds.crop(i) for i in range(len(ds))]
    assert all(start + size <= 48000 and size == 16000 for start, size in first)
    again = SpeakerDataset(data, max_seconds=1.0, seed=5)
    assert [again.crop(i) for i in range(len(ds))] == first  # a fresh (resumed) dataset repeats them
    ds.set_epoch(1)
    assert [ds.crop(i) for i in range(len(ds))] != first
    rng = np.random.default_rng([5, 1, 3])
    assert ds.crop(3) == (int(rng.integers(0, 48000 - 16000 + 1)), 16000)
    utt, wav, speaker, window = ds[3]
    assert window is None and len(wav) == 16000  # audio is cut in the dataset
    ds.load_audio = False
    assert ds[3] == (utt, None, speaker, ds.crop(3))  # cached features are cut by the expert


def test_short_utterances_are_not_cropped(tiny_data):
    ds = SpeakerDataset(os.path.join(tiny_data, "read", "train"), max_seconds=100.0)
    assert all(ds.crop(i) is None for i in range(len(ds)))


def test_crop_features_uses_upstream_rate():
    feats = [torch.arange(100.0)[:, None], torch.arange(30.0)[:, None]]
    out = crop_features(feats, [(3200, 1600), None], upstream_rate=320)
    assert out[0].flatten().tolist() == [10.0, 11.0, 12.0, 13.0, 14.0]
    assert out[1] is feats[1]


def _config(data: str, **datarc) -> dict:
    read = os.path.join(data, "read")
    return {"datarc": {"train": f"{read}/train", "dev": f"{read}/dev", "test": f"{read}/test", **datarc}}


def test_dev_speaker_unknown_to_train_is_one_clear_error(tiny_data, tmp_path):
    dev = str(tmp_path / "dev")
    shutil.copytree(os.path.join(tiny_data, "read", "dev"), dev)
    utt2spk = read_kv(os.path.join(dev, "utt2spk"))
    first = sorted(utt2spk)[0]
    utt2spk[first] = "stranger"
    write_kv(os.path.join(dev, "utt2spk"), utt2spk)
    os.unlink(os.path.join(dev, "spk2utt"))
    expert = DownstreamExpert(8, _config(tiny_data, dev=dev), str(tmp_path))
    with pytest.raises(DataDirError) as err:
        expert.get_dataloader("dev")
    message = str(err.value)
    assert "\n" not in message and "utt2spk" in message and "'stranger'" in message and first in message


def test_missing_utt2spk_names_the_file(tiny_data, tmp_path):
    train = str(tmp_path / "train")
    shutil.copytree(os.path.join(tiny_data, "read", "train"), train)
    os.unlink(os.path.join(train, "utt2spk"))
    with pytest.raises(DataDirError, match="utt2spk"):
        DownstreamExpert(8, _config(tiny_data, train=train), str(tmp_path))


def test_unknown_config_key_is_an_error(tiny_data, tmp_path):
    with pytest.raises(ValueError, match="max_train_secs"):
        DownstreamExpert(8, _config(tiny_data, max_train_secs=3), str(tmp_path))
