"""Speaker diarization (SUPERB SD, Libri2Mix): frame-level speaker activities with a PIT loss, DER.

Data dir files beyond ``wav.scp`` (one line per recording, no ``segments``): ``rttm``, the
reference speaker turns (file id = recording); see
:mod:`speechbench.downstream.sd.dataset` and ``speechbench.corpora.librimix``. Each
upstream frame (``upstream_rate`` samples) is labelled with the speakers active at its
centre; a recording's speakers are taken in sorted order, which does not matter: the loss
is permutation invariant.

Head (SUPERB, s3prl ``downstream/diarization``): ``modelrc.rnn_layers`` LSTM layers of
``hidden_size`` (s3prl: one unidirectional layer of 512; ``bidirectional`` optional, 0 layers:
linear) -> ``Linear(datarc.num_speakers)``; permutation-invariant BCE (EEND); training on
chunks of ``datarc.chunk_seconds``, evaluation on whole recordings.

Decoding (EEND/s3prl ``make_rttm.py``): sigmoid > ``decoderc.threshold``, a median filter of
``decoderc.median`` frames, runs of active frames as turns. Metrics (NIST DER with
overlap scored, ``decoderc.collar`` seconds each side of reference boundaries, 0 as in
SUPERB's ``score.sh``; :mod:`speechbench.metrics.diarization`): ``der`` and its parts
``miss``, ``false_alarm``, ``confusion`` (fractions of the reference speech); the best
checkpoint has the lowest dev DER (s3prl keeps the best dev frame accuracy). The test split
also reports ``der_best``, the lowest DER over ``score.sh``'s grid (thresholds 0.3-0.7 x
median 1 and 11), which is the number SUPERB reports, and writes ``scoring/``: the reference
``ref.rttm``, one ``hyp_th<t>_med<m>.rttm`` per grid point, ``sweep.tsv`` and ``der.txt``
(the configured decoding), with ``test_predictions.rttm`` a copy of the configured hypothesis.
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import torch
from torch import nn

from speechbench.config_sections import SPLITS, expert_sections
from speechbench.contracts import SAMPLE_RATE
from speechbench.data.loader import make_dataloader
from speechbench.downstream._modules.pooling import pad_features
from speechbench.downstream._modules.speaker_data import crop_features
from speechbench.downstream.sd.dataset import DiarizationDataset, TurnSpan
from speechbench.downstream.sd.model import DiarizationHead, pit_bce
from speechbench.metrics.diarization import (DiarizationError, activity_to_turns, diarization_error, write_der_report,
                                             write_rttm)
from speechbench.errors import ConfigError
from speechbench.utils_io import atomic_open

DATARC = {"train": "data/train", "dev": "data/dev", "test": "data/test", "num_speakers": 2, "chunk_seconds": 20.0,
          "batch_size": 8, "num_workers": 0, "seed": 0}
MODELRC = {"rnn_layers": 1, "hidden_size": 512, "bidirectional": False}
DECODERC = {"threshold": 0.5, "median": 11, "collar": 0.0, "sweep_thresholds": [0.3, 0.4, 0.5, 0.6, 0.7],
            "sweep_medians": [1, 11]}


def frame_labels(spans: list[TurnSpan], num_frames: int, num_speakers: int, upstream_rate: int) -> torch.Tensor:
    """``[frames, speakers]`` 0/1: speaker ``k`` active at the centre of each upstream frame."""
    centres = (torch.arange(num_frames, dtype=torch.float64) * upstream_rate + upstream_rate / 2) / SAMPLE_RATE
    labels = torch.zeros(num_frames, num_speakers)
    for k, start, end in spans:
        labels[(centres > start) & (centres < end), k] = 1.0
    return labels


class DownstreamExpert(nn.Module):
    METRIC = ("der", "min")
    OTHER_METRICS = {"miss": "min", "false_alarm": "min", "confusion": "min", "der_best": "min"}

    def __init__(self, upstream_dim: int, downstream_expert: dict, expdir: str, upstream_rate: int = 160,
                 **kwargs: object) -> None:
        super().__init__()
        rc = expert_sections(downstream_expert, {"datarc": DATARC, "modelrc": MODELRC, "decoderc": DECODERC}, "sd")
        self.datarc, modelrc, self.decoderc = rc["datarc"], rc["modelrc"], rc["decoderc"]
        d = self.decoderc
        if d["median"] < 1 or d["median"] % 2 == 0 or any(m < 1 or m % 2 == 0 for m in d["sweep_medians"]):
            raise ConfigError(f"sd decoderc: median filter lengths must be odd frame counts >= 1, got "
                              f"{d['median']} and {d['sweep_medians']}")
        if d["collar"] < 0:
            raise ConfigError(f"sd decoderc.collar must be >= 0 seconds, got {d['collar']}")
        self.expdir, self.upstream_rate = expdir, upstream_rate
        self.num_speakers = int(self.datarc["num_speakers"])
        self.datasets: dict[str, DiarizationDataset] = {}
        for split in SPLITS[:2]:  # a bad train/dev dir fails now, not after training
            self._dataset(split)
        self.head = DiarizationHead(upstream_dim, self.num_speakers, **modelrc)

    def _dataset(self, split: str) -> DiarizationDataset:
        if split not in self.datasets:
            chunk = self.datarc["chunk_seconds"] if split == "train" else None
            self.datasets[split] = DiarizationDataset(self.datarc[split], self.num_speakers, chunk)
        return self.datasets[split]

    def get_dataloader(self, split: str):
        ds = self._dataset(split)
        return make_dataloader(ds, ds.lengths(), self.datarc["batch_size"], train=split == "train",
                               seed=self.datarc["seed"], num_workers=self.datarc["num_workers"])

    def forward(self, split: str, features: list[torch.Tensor], utt_ids: list[str], spans: list[list[TurnSpan]],
                windows: list, records: dict) -> torch.Tensor:
        features = crop_features(features, windows, self.upstream_rate)
        padded, mask = pad_features(features)
        lengths = mask.sum(1)
        labels = torch.nn.utils.rnn.pad_sequence(
            [frame_labels(s, len(f), self.num_speakers, self.upstream_rate) for s, f in zip(spans, features)],
            batch_first=True).to(padded.device)
        logits = self.head(padded, lengths)
        loss = pit_bce(logits.float(), labels, mask)
        records.setdefault("loss", []).append(loss.item())
        if split != "train":
            probs = torch.sigmoid(logits.float()).cpu().numpy()
            records.setdefault("probs", []).extend((u, p[:n]) for u, p, n in zip(utt_ids, probs, lengths.tolist()))
        return loss

    def _hypothesis(self, probs: list[tuple[str, np.ndarray]], threshold: float, median: int) -> dict:
        seconds = self.upstream_rate / SAMPLE_RATE
        return {rec: activity_to_turns(p, rec, seconds, threshold, median) for rec, p in probs}

    def log_records(self, split: str, records: dict, logger, global_step: int, **kwargs: object) -> None:
        logger.add_scalar(f"{split}-loss", float(np.mean(records["loss"])), global_step)
        if split == "train":
            return
        d = self.decoderc
        reference = self._dataset(split).reference()
        hypothesis = self._hypothesis(records["probs"], d["threshold"], d["median"])
        result = diarization_error(reference, hypothesis, d["collar"])
        total = result.total
        for name, value in (("der", result.der), ("miss", result.miss / total),
                            ("false_alarm", result.false_alarm / total), ("confusion", result.confusion / total)):
            logger.add_scalar(f"{split}-{name}", value, global_step)
        if split == "test":
            logger.add_scalar(f"{split}-der_best", self._score_grid(records["probs"], reference, hypothesis, result),
                              global_step)

    def _score_grid(self, probs: list, reference: dict, configured: dict, result: DiarizationError) -> float:
        """Write ``scoring/`` (see the module docstring); the lowest DER over the grid."""
        d = self.decoderc
        out = os.path.join(self.expdir, "scoring")
        os.makedirs(out, exist_ok=True)
        write_rttm(os.path.join(out, "ref.rttm"), [t for turns in reference.values() for t in turns])
        rows = []
        for median in d["sweep_medians"]:
            for threshold in d["sweep_thresholds"]:
                hyp = self._hypothesis(probs, threshold, median)
                write_rttm(os.path.join(out, f"hyp_th{threshold}_med{median}.rttm"), [t for v in hyp.values() for t in v])
                rows.append((threshold, median, diarization_error(reference, hyp, d["collar"]).der))
        with atomic_open(os.path.join(out, "sweep.tsv"), "w", encoding="utf-8") as f:
            f.write("threshold\tmedian\tder\n")
            f.writelines(f"{t}\t{m}\t{der:.6f}\n" for t, m, der in rows)
        write_der_report(os.path.join(out, "der.txt"), result, d["collar"])
        configured_rttm = os.path.join(out, "hyp_configured.rttm")
        write_rttm(configured_rttm, [t for v in configured.values() for t in v])
        shutil.copyfile(configured_rttm, os.path.join(self.expdir, "test_predictions.rttm"))
        return min(der for _, _, der in rows)
