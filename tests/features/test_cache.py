"""FeatureCache: round trip of what extract wrote, and errors that name the fix."""
from __future__ import annotations

import json
import os

import pytest
import torch

from speechbench.features.cache import FeatureCache, FeatureCacheError
from speechbench.features.extract import main


@pytest.fixture
def dump(tmp_path, fake_upstream, data_dir):
    out = tmp_path / "dump"
    assert main(["--upstream", "fake", "--data-dir", str(data_dir), "--out", str(out), "--dtype", "float32",
                 "--upstream-options", "scale=2"]) == 0
    return out


def test_round_trip_equals_the_upstream(dump, fake_upstream, data_dir, utt_lengths):
    import soundfile

    cache = FeatureCache(dump, upstream="fake", upstream_options={"scale": 2})
    assert len(cache) == 5 and "spk1-a" in cache and "spk9-z" not in cache
    model = fake_upstream(scale=2).eval()
    for utt in cache:
        wav, _ = soundfile.read(data_dir.parent / "wav" / f"{utt}.wav", dtype="float32")
        with torch.no_grad():
            expected = [h[0] for h in model([torch.from_numpy(wav)])["hidden_states"]]
        got = cache.load(utt)
        assert all(g.dtype == torch.float32 for g in got)
        for g, e in zip(got, expected):
            torch.testing.assert_close(g, e, atol=1e-5, rtol=1e-5)
        assert cache.num_frames(utt) == (utt_lengths[utt] - 400) // 160 + 1


def test_missing_utterance_names_it_and_the_fix(dump):
    with pytest.raises(FeatureCacheError) as err:
        FeatureCache(dump).load("spk9-z")
    assert "'spk9-z' is not in the feature cache" in str(err.value)
    assert str(dump) in str(err.value) and "rerun stage 2" in str(err.value)


def test_unfinished_cache_is_refused(tmp_path):
    with pytest.raises(FeatureCacheError, match="meta.json is missing.*rerun stage 2"):
        FeatureCache(tmp_path)


@pytest.mark.parametrize("kwargs, field", [({"upstream": "other", "upstream_options": {"scale": 2}}, "upstream"),
                                           ({"upstream": "fake"}, "upstream_options"),
                                           ({"upstream": "fake", "upstream_ckpt": "x.pt",
                                             "upstream_options": {"scale": 2}}, "upstream_ckpt")])
def test_meta_mismatch_is_refused(dump, kwargs, field):
    with pytest.raises(FeatureCacheError) as err:
        FeatureCache(dump, **kwargs)
    assert f"{field}: cache has" in str(err.value)


def test_moved_ark_is_reported(dump):
    os.rename(dump / "feats.1.ark", dump / "moved.ark")
    with pytest.raises(FeatureCacheError, match="ark was moved, truncated or deleted"):
        FeatureCache(dump).load("spk1-a")


def test_checkpoint_is_compared_by_absolute_path(tmp_path, fake_upstream, data_dir, monkeypatch):
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert main(["--upstream", "fake", "--upstream-ckpt", "model.pt", "--data-dir", str(data_dir),
                 "--out", "dump"]) == 0
    assert FeatureCache(tmp_path / "dump").meta["upstream_ckpt"] == str(ckpt)
    monkeypatch.chdir(data_dir)
    FeatureCache(tmp_path / "dump", upstream="fake", upstream_ckpt=str(ckpt))


def test_shape_disagreeing_with_meta_is_reported(dump):
    meta = json.loads((dump / "meta.json").read_text())
    meta["dims"] = [4, 6, 4]
    (dump / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(FeatureCacheError, match=r"expected \[T, 14\]"):
        FeatureCache(dump).load("spk1-a")


def test_runner_cache_source_reads_it(dump, utt_lengths):
    from speechbench.features.source import CacheSource

    hidden, lengths = CacheSource([FeatureCache(dump)]).forward(["spk1-a", "spk1-b"], [], torch.device("cpu"))
    frames = [(utt_lengths[u] - 400) // 160 + 1 for u in ("spk1-a", "spk1-b")]
    assert lengths.tolist() == frames
    assert [tuple(h.shape) for h in hidden] == [(2, max(frames), d) for d in (4, 6, 3)]
