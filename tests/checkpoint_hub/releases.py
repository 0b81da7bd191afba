"""Tiny stand-ins for every upstream's first released model, in the authors' file layout.

The pretrainable upstreams write theirs with ``official_checkpoint()`` of their pretraining
objective (a small untrained model); the others use the layout builders of their own
upstream tests.
"""
from __future__ import annotations

import argparse
import io
import json

import torch

from speechbench.hub.catalog import ReleasedModel, released_models
from speechbench.pretrain.loop import load_config
from speechbench.pretrain.objective import available, build_objective, default_config_path


def first_model(upstream: str) -> ReleasedModel:
    return next(iter(released_models(upstream).values()))


def _torch_bytes(obj: object, legacy: bool = False) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


def release_files(upstream: str) -> dict[str, bytes]:
    """``{file name: bytes}`` for every file of ``first_model(upstream)``."""
    model = first_model(upstream)
    names = [f.name for f in model.files]
    if upstream in available():
        objective = build_objective(upstream, load_config(default_config_path(upstream))["objective"])
        return {names[0]: _torch_bytes(objective.official_checkpoint())}
    if upstream in ("wav2vec", "vq_wav2vec"):
        from upstream_raw import layouts
        args = layouts.wav2vec_args(dim=16, vq_type="gumbel" if model.name == "vq-wav2vec" else "none")
        state = layouts.wav2vec_state(args)
        return {names[0]: _torch_bytes({"args": argparse.Namespace(**args), "model": state,
                                        "optimizer_history": [], "extra_state": {}}, legacy=True)}
    if upstream == "pase":
        from upstream_raw import layouts
        cfg = layouts.pase_config()
        return {names[0]: _torch_bytes({"step": 199, "state_dict": layouts.pase_state(cfg)}),
                names[1]: json.dumps(cfg).encode()}
    if upstream in ("wav2vec2", "hubert"):
        from upstream_wav2vec2 import conftest as w2v
        with w2v.fake_modules():
            return {names[0]: _torch_bytes(w2v.checkpoint_object(f"{upstream}_base", "hydra"))}
    if upstream in SSL_LAYOUTS:
        from upstream_ssl import layouts
        with layouts.fake_optimizers_module():
            return {names[0]: _torch_bytes(SSL_LAYOUTS[upstream](layouts))}
    raise KeyError(f"no tiny release for {upstream}: add one here when an upstream gets a models.yaml")


# Builders of tests/upstream_ssl for the layout each released file has.
SSL_LAYOUTS = {
    "wavlm": lambda layouts: layouts.wavlm_file("base"),
    "data2vec": lambda layouts: layouts.data2vec_file("base", "hydra"),
    "distilhubert": lambda layouts: layouts.distiller_file(),
    "unispeech_sat": lambda layouts: layouts.unispeech_sat_file("base", "wavlm"),
}
