"""Control features, for the leaderboard's chance and ceiling rows: written from a data dir, never from audio.

A control run trains the task's head on features that carry nothing (``kind=chance``: one
constant value per frame, so the head can learn only the label prior: the majority class, or the
metric of a constant prediction) or the answer itself (``kind=ceiling``: the gold labels encoded
per frame, so a head that works reaches the task's maximum). Both bracket the upstreams: a task
whose ceiling stays low has a broken head or budget, one whose upstreams sit at chance says
nothing about them.

The features are written by ``python -m speechbench.upstream.control.write`` (a recipe's stage 2
with ``--upstream control --upstream-options kind=chance|ceiling``) and read back from the cache;
this expert exists so that ``-u control`` is a known name, and refuses to run on audio.
"""
from __future__ import annotations

import torch

from speechbench.errors import ConfigError
from speechbench.upstream.base import UpstreamBase

KINDS = ("chance", "ceiling")

NO_MODEL = ("the control upstream has no model: its features are written from the labels by "
            "`python -m speechbench.upstream.control.write` (recipes: --upstream control "
            "--upstream-options kind=chance or kind=ceiling); train from them with --feature_cache")


class UpstreamExpert(UpstreamBase):
    downsample_rate = 160
    features_from_labels = True  # no forward pass on audio: the contract test builds every other upstream

    def __init__(self, ckpt: str | None = None, **options: object) -> None:
        super().__init__()
        raise ConfigError(NO_MODEL)

    def forward(self, wavs: list[torch.Tensor]) -> dict:
        """Never reached (construction refuses); declared so the registry's contract check holds."""
        raise ConfigError(NO_MODEL)
