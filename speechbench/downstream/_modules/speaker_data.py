"""Speaker-labelled utterances with reproducible random training crops (speaker ID, ASV).

SUPERB trains speaker heads on random fixed-length crops. A crop is drawn from
``np.random.default_rng([seed, epoch, index])``, so it depends on nothing but the
utterance, the epoch (set by the runner through :meth:`SpeakerDataset.set_epoch`) and the
seed: a resumed run, a run with DataLoader workers and a run on cached features all see the
same crops. With audio the waveform is cut; with cached features (``load_audio`` False) the
item carries the crop window in samples and the expert cuts the feature frames with
:func:`crop_features`.
"""
from __future__ import annotations

import numpy as np
import torch

from speechbench.contracts import SAMPLE_RATE
from speechbench.data.dataset import UtteranceDataset
from speechbench.data.kaldi_dir import DataDirError

UNKNOWN_SPEAKER = -1

Crop = tuple[int, int] | None  # (start sample, number of samples), or None: the whole utterance


def speaker_table(data_dir: str, utt2spk: dict[str, str]) -> list[str]:
    """The sorted speakers of a training dir: class index i is ``table[i]``."""
    speakers = sorted(set(utt2spk.values()))
    if len(speakers) < 2:
        raise DataDirError(f"{data_dir}/utt2spk: {len(speakers)} speaker(s); a speaker classifier needs at least 2")
    return speakers


class SpeakerDataset(UtteranceDataset):
    """Items ``(utt, wav | None, speaker_index, crop)``.

    ``speakers`` is the training speaker table; with ``strict`` every utterance's speaker
    must be in it (speaker ID dev/test), otherwise unseen or unknown speakers get index -1
    (ASV dev/test speakers, disjoint from training by design; their utt2spk is optional).
    ``max_seconds`` (training only) enables random crops; ``min_seconds`` drops shorter
    utterances (SUPERB ASV drops < 2 s).
    """

    def __init__(self, data_dir: str, speakers: list[str] | None = None, strict: bool = True,
                 max_seconds: float | None = None, min_seconds: float = 0.0, seed: int = 0) -> None:
        self.require = ("utt2spk",) if speakers is None or strict else ()
        super().__init__(data_dir)
        self.utt2spk = self.data.file("utt2spk") if self.require or self.data.has("utt2spk") else {}
        self.speakers = speakers if speakers is not None else speaker_table(data_dir, self.utt2spk)
        self.index = {s: i for i, s in enumerate(self.speakers)}
        if strict:
            unseen = sorted({self.utt2spk[u] for u in self.utts} - set(self.index))
            if unseen:
                example = next(u for u in self.utts if self.utt2spk[u] == unseen[0])
                raise DataDirError(
                    f"{data_dir}/utt2spk: {len(unseen)} speaker(s) not among the {len(self.speakers)} training "
                    f"speakers (e.g. '{unseen[0]}' of utterance '{example}'); speaker ID needs the same speakers "
                    f"in train, dev and test")
        self.durations = self._durations()
        if min_seconds > 0:
            keep = [i for i, d in enumerate(self.durations) if d >= min_seconds]
            if not keep:
                raise DataDirError(f"{data_dir}: every utterance is shorter than min_train_seconds={min_seconds}; "
                                   f"lower it")
            self.utts = [self.utts[i] for i in keep]
            self.durations = [self.durations[i] for i in keep]
        self.max_seconds = max_seconds
        self.seed = seed
        self.epoch = 0

    def _durations(self) -> list[float]:
        if not self.data.has("utt2dur"):
            return [self.reader.duration(u) for u in self.utts]
        utt2dur = self.data.file("utt2dur")
        try:
            return [float(utt2dur[u]) for u in self.utts]
        except KeyError as missing:
            raise DataDirError(f"{self.data.path}/utt2dur: no duration for {missing}; run "
                               f"`python -m speechbench.data.validate {self.data.path} --fix`") from None

    def lengths(self) -> list[float]:
        """Seconds each item lasts after cropping (for length bucketing)."""
        if self.max_seconds is None:
            return list(self.durations)
        return [min(d, self.max_seconds) for d in self.durations]

    def set_epoch(self, epoch: int) -> None:
        """Called by the runner before each training epoch: new crops per epoch."""
        self.epoch = epoch

    def crop(self, index: int) -> Crop:
        """The crop of item ``index`` in the current epoch (None: shorter than ``max_seconds``)."""
        if self.max_seconds is None:
            return None
        total = int(round(self.durations[index] * SAMPLE_RATE))
        size = int(round(self.max_seconds * SAMPLE_RATE))
        if total <= size:
            return None
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return int(rng.integers(0, total - size + 1)), size

    def labels(self, utt: str) -> tuple:
        return (self.index.get(self.utt2spk.get(utt, ""), UNKNOWN_SPEAKER),)

    def __getitem__(self, index: int) -> tuple:
        utt = self.utts[index]
        window = self.crop(index)
        wav = None
        if self.load_audio:
            wav = self.reader[utt]
            if window is not None:
                wav = wav[window[0]:window[0] + window[1]]
                window = None  # already applied
        return (utt, wav, *self.labels(utt), window)


def crop_features(features: list[torch.Tensor], crops: list[Crop], upstream_rate: int) -> list[torch.Tensor]:
    """Cut cached feature sequences to their crop windows (frames = samples / upstream_rate)."""
    out = []
    for feat, window in zip(features, crops):
        if window is not None:
            start = window[0] // upstream_rate
            size = max(1, window[1] // upstream_rate)
            feat = feat[start:start + size]
        out.append(feat)
    return out
