"""Read a feature dump written by ``speechbench.features.extract`` back per utterance.

Training from the cache skips the upstream entirely, so everything the upstream would have
decided (which model, checkpoint, options, layers) must be checked here instead: a cache
of another upstream is refused, not silently used.
"""
from __future__ import annotations

import json
import os
from typing import Any, Iterator

import kaldiio
import numpy as np
import torch

from speechbench.data.kaldi_dir import read_kv
from speechbench.errors import DataError

_RERUN = "rerun stage 2 (python -m speechbench.features.extract ... --out {dir})"


class FeatureCacheError(DataError):
    """The cache is missing, incomplete, or not the one asked for; says how to fix it."""


class FeatureCache:
    """``utt -> [T, D_l] float32 tensor per kept layer`` over ``dump_dir/feats.scp``.

    ``meta`` is ``meta.json`` (upstream, layers, dims, downsample_rate, dtype, ...).
    Arrays are read lazily, one utterance at a time, so a cache larger than memory works.
    Only the scp (one line per utterance) is held in memory.
    """

    def __init__(self, dump_dir: str | os.PathLike, upstream: str | None = None,
                 upstream_ckpt: str | None = None, upstream_options: dict[str, Any] | None = None) -> None:
        self.dump_dir = os.fspath(dump_dir)
        meta_path = os.path.join(self.dump_dir, "meta.json")
        if not os.path.isfile(meta_path):
            raise FeatureCacheError(f"no finished feature cache in {self.dump_dir} (meta.json is missing, "
                                    f"so extraction never ran or did not finish); " + self._rerun())
        with open(meta_path, encoding="utf-8") as f:
            self.meta: dict[str, Any] = json.load(f)
        scp = os.path.join(self.dump_dir, "feats.scp")
        if not os.path.isfile(scp):
            raise FeatureCacheError(f"{scp} is missing; " + self._rerun())
        self._scp = read_kv(scp)
        self._frames = read_kv(os.path.join(self.dump_dir, "utt2num_frames"))
        self._split = np.cumsum(self.meta["dims"])[:-1].tolist()
        if upstream is not None:
            self.check(upstream, upstream_ckpt, upstream_options)

    def _rerun(self) -> str:
        return _RERUN.format(dir=self.dump_dir)

    @property
    def layers(self) -> list[int]:
        """Upstream layer index of each cached hidden state."""
        return list(self.meta["layers"])

    @property
    def dims(self) -> list[int]:
        return list(self.meta["dims"])

    def check(self, upstream: str, upstream_ckpt: str | None = None,
              upstream_options: dict[str, Any] | None = None) -> None:
        """Raise unless the cache was extracted with this upstream, checkpoint and options."""
        wanted = {"upstream": upstream, "upstream_ckpt": upstream_ckpt, "upstream_options": upstream_options or {}}
        have = {"upstream": self.meta.get("upstream"), "upstream_ckpt": self.meta.get("upstream_ckpt"),
                "upstream_options": self.meta.get("upstream_options") or {}}
        if have["upstream_ckpt"] and upstream_ckpt:
            have["upstream_ckpt"] = os.path.abspath(have["upstream_ckpt"])
            wanted["upstream_ckpt"] = os.path.abspath(upstream_ckpt)
        diff = [f"{k}: cache has {have[k]!r}, asked for {wanted[k]!r}" for k in wanted if have[k] != wanted[k]]
        if diff:
            raise FeatureCacheError(f"feature cache {self.dump_dir} does not match the requested upstream ("
                                    + "; ".join(diff) + "); extract into another --out, or " + self._rerun())

    def keys(self) -> list[str]:
        return list(self._scp.keys())

    def __len__(self) -> int:
        return len(self._scp)

    def __iter__(self) -> Iterator[str]:
        return iter(self._scp)

    def __contains__(self, utt: object) -> bool:
        return utt in self._scp

    def num_frames(self, utt: str) -> int:
        """Frames of ``utt`` without reading its features (for length-sorted batching)."""
        self._require(utt)
        return int(self._frames[utt])

    def _require(self, utt: str) -> None:
        if utt not in self._scp:
            raise FeatureCacheError(f"utterance '{utt}' is not in the feature cache {self.dump_dir} "
                                    f"({len(self._scp)} utterances; the data dir changed after extraction?); "
                                    + self._rerun())

    def load(self, utt: str) -> list[torch.Tensor]:
        """Float32 ``[T, D_l]`` tensors, one per cached layer, in ``layers`` order."""
        self._require(utt)
        try:
            array = kaldiio.load_mat(self._scp[utt])
        except (OSError, ValueError, EOFError) as e:
            raise FeatureCacheError(f"cannot read '{utt}' from {self._scp[utt]} ({type(e).__name__}: {e}); "
                                    f"the ark was moved, truncated or deleted: " + self._rerun()) from None
        if array.ndim != 2 or array.shape[1] != sum(self.meta["dims"]):
            raise FeatureCacheError(f"'{utt}' in {self.dump_dir} has shape {array.shape}, expected "
                                    f"[T, {sum(self.meta['dims'])}] from meta.json; " + self._rerun())
        full = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
        return list(torch.tensor_split(full, self._split, dim=1))
