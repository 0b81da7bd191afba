"""wav2vec / vq-wav2vec: fairseq files of both eras load strictly and match fairseq's forward."""
from __future__ import annotations

import os

import pytest
import torch

from speechbench.checkpoints import CheckpointError
from speechbench.registry import expert_class
from upstream_raw import layouts, reference

EXPECTED_FRAMES = [1 + (int(d * 16000) - 465) // 160 for d in layouts.DURATIONS]


@pytest.fixture(scope="module")
def w2v_file(tmp_path_factory) -> tuple[str, dict, dict]:
    args = layouts.wav2vec_args()
    state = layouts.wav2vec_state(args)
    path = str(tmp_path_factory.mktemp("w2v") / "wav2vec_large.pt")
    return layouts.save_fairseq_argparse(path, args, state, legacy=True), args, state


@pytest.fixture(scope="module")
def w2v(w2v_file):
    return expert_class("upstream", "wav2vec")(ckpt=w2v_file[0])


def test_shapes_frames_and_determinism(w2v):
    wavs = layouts.wavs()
    with torch.no_grad():
        out = w2v(wavs)
        again = w2v(wavs)
    assert EXPECTED_FRAMES == [98, 168, 228, 308]
    assert out["feature_lengths"].tolist() == EXPECTED_FRAMES
    assert len(out["hidden_states"]) == 13
    assert all(h.shape == (4, 308, 32) for h in out["hidden_states"])
    for a, b in zip(out["hidden_states"], again["hidden_states"]):
        assert torch.equal(a, b)


def test_matches_fairseq_single_utterance_and_batching(w2v, w2v_file):
    _, args, state = w2v_file
    wavs = layouts.wavs(seed=1)
    with torch.no_grad():
        batched = w2v(wavs)
        for i, wav in enumerate(wavs):
            ref = reference.wav2vec_forward(state, args, wav)
            alone = w2v([wav])
            n = EXPECTED_FRAMES[i]
            for layer, (r, h, a) in enumerate(zip(ref, batched["hidden_states"], alone["hidden_states"])):
                assert r.shape[0] == n
                assert (h[i, :n] - r).abs().max() < 1e-4, f"utt {i} layer {layer} differs from fairseq"
                assert (h[i, :n] - a[0]).abs().max() < 1e-5, f"utt {i} layer {layer} depends on the batch"


def test_hydra_era_file_gives_the_same_features(w2v, w2v_file, tmp_path):
    _, args, state = w2v_file
    path = layouts.save_fairseq_hydra(str(tmp_path / "w2v_hydra.pt"), args, state)
    hydra = expert_class("upstream", "wav2vec")(ckpt=path)
    wav = layouts.wavs()[:1]
    with torch.no_grad():
        assert torch.equal(hydra(wav)["last_hidden_state"], w2v(wav)["last_hidden_state"])


def test_vq_wav2vec_gumbel_codes_and_reference(tmp_path):
    args = layouts.wav2vec_args(vq_type="gumbel")
    state = layouts.wav2vec_state(args, seed=3)
    path = layouts.save_fairseq_argparse(str(tmp_path / "vq-wav2vec.pt"), args, state)
    vq = expert_class("upstream", "vq_wav2vec")(ckpt=path)
    wavs = layouts.wavs(seed=2)
    with torch.no_grad():
        out = vq(wavs)
        ref = reference.wav2vec_forward(state, args, wavs[1])
    assert out["feature_lengths"].tolist() == EXPECTED_FRAMES
    assert len(out["hidden_states"]) == 13
    n = EXPECTED_FRAMES[1]
    for layer, r in enumerate(ref):
        assert (out["hidden_states"][layer][1, :n] - r).abs().max() < 1e-4, f"layer {layer}"
    codes = out["codes"]
    assert codes.shape == (4, 308, 2) and codes.dtype == torch.long
    assert (codes[0, 98:] == -1).all() and (codes[0, :98] >= 0).all() and (codes[:, :98] < 8).all()
    assert out["codewords"].shape == (4, 308, 32)
    with pytest.raises(CheckpointError, match="use -u vq_wav2vec"):
        expert_class("upstream", "wav2vec")(ckpt=path)


def test_vq_wav2vec_kmeans_batch_invariant(tmp_path):
    args = {**layouts.wav2vec_args(vq_type="kmeans"), "vq_depth": 1}
    state = layouts.wav2vec_state(args, seed=4)
    path = layouts.save_fairseq_argparse(str(tmp_path / "vq-wav2vec_kmeans.pt"), args, state)
    vq = expert_class("upstream", "vq_wav2vec")(ckpt=path)
    wavs = layouts.wavs(seed=5)
    with torch.no_grad():
        batched = vq(wavs)
        alone = vq(wavs[2:3])
    n = EXPECTED_FRAMES[2]
    assert torch.equal(batched["codes"][2, :n], alone["codes"][0])
    assert (batched["last_hidden_state"][2, :n] - alone["last_hidden_state"][0]).abs().max() < 1e-5


def test_strict_loading_names_the_keys(tmp_path):
    args = layouts.wav2vec_args()
    state = layouts.wav2vec_state(args)
    state["feature_aggregator.conv_layers.0.1.extra"] = torch.zeros(1)
    del state["feature_extractor.conv_layers.3.2.bias"]
    path = layouts.save_fairseq_argparse(str(tmp_path / "bad.pt"), args, state)
    with pytest.raises(CheckpointError, match=r"missing keys: feature_extractor\.conv_layers\.3\.2\.bias.*"
                                              r"unexpected keys: feature_aggregator\.conv_layers\.0\.1\.extra"):
        expert_class("upstream", "wav2vec")(ckpt=path)


def test_code_running_pickle_is_refused(tmp_path):
    marker = str(tmp_path / "pwned")
    path = str(tmp_path / "evil.pt")
    torch.save({"args": layouts.RunsCode(marker), "model": {}}, path)
    with pytest.raises(CheckpointError, match=r"refusing to load.*'(builtins\.)?exec'"):
        expert_class("upstream", "wav2vec")(ckpt=path)
    assert not os.path.exists(marker)


def test_too_short_input_is_a_clear_error(w2v):
    with pytest.raises(ValueError, match=r"utterance\(s\) \[1\] are shorter than 465 samples"):
        w2v([torch.zeros(1000), torch.zeros(400)])


def test_variant_fields_shape_the_network(tmp_path):
    """project_features 'same' repeats the aggregator weights; non-affine norms and bias-free
    aggregator convs drop keys."""
    args = {**layouts.wav2vec_args(), "project_features": "same", "non_affine_group_norm": True,
            "no_conv_bias": True, "agg_zero_pad": True}
    state = {k: v for k, v in layouts.wav2vec_state(args).items()
             if not (k.endswith((".2.weight", ".2.bias", ".3.weight", ".3.bias")) or
                     (k.startswith("feature_aggregator.conv_layers.") and k.endswith(".1.bias")))}
    state.update({"project_features." + k[len("feature_aggregator."):]: v for k, v in list(state.items())
                  if k.startswith("feature_aggregator.")})
    path = layouts.save_fairseq_argparse(str(tmp_path / "variant.pt"), args, state)
    expert = expert_class("upstream", "wav2vec")(ckpt=path)
    wavs = layouts.wavs()
    with torch.no_grad():
        batched, alone = expert(wavs), expert(wavs[1:2])
    n = EXPECTED_FRAMES[1]
    assert (batched["last_hidden_state"][1, :n] - alone["last_hidden_state"][0]).abs().max() < 1e-5
