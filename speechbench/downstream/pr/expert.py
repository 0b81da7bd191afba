"""Phoneme recognition (SUPERB PR): a light head with CTC over phones, scored by PER.

Data dir files beyond ``wav.scp``: ``text.phn`` (``utt phone phone ...``, the phone
transcript; LibriSpeech's come from a lexicon, see ``speechbench.corpora.librispeech``).
The unit table ``datarc.tokens`` (``symbol id`` lines, ``<blank> 0`` first) is built from
the training ``text.phn`` in the data stage
(``python -m speechbench.downstream._modules.units --unit token``); a dev/test phone
missing from it is one error naming the phones.

Head (SUPERB): Linear(D -> ``modelrc.project_dim`` 256) -> Linear(vocab). Optional small
BiLSTM between them (``modelrc.lstm_layers`` > 0, ``lstm_size`` units per direction).
Decoding: greedy, or the CTC prefix beam search (``decoderc.type: beam``). Metric: PER =
(S + D + I) / reference phones over the split; the best checkpoint has the lowest dev PER.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from speechbench.downstream._modules.ctc_task import CTCExpert

DATARC = {"train": "data/train", "dev": "data/dev", "test": "data/test", "tokens": "data/lang_phone/tokens.txt",
          "batch_size": 16, "num_workers": 0, "seed": 0}
MODELRC = {"project_dim": 256, "lstm_layers": 0, "lstm_size": 256, "dropout": 0.0}


class PhoneHead(nn.Module):
    """Projection, optional BiLSTM (packed: padding never reaches it), output layer."""

    def __init__(self, input_dim: int, vocab_size: int, project_dim: int, lstm_layers: int, lstm_size: int,
                 dropout: float) -> None:
        super().__init__()
        self.project = nn.Linear(input_dim, project_dim)
        self.lstm = nn.LSTM(project_dim, lstm_size, num_layers=lstm_layers, bidirectional=True, batch_first=True,
                            dropout=dropout if lstm_layers > 1 else 0.0) if lstm_layers else None
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(2 * lstm_size if lstm_layers else project_dim, vocab_size)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.project(x)
        if self.lstm is not None:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            x, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=x.shape[1])
        return self.output(self.dropout(x)), lengths


class DownstreamExpert(CTCExpert):
    TASK = "pr"
    TRANSCRIPT = "text.phn"
    METRICS = (("per", "phone"),)
    DATARC = DATARC
    SECTIONS = {"modelrc": MODELRC}

    def __init__(self, upstream_dim: int, downstream_expert: dict, expdir: str, **kwargs: object) -> None:
        super().__init__(downstream_expert, expdir)
        m = self.rc["modelrc"]
        self.head = PhoneHead(upstream_dim, self.vocab_size, m["project_dim"], m["lstm_layers"], m["lstm_size"],
                              m["dropout"])
