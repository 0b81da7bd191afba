"""An utterance's hidden states do not depend on its batch mates (padding is masked)."""
from __future__ import annotations

import pytest
import torch

from speechbench.upstream.audio_albert.expert import UpstreamExpert as AlbertExpert
from speechbench.upstream.mockingjay.expert import UpstreamExpert as MockingjayExpert
from speechbench.upstream.tera.expert import UpstreamExpert as TeraExpert

SMALL = {"hidden_size": 32, "num_layers": 2, "num_heads": 4, "intermediate_size": 64}


@pytest.mark.parametrize("expert,options", [
    (TeraExpert, {}),
    (AlbertExpert, {}),
    (MockingjayExpert, {"stack_frames": 3}),
    (TeraExpert, {"sequence_length": 30}),  # chunked: 3 or 4 chunks per utterance, different per length
])
def test_batched_equals_one_by_one(expert, options):
    torch.manual_seed(0)
    model = expert(**SMALL, **options).eval()
    g = torch.Generator().manual_seed(1)
    wavs = [0.1 * torch.randn(n, generator=g) for n in (16000, 9000, 12345)]
    with torch.no_grad():
        batched = model(wavs)
        singles = [model([w]) for w in wavs]
    stack = options.get("stack_frames", 1)
    assert batched["feature_lengths"].tolist() == [(1 + len(w) // 160) // stack for w in wavs]
    for i, single in enumerate(singles):
        n = int(batched["feature_lengths"][i])
        assert single["hidden_states"][0].shape[1] == n
        for b, s in zip(batched["hidden_states"], single["hidden_states"]):
            assert torch.allclose(b[i, :n], s[0], atol=1e-5), f"utterance {i} changed by batching"
            assert not b[i, n:].any(), "padded frames must be zero"


def test_random_init_follows_torch_seed_and_released_sizes():
    torch.manual_seed(3)
    a = TeraExpert(**SMALL)
    torch.manual_seed(3)
    b = TeraExpert(**SMALL)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert len(TeraExpert().hidden_sizes()) == 4 and TeraExpert().hidden_sizes()[0] == 768
    albert = AlbertExpert()
    assert albert.model.encoder.layer[0] is albert.model.encoder.layer[2]
    assert sum(p.numel() for p in albert.parameters()) < sum(p.numel() for p in TeraExpert().parameters()) / 2
