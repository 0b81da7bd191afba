"""``-u hf``: tiny random models saved by transformers' ``save_pretrained``, compared with
transformers' own ``output_hidden_states=True`` (its attention-mask handling included)."""
from __future__ import annotations

import json
import os

import pytest
import torch
import transformers

from speechbench.checkpoints import CheckpointError
from speechbench.upstream.hf.expert import UpstreamExpert

torch.set_num_threads(1)
TINY = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=24, conv_dim=(32,) * 7,
            num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=4, mask_time_prob=0.0)
# name -> (config class, model class, extra config, how batches compare)
# "batched": transformers' padded batch with attention_mask equals its single-utterance output,
# so ours is compared with its batched output; "single": transformers' batched output depends on
# the padding (GroupNorm over time / stacked positional convs), so ours is compared one by one.
MODELS = {
    "wav2vec2_base": ("Wav2Vec2Config", "Wav2Vec2Model", {}, "single"),
    "wav2vec2_large_ctc": ("Wav2Vec2Config", "Wav2Vec2ForCTC", dict(feat_extract_norm="layer", conv_bias=True,
                                                                  do_stable_layer_norm=True, vocab_size=12), "batched"),
    "hubert_base": ("HubertConfig", "HubertModel", {}, "single"),
    "hubert_no_feature_ln": ("HubertConfig", "HubertModel", dict(feat_proj_layer_norm=False, feat_extract_norm="layer",
                                                                 conv_bias=True), "batched"),
    "wavlm_base": ("WavLMConfig", "WavLMModel", dict(num_buckets=16, max_bucket_distance=40), "single"),
    "wavlm_large": ("WavLMConfig", "WavLMModel", dict(num_buckets=16, max_bucket_distance=40, feat_extract_norm="layer",
                                                      do_stable_layer_norm=True, conv_bias=True), "batched"),
    "data2vec_audio": ("Data2VecAudioConfig", "Data2VecAudioModel",
                       dict(num_conv_pos_embeddings=3, conv_pos_kernel_size=4), "single"),
}
SECONDS = (1.0, 1.7, 2.3)
FRAMES = [1 + (round(s * 16000) - 400) // 320 for s in SECONDS]


def wave(seconds: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n = round(seconds * 16000)
    return 0.3 * torch.sin(torch.arange(n) * 0.07) + 0.05 * torch.randn(n, generator=g)


@pytest.fixture(scope="module")
def waves():
    return [wave(s, i) for i, s in enumerate(SECONDS)]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """``saved(name) -> (directory, transformers model)``, each saved once."""
    root, made = tmp_path_factory.mktemp("hf"), {}

    def make(name: str):
        if name not in made:
            cfg_cls, model_cls, extra, _ = MODELS[name]
            torch.manual_seed(0)
            model = getattr(transformers, model_cls)(getattr(transformers, cfg_cls)(**{**TINY, **extra})).eval()
            with torch.no_grad():
                for p in model.parameters():  # move off the init values (LN weights 1, gate const 1, ...)
                    p.add_(torch.randn_like(p) * 0.05)
            model.save_pretrained(root / name)
            made[name] = (str(root / name), model)
        return made[name]

    return make


def reference(model, wavs: list[torch.Tensor]) -> list[torch.Tensor]:
    """transformers' hidden states of a zero-padded batch with its attention mask.

    The last entry is ``last_hidden_state``: for pre-LN models transformers 5 reports the last
    layer's raw output as ``hidden_states[-1]`` and the normed one as ``last_hidden_state``
    (4.x put the normed one in both); ours is the normed one. For post-LN models they are equal.
    """
    base = getattr(model, model.base_model_prefix, model)
    x = torch.nn.utils.rnn.pad_sequence(wavs, batch_first=True)
    mask = (torch.arange(x.shape[1])[None] < torch.tensor([len(w) for w in wavs])[:, None]).long()
    with torch.no_grad():
        out = base(x, attention_mask=mask, output_hidden_states=True)
    return list(out.hidden_states[:-1]) + [out.last_hidden_state]


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("name", list(MODELS))
def test_matches_transformers_hidden_states(saved, waves, name):
    folder, hf_model = saved(name)
    ours = UpstreamExpert(folder)
    batched = ours(waves)
    assert batched["feature_lengths"].tolist() == FRAMES
    assert len(batched["hidden_states"]) == TINY["num_hidden_layers"] + 1
    theirs_batched = reference(hf_model, waves)
    for i, w in enumerate(waves):
        alone = ours([w])["hidden_states"]
        theirs_alone = reference(hf_model, [w])
        n = FRAMES[i]
        for layer, (a, b, ab, bb) in enumerate(zip(alone, theirs_alone, batched["hidden_states"], theirs_batched)):
            assert rel_l2(a[0], b[0]) <= 1e-4, f"single, layer {layer}, utterance {i}"
            assert rel_l2(ab[i, :n], a[0]) <= 1e-4, f"ours batched vs alone, layer {layer}, utterance {i}"
            if MODELS[name][3] == "batched":
                assert rel_l2(ab[i, :n], bb[i, :n]) <= 1e-4, f"batched, layer {layer}, utterance {i}"
    if MODELS[name][3] == "single" and name != "data2vec_audio":  # the departure the docstring states
        short = len(waves) - 3
        assert rel_l2(theirs_batched[-1][short, :FRAMES[short]], reference(hf_model, [waves[short]])[-1][0]) > 1e-3


def test_weights_file_bin_and_task_prefix(saved, waves, tmp_path):
    """A pytorch_model.bin (older transformers) given as the file itself; heads of a CTC model dropped."""
    folder, hf_model = saved("wav2vec2_large_ctc")
    target = tmp_path / "ctc"
    target.mkdir()
    for name in ("config.json",):
        (target / name).write_text(open(os.path.join(folder, name)).read())
    torch.save(hf_model.state_dict(), target / "pytorch_model.bin")
    from_dir, from_file = UpstreamExpert(folder), UpstreamExpert(str(target / "pytorch_model.bin"))
    for a, b in zip(from_dir(waves)["hidden_states"], from_file(waves)["hidden_states"]):
        assert torch.equal(a, b)


def test_normalize_follows_the_preprocessor_config(saved, waves):
    folder, _ = saved("wavlm_large")
    assert UpstreamExpert(folder).normalize is False
    with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
        json.dump({"do_normalize": True, "feature_extractor_type": "Wav2Vec2FeatureExtractor"}, f)
    try:
        model = UpstreamExpert(folder)
        assert model.normalize is True
        a, b = model([waves[0]]), model([waves[0] * 4.0])
        torch.testing.assert_close(a["last_hidden_state"], b["last_hidden_state"], rtol=0, atol=1e-4)
        assert UpstreamExpert(folder, normalize="false").normalize is False
    finally:
        os.remove(os.path.join(folder, "preprocessor_config.json"))


def test_errors_name_the_problem(saved, tmp_path):
    folder, _ = saved("hubert_base")
    with pytest.raises(CheckpointError, match="no model.safetensors or pytorch_model.bin"):
        UpstreamExpert(str(tmp_path))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    (bad / "model.safetensors").write_bytes(open(os.path.join(folder, "model.safetensors"), "rb").read())
    with pytest.raises(CheckpointError, match="model_type 'whisper' is not supported.*wav2vec2, hubert, wavlm"):
        UpstreamExpert(str(bad))
    config = json.load(open(os.path.join(folder, "config.json")))
    (bad / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 3}))
    with pytest.raises(CheckpointError, match=r"missing keys: encoder\.transformer\.layers\.2\."):
        UpstreamExpert(str(bad))
    (bad / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="cannot read as safetensors"):
        UpstreamExpert(str(bad))
