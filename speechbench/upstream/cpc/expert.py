"""Modified CPC (CPC_audio) from the authors' released file, e.g. ``60k_epoch4-d0f474de.pt``.

``-k`` takes either layout CPC_audio users hold:

* the released feature file ``{'config': {CPC_audio argparse fields}, 'weights': state_dict}``
  (what ``python -m speechbench.pretrain --upstream cpc`` also writes);
* a CPC_audio training checkpoint ``checkpoint_<epoch>.pt`` (``{'gEncoder': state_dict,
  'cpcCriterion', 'optimizer', 'best'}``) with its ``checkpoint_args.json`` beside it.

The config is merged over CPC_audio's defaults (256-d encoder and LSTM). Loading is strict
(CPC_audio's own is not): differing keys are named. Without ``-k`` the default network is
built with random weights (for smoke tests only).

Raw 16 kHz waveform in, no normalisation; 160 samples per frame (``T = L // 160``).
Hidden states: [encoder output, context (LSTM) output]. The reference keeps the LSTM state
across calls when trained with ``samplingType sequential``; we start every batch afresh.

Options: none.
"""
from __future__ import annotations

import json
import os

import torch

from speechbench.checkpoints import CheckpointError, load_checkpoint
from speechbench.checkpoints.safe_load import check_state_dict
from speechbench.errors import InputTooShortError, OptionError
from speechbench.upstream.base import UpstreamBase, pad_wavs, upstream_output
from speechbench.upstream.cpc.model import CPCConfig, CPCModel, ConfigError

LAYOUT = "CPC_audio checkpoint"
MIN_SAMPLES = 160


def read_cpc_checkpoint(path: str) -> tuple[dict, dict]:
    """``(config, state_dict)`` from either CPC_audio layout."""
    file = load_checkpoint(path, layout=LAYOUT)
    if isinstance(file, dict) and "weights" in file and "config" in file:
        config, state = file["config"], file["weights"]
    elif isinstance(file, dict) and "gEncoder" in file:
        args_json = os.path.join(os.path.dirname(os.path.abspath(path)), "checkpoint_args.json")
        if not os.path.isfile(args_json):
            raise CheckpointError(f"{path}: a CPC_audio training checkpoint needs its checkpoint_args.json "
                                  f"beside it ({args_json} is missing)")
        with open(args_json, encoding="utf-8") as f:
            config = json.load(f)
        state = file["gEncoder"]
    else:
        keys = sorted(map(str, file))[:8] if isinstance(file, dict) else type(file).__name__
        raise CheckpointError(f"{path}: not a {LAYOUT}: expected keys 'config' and 'weights' (released file) "
                              f"or 'gEncoder' (training checkpoint); found {keys}")
    if not isinstance(config, dict) or not isinstance(state, dict):
        raise CheckpointError(f"{path}: the config must be a dict and the weights a state_dict")
    return config, state


class UpstreamExpert(UpstreamBase):
    downsample_rate = 160

    def __init__(self, ckpt: str | None = None, **unused: object) -> None:
        super().__init__()
        if unused:
            raise OptionError(f"cpc upstream: unknown options {sorted(unused)}; it takes none")
        config, state = read_cpc_checkpoint(ckpt) if ckpt else ({}, None)
        try:
            cfg = CPCConfig.from_cpc_audio(config)
        except ConfigError as err:
            raise CheckpointError(f"{ckpt}: {err}") from None
        self.model = CPCModel(cfg)
        if state is not None:
            check_state_dict(self.model, state, f"CPC checkpoint {ckpt}")
        self.model.eval()

    def forward(self, wavs: list[torch.Tensor]) -> dict:
        wav, lengths = pad_wavs(wavs)
        short = [i for i, n in enumerate(self.model.gEncoder.frame_counts(lengths).tolist()) if n < 1]
        if short:
            raise InputTooShortError(f"cpc: utterance(s) {short} are too short to give one frame "
                                     f"(~{MIN_SAMPLES} samples)", short)
        encoded, context, frames = self.model(wav, lengths)
        return upstream_output([encoded, context], frames)
