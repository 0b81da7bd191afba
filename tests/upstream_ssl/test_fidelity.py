"""WavLM, UniSpeech-SAT, data2vec and DistilHuBERT against the authors' forward pass, per layout."""
from __future__ import annotations

import pytest
import torch

from upstream_ssl import layouts
from upstream_ssl import reference
from upstream_ssl.conftest import BUILDERS
from speechbench.registry import expert_class

torch.set_num_threads(1)
DURATIONS = (1.0, 1.7, 2.3)
FRAMES = [1 + (round(s * 16000) - 400) // 320 for s in DURATIONS]  # 49, 84, 114


@pytest.fixture(scope="module")
def waves():
    return [layouts.wave(s, seed=i) for i, s in enumerate(DURATIONS)]


def expected(upstream: str, variant: str, layout: str, wav: torch.Tensor) -> list[torch.Tensor]:
    """The authors' hidden states of one utterance, from the file's own weights."""
    obj = BUILDERS[upstream, variant, layout]()
    sd = obj.get("model") or obj.get("model_weight") or obj.get("Distiller")
    if upstream == "distilhubert":
        return reference.distiller(sd, layouts.DISTILLER_CFG, wav, layouts.POS_G)
    arch = {"wavlm": layouts.WAVLM, "unispeech_sat": layouts.UNISPEECH_SAT, "data2vec": layouts.DATA2VEC}[upstream][variant]
    gate = {"grep": ("grep_linear", "grep_a"), "gate_ur": ("gate_ur_linear", "eco_a"), None: None}[arch[5]]
    if upstream == "data2vec":
        return reference.w2v2_family(sd, arch, wav, layouts.LAYERS, layouts.POS_G,
                                     kernel=max(3, layouts.D2V_CONV_POS // layouts.D2V_DEPTH), depth=layouts.D2V_DEPTH)
    return reference.w2v2_family(sd, arch, wav, layouts.LAYERS, layouts.POS_G,
                                 relative=layouts.MAX_DISTANCE if arch[4] else None, gate=gate)


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("key", list(BUILDERS), ids=["-".join(k) for k in BUILDERS])
def test_matches_the_authors_forward_and_batching_changes_nothing(ssl_checkpoint, waves, key):
    upstream = key[0]
    model = expert_class("upstream", upstream)(ssl_checkpoint(*key))
    assert model.downsample_rate == 320
    batched = model(waves)
    assert batched["feature_lengths"].tolist() == FRAMES
    n_states = {"distilhubert": 1 + layouts.LAYERS + 3}.get(upstream, layouts.LAYERS + 1)
    assert len(batched["hidden_states"]) == n_states
    for i, wav in enumerate(waves):
        ref = expected(*key, wav)
        alone = model([wav])["hidden_states"]
        assert len(ref) == len(alone) == n_states
        for layer, (ours, theirs, inbatch) in enumerate(zip(alone, ref, batched["hidden_states"])):
            assert ours.shape[1] == FRAMES[i] == theirs.shape[0]
            assert rel_l2(ours[0], theirs) <= 1e-4, f"layer {layer}, utterance {i}"
            assert rel_l2(inbatch[i, :FRAMES[i]], ours[0]) <= 1e-4, f"batched, layer {layer}, utterance {i}"
            assert inbatch[i, FRAMES[i]:].abs().max().item() == 0 if FRAMES[i] < inbatch.shape[1] else True
    hs = batched["hidden_states"]
    assert not torch.allclose(hs[1], hs[2]), "layers must transform their input"
