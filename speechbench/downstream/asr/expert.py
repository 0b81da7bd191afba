"""ASR (SUPERB): BiLSTM + CTC over characters or sentencepiece units, scored by WER and CER.

Data dir files beyond ``wav.scp``: ``text`` (``utt words ...``, as they are to be scored;
LibriSpeech keeps its upper case). The unit table ``datarc.tokens`` is built from the
training ``text`` in the data stage (``python -m speechbench.downstream._modules.units``):
``datarc.unit: char`` (``|`` between words, then the characters seen in training; a dev/test
character outside it is one error naming it) or ``sentencepiece`` (``datarc.spm_model``
trained on the training text; unseen characters become ``<unk>``).

Head (SUPERB defaults): SpecAugment on the features (training only; ``specaug`` section),
Linear(D -> ``project_dim`` 1024) -> ``num_layers`` (2) BiLSTM layers of ``hidden_size``
(1024) units per direction with dropout 0.2 after each -> Linear(vocab). Padding never changes
an utterance's output (:class:`~speechbench.downstream._modules.rnn.PaddedLSTM`, which avoids
packed sequences: their CPU backward pass is many times slower). ``downsample`` k > 1 concatenates k consecutive
frames before the projection (s3prl's ``sample_style: concat``): k times fewer LSTM steps
for CPU budgets; keep k x frame shift short enough for the units (chars: <= 30 ms).

Decoding: greedy, or the CTC prefix beam search (``decoderc.type: beam``, ``beam`` 5),
optionally with a word n-gram LM (``decoderc.lm``: an ARPA file; ``lm_weight`` 2 and
``word_score`` -1 as SUPERB; see ``asr/lm.py``). Metrics: WER (first; best checkpoint by dev
WER) and CER (characters incl. word boundaries), corpus-level (S + D + I) / N; the test
split also writes sclite-style reports under ``decode_test_<type>/{word,char}/``.
"""
from __future__ import annotations

import torch
from torch import nn

from speechbench.downstream._modules.ctc_task import CTCExpert
from speechbench.downstream._modules.rnn import PaddedLSTM
from speechbench.downstream.asr.lm import ArpaLM, LMFusion
from speechbench.downstream.asr.specaug import SPECAUG, SpecAugment
from speechbench.errors import ConfigError

DATARC = {"train": "data/train", "dev": "data/dev", "test": "data/test", "unit": "char",
          "tokens": "data/lang_char/tokens.txt", "spm_model": None, "batch_size": 32, "num_workers": 0, "seed": 0}
MODELRC = {"project_dim": 1024, "hidden_size": 1024, "num_layers": 2, "dropout": 0.2, "downsample": 1}


def stack_frames(x: torch.Tensor, lengths: torch.Tensor, factor: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate each ``factor`` consecutive frames: ``[B, T, D]`` -> ``[B, ceil(T/f), f*D]``.

    The zero padding of the last group is the batch's padding, so an utterance's output does
    not depend on what it is batched with.
    """
    if factor == 1:
        return x, lengths
    batch, time, dim = x.shape
    pad = (-time) % factor
    x = torch.nn.functional.pad(x, (0, 0, 0, pad))
    return x.reshape(batch, (time + pad) // factor, factor * dim), torch.div(lengths + factor - 1, factor,
                                                                              rounding_mode="floor")


class BiLSTMHead(nn.Module):
    """Linear projection, stacked BiLSTM layers with dropout between them, output layer."""

    def __init__(self, input_dim: int, vocab_size: int, project_dim: int, hidden_size: int, num_layers: int,
                 dropout: float, downsample: int = 1) -> None:
        super().__init__()
        if downsample < 1:
            raise ConfigError(f"asr modelrc.downsample must be >= 1, got {downsample}")
        self.downsample = downsample
        self.project = nn.Linear(downsample * input_dim, project_dim)
        self.layers = nn.ModuleList(PaddedLSTM(project_dim if i == 0 else 2 * hidden_size, hidden_size,
                                               bidirectional=True) for i in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(2 * hidden_size if num_layers else project_dim, vocab_size)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, lengths = stack_frames(x, lengths, self.downsample)
        x = self.project(x)
        for lstm in self.layers:
            x = self.dropout(lstm(x, lengths))
        return self.output(x), lengths


class DownstreamExpert(CTCExpert):
    TASK = "asr"
    TRANSCRIPT = "text"
    METRICS = (("wer", "word"), ("cer", "char"))
    DATARC = DATARC
    SECTIONS = {"modelrc": MODELRC, "specaug": SPECAUG}
    WORD_LM = True

    def __init__(self, upstream_dim: int, downstream_expert: dict, expdir: str, **kwargs: object) -> None:
        super().__init__(downstream_expert, expdir)
        m = self.rc["modelrc"]
        self.specaug = SpecAugment(self.rc["specaug"])
        self.head = BiLSTMHead(upstream_dim, self.vocab_size, m["project_dim"], m["hidden_size"], m["num_layers"],
                               m["dropout"], m["downsample"])
        d = self.decoderc
        if d["lm"]:
            self.fusion = LMFusion(ArpaLM(d["lm"]), self.tokenizer.symbols, self.datarc["unit"], d["lm_weight"],
                                   d["word_score"], d["unk_score"])

    def logits(self, padded: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.specaug(padded, lengths), lengths)
