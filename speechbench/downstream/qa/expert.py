"""Spoken question answering (Spoken-SQuAD style): find the answer's time span in a spoken passage.

Data dir files beyond ``wav.scp`` (one utterance = one question about its passage audio; several
questions may share an audio file):

* ``question``: ``utt question words`` (text; the vocabulary is built from train, other words
  map to <unk>);
* ``utt2answer``: ``utt start_sec end_sec``, the answer's time span in the passage audio
  (``end > start``, inside the audio);
* ``utt2dur`` (optional) for length bucketing.

Head (``model.py``): a word-embedding BiGRU encodes the question; every passage frame attends over
its words, then residual dilated convolutions over the passage (``conv_layers``: receptive field
2^(n+1) - 1 frames) give start/end logits per frame; CE on both. Decoding
picks the best span with start <= end, at most ``max_answer_seconds`` long. Metrics: frame-level
F1 (FF1) and audio overlap score (AOS) of the predicted time span, ``span_scores``; best checkpoint
by dev FF1.

This is a light probe of what the frames encode. SUPERB-SG's real Spoken-SQuAD (NMSQA) setting is
different: *spoken* questions, and DUAL feeds discretised HuBERT units of question and passage to a
pretrained text model (Longformer); numbers here are not comparable with DUAL's.
"""
from __future__ import annotations

import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from speechbench.config_sections import expert_sections
from speechbench.contracts import SAMPLE_RATE
from speechbench.data.dataset import UtteranceDataset
from speechbench.data.kaldi_dir import DataDirError
from speechbench.data.loader import make_dataloader
from speechbench.downstream._modules.pooling import pad_features
from speechbench.downstream.qa.model import PAD, UNK, SpanHead, best_spans
from speechbench.metrics.span import span_scores
from speechbench.utils_io import atomic_open

DATARC = {"train": "data/train", "dev": "data/dev", "test": "data/test", "batch_size": 8,
          "max_answer_seconds": 5.0, "min_word_count": 1, "num_workers": 0, "seed": 0}
MODELRC = {"hidden_size": 64, "conv_layers": 5, "dropout": 0.1}


def build_vocab(questions: dict[str, str], min_count: int) -> dict[str, int]:
    """Words seen at least ``min_count`` times in train questions -> ids (0 pad, 1 unk)."""
    counts: dict[str, int] = {}
    for text in questions.values():
        for word in text.lower().split():
            counts[word] = counts.get(word, 0) + 1
    words = sorted(w for w, c in counts.items() if c >= min_count)
    return {"<pad>": PAD, "<unk>": UNK, **{w: i + 2 for i, w in enumerate(words)}}


class QADataset(UtteranceDataset):
    """Passage audio with a text question and the answer's time span."""

    require = ("question", "utt2answer")

    def __init__(self, data_dir: str) -> None:
        super().__init__(data_dir)
        self.questions = self.data.file("question", needed_for="spoken QA questions")
        self.spans = self._read_spans(data_dir)
        self.vocab: dict[str, int] = {}

    def _read_spans(self, data_dir: str) -> dict[str, tuple[float, float]]:
        spans = {}
        for utt, value in self.data.file("utt2answer", needed_for="spoken QA answer spans").items():
            parts = value.split()
            try:
                start, end = float(parts[0]), float(parts[1])
            except (IndexError, ValueError):
                start, end = -1.0, -1.0
            if len(parts) != 2 or not 0 <= start < end:
                raise DataDirError(f"{data_dir}/utt2answer: '{utt} {value}' is not `utt start_sec end_sec` "
                                   f"with 0 <= start < end")
            spans[utt] = (start, end)
        missing = [u for u in self.utts if u not in spans or u not in self.questions]
        if missing:
            raise DataDirError(f"{data_dir}: {len(missing)} utterances lack a question or an answer span "
                               f"(e.g. {missing[:3]}); run `python -m speechbench.data.validate {data_dir} --fix`")
        if self.data.has("utt2dur"):
            durations = self.data.file("utt2dur")
            late = [u for u in self.utts if u in durations and spans[u][1] > float(durations[u]) + 0.05]
            if late:
                raise DataDirError(f"{data_dir}/utt2answer: {len(late)} answers end after their audio "
                                   f"(e.g. '{late[0]}' ends at {spans[late[0]][1]} s, audio "
                                   f"{durations[late[0]]} s): times must be seconds into the passage audio")
        return spans

    def lengths(self) -> list[float]:
        if self.data.has("utt2dur"):
            durations = self.data.file("utt2dur")
            return [float(durations[u]) for u in self.utts]
        return super().lengths()

    def labels(self, utt: str) -> tuple:
        words = [self.vocab.get(w, UNK) for w in self.questions[utt].lower().split()] or [UNK]
        return torch.tensor(words, dtype=torch.long), self.spans[utt]


class DownstreamExpert(nn.Module):
    METRIC = ("ff1", "max")
    OTHER_METRICS = {"aos": "max"}

    def __init__(self, upstream_dim: int, downstream_expert: dict, expdir: str, upstream_rate: int = 160,
                 **kwargs: object) -> None:
        super().__init__()
        rc = expert_sections(downstream_expert, {"datarc": DATARC, "modelrc": MODELRC}, "qa")
        self.datarc, modelrc = rc["datarc"], rc["modelrc"]
        self.expdir, self.upstream_rate = expdir, upstream_rate
        train = QADataset(self.datarc["train"])
        self.vocab = self._vocab(train.questions)
        train.vocab = self.vocab
        self.datasets = {"train": train}
        self.max_frames = max(1, math.ceil(self.datarc["max_answer_seconds"] * SAMPLE_RATE / upstream_rate))
        self.model = SpanHead(upstream_dim, len(self.vocab), modelrc["hidden_size"], modelrc["dropout"],
                              modelrc["conv_layers"])

    def _vocab(self, questions: dict[str, str]) -> dict[str, int]:
        """The train vocabulary, kept in ``expdir/vocab.txt`` so evaluation embeds words as training did."""
        path = os.path.join(self.expdir, "vocab.txt")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                return {word: i for i, word in enumerate(line.rstrip("\n") for line in f)}
        vocab = build_vocab(questions, self.datarc["min_word_count"])
        os.makedirs(self.expdir, exist_ok=True)
        with atomic_open(path, "w", encoding="utf-8") as f:
            f.writelines(f"{word}\n" for word in vocab)
        return vocab

    def _dataset(self, split: str) -> QADataset:
        if split not in self.datasets:
            self.datasets[split] = QADataset(self.datarc[split])
            self.datasets[split].vocab = self.vocab
        return self.datasets[split]

    def get_dataloader(self, split: str):
        ds = self._dataset(split)
        return make_dataloader(ds, ds.lengths(), self.datarc["batch_size"], train=split == "train",
                               seed=self.datarc["seed"], num_workers=self.datarc["num_workers"])

    def _frame(self, seconds: float, num_frames: int, end: bool) -> int:
        """Frame holding time ``seconds`` (an end time belongs to the frame before it)."""
        position = seconds * SAMPLE_RATE / self.upstream_rate
        index = math.ceil(position) - 1 if end else math.floor(position)
        return min(max(index, 0), num_frames - 1)

    def forward(self, split: str, features: list[torch.Tensor], utt_ids: list[str], questions: list[torch.Tensor],
                spans: list[tuple[float, float]], records: dict) -> torch.Tensor:
        padded, mask = pad_features(features)
        words = pad_sequence([q.to(padded.device) for q in questions], batch_first=True, padding_value=PAD)
        logits = self.model(padded, mask, words, words != PAD)
        start_logits, end_logits = logits[..., 0], logits[..., 1]
        starts = [self._frame(s, len(f), end=False) for f, (s, _) in zip(features, spans)]
        ends = [max(self._frame(e, len(f), end=True), b) for f, (_, e), b in zip(features, spans, starts)]
        target = torch.tensor([starts, ends], device=padded.device)
        loss = (F.cross_entropy(start_logits, target[0]) + F.cross_entropy(end_logits, target[1])) / 2
        records.setdefault("loss", []).append(loss.item())
        if split != "train":
            seconds = self.upstream_rate / SAMPLE_RATE
            for utt, (s, e), ref in zip(utt_ids, best_spans(start_logits, end_logits, self.max_frames), spans):
                records.setdefault("predictions", []).append((utt, s * seconds, (e + 1) * seconds, ref))
        return loss

    def log_records(self, split: str, records: dict, logger, global_step: int, **kwargs: object) -> None:
        logger.add_scalar(f"{split}-loss", float(np.mean(records["loss"])), global_step)
        if split == "train":
            return
        predictions = sorted(records["predictions"])
        scores = span_scores([(s, e) for _, s, e, _ in predictions], [[ref] for *_, ref in predictions])
        logger.add_scalar(f"{split}-ff1", scores.ff1, global_step)
        logger.add_scalar(f"{split}-aos", scores.aos, global_step)
        if split == "test":
            with atomic_open(os.path.join(self.expdir, "test_predictions.txt"), "w", encoding="utf-8") as f:
                f.writelines(f"{utt} {s:.3f} {e:.3f}\n" for utt, s, e, _ in predictions)
