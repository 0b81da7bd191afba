"""PASE+ (Ravanelli et al., 2020) from the authors' two files: ``PASE+.cfg`` and ``FE_e199.ckpt``.

``-k FE_e199.ckpt`` is ``{'step', 'state_dict'[, 'optimizer']}`` or a bare state_dict,
loaded strictly (pase's own loader silently skips keys it does not know). The encoder is
built from the JSON ``.cfg`` (``WaveFe`` keyword arguments): pass it with the option
``model_config=PATH``; if omitted, the only ``*.cfg`` file next to the checkpoint is used.
Without ``-k`` the PASE+ architecture (``PASE_PLUS``) is built with random weights.

The QRNN is plain torch (no CUDA kernel needed). 160 samples per frame (``T =
ceil(L / 10) // 16`` for PASE+). Hidden states (9 for PASE+, all ``emb_dim`` = 256): the
output of ``W``, each of the 7 dense skips averaged down to the output rate (the terms pase
sums into the embedding), and the final embedding (after ``norm_out``). Utterances run one
by one: every block reflect-pads its own input and the skip averaging factor depends on the
length, so batching could otherwise change features.

Options: ``model_config`` (path to the JSON ``.cfg``).
"""
from __future__ import annotations

import glob
import json
import os

import torch
from torch.nn.utils.rnn import pad_sequence

from speechbench.checkpoints import CheckpointError, load_checkpoint
from speechbench.checkpoints.safe_load import check_state_dict
from speechbench.errors import InputTooShortError, OptionError
from speechbench.upstream.base import UpstreamBase, upstream_output
from speechbench.upstream.pase.model import ConfigError, PaseConfig, PaseEncoder

PASE_PLUS = {"kwidths": [251, 20, 11, 11, 11, 11, 11, 11], "strides": [1, 10, 2, 1, 2, 1, 2, 2],
             "fmaps": [64, 64, 128, 128, 256, 256, 512, 512], "emb_dim": 256, "norm_type": "bnorm",
             "rnn_pool": True, "rnn_layers": 1, "rnn_type": "qrnn", "denseskips": True, "densemerge": "sum",
             "norm_out": True}
LAYOUT = "PASE checkpoint (FE_e*.ckpt)"


def find_config(ckpt: str, model_config: str | None) -> str:
    """The ``.cfg`` to build from: the given one, else the only one beside the checkpoint."""
    if model_config:
        if not os.path.isfile(model_config):
            raise ConfigError(f"PASE model_config not found: {model_config}")
        return model_config
    found = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(ckpt)), "*.cfg")))
    if len(found) != 1:
        raise ConfigError(f"pase: pass the encoder config with --upstream_options model_config=PATH/PASE+.cfg "
                         f"({len(found)} .cfg files next to {ckpt})")
    return found[0]


def read_config(path: str) -> PaseConfig:
    """Parse and validate a PASE JSON ``.cfg``."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not JSON ({err}); PASE .cfg files are JSON dicts of WaveFe arguments") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a PASE .cfg is a JSON dict")
    return PaseConfig.from_json(raw, where=path)


def read_state(ckpt: str) -> dict:
    """The encoder state_dict of an ``FE_e*.ckpt`` (either saving mode of pase)."""
    file = load_checkpoint(ckpt, layout=LAYOUT)
    state = file.get("state_dict", file) if isinstance(file, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{ckpt}: not a {LAYOUT}: expected {{'step', 'state_dict'}} or a bare state_dict")
    return state


class UpstreamExpert(UpstreamBase):
    downsample_rate = 160

    def __init__(self, ckpt: str | None = None, model_config: str | None = None, **unused: object) -> None:
        super().__init__()
        if unused:
            raise OptionError(f"pase upstream: unknown options {sorted(unused)}; known: model_config")
        if ckpt:
            cfg = read_config(find_config(ckpt, model_config))
        elif model_config:
            cfg = read_config(model_config)
        else:
            cfg = PaseConfig.from_json(PASE_PLUS, where="built-in PASE+ config")
        self.model = PaseEncoder(cfg)
        if ckpt:
            check_state_dict(self.model, read_state(ckpt), f"PASE checkpoint {ckpt}")
        self.model.eval()

    def forward(self, wavs: list[torch.Tensor]) -> dict:
        if not wavs:
            raise ValueError("upstream got an empty batch")
        for i, w in enumerate(wavs):
            if w.dim() != 1:
                raise ValueError(f"wav {i} has shape {tuple(w.shape)}; upstreams take 1-D mono waveforms")
        per_utt = []
        for i, w in enumerate(wavs):
            try:
                per_utt.append(self.model(w))
            except ValueError as err:
                raise InputTooShortError(f"pase: an utterance is too short ({err})", [i]) from None
        lengths = torch.tensor([states[0].shape[0] for states in per_utt], device=wavs[0].device)
        hidden = [pad_sequence([states[layer] for states in per_utt], batch_first=True)
                  for layer in range(len(per_utt[0]))]
        return upstream_output(hidden, lengths)
