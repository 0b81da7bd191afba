"""Writes each tiny released-layout checkpoint once per session (see ``layouts.py``)."""
from __future__ import annotations

import pytest
import torch

from upstream_ssl import layouts

BUILDERS = {
    ("wavlm", "base", "wavlm"): lambda: layouts.wavlm_file("base"),
    ("wavlm", "large", "wavlm"): lambda: layouts.wavlm_file("large"),
    ("unispeech_sat", "base", "fairseq"): lambda: layouts.unispeech_sat_file("base", "fairseq"),
    ("unispeech_sat", "large", "fairseq"): lambda: layouts.unispeech_sat_file("large", "fairseq"),
    ("unispeech_sat", "base", "wavlm"): lambda: layouts.unispeech_sat_file("base", "wavlm"),
    ("data2vec", "base", "hydra"): lambda: layouts.data2vec_file("base", "hydra"),
    ("data2vec", "large", "hydra"): lambda: layouts.data2vec_file("large", "hydra"),
    ("data2vec", "base", "converted"): lambda: layouts.data2vec_file("base", "converted"),
    ("distilhubert", "released", "s3prl"): layouts.distiller_file,
}


@pytest.fixture(scope="session")
def ssl_checkpoint(tmp_path_factory):
    """``ssl_checkpoint(upstream, variant, layout) -> path`` of the file in that layout."""
    root = tmp_path_factory.mktemp("ssl_ckpts")
    made: dict[tuple, str] = {}

    def make(*key: str) -> str:
        if key not in made:
            path = str(root / ("_".join(key) + ".pt"))
            with layouts.fake_optimizers_module():
                torch.save(BUILDERS[key](), path)
            made[key] = path
        return made[key]

    return make
