"""The spoken-QA probe: a question-text encoder attending over passage frames, span logits per frame.

The question GRU runs on packed sequences, softmaxes are masked and padded passage frames are
zeroed before every convolution (as a lone utterance's zero padding), so an utterance's logits do
not depend on what it is batched with. The passage side is convolutional: a BiGRU over thousands
of frames is too slow for a probe on CPU.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PAD, UNK = 0, 1


def _packed_gru(gru: nn.GRU, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = gru(packed)
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]


class SpanHead(nn.Module):
    """Question words -> BiGRU states; each passage frame attends over them (masked dot product);
    the frame, its attended question vector and their product are fused by a Linear, then residual
    dilated convolutions (kernel 3, dilations 1, 2, 4, ...) give every frame context and a Linear
    gives (start, end) logits per frame."""

    def __init__(self, upstream_dim: int, vocab_size: int, hidden_size: int, dropout: float,
                 conv_layers: int = 5) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, hidden_size, padding_idx=PAD)
        self.question_rnn = nn.GRU(hidden_size, hidden_size // 2, batch_first=True, bidirectional=True)
        self.frames = nn.Sequential(nn.Linear(upstream_dim, hidden_size), nn.ReLU(), nn.Dropout(dropout))
        self.fuse = nn.Sequential(nn.Linear(3 * hidden_size, hidden_size), nn.ReLU())
        self.convs = nn.ModuleList(nn.Conv1d(hidden_size, hidden_size, 3, padding=2 ** i, dilation=2 ** i)
                                   for i in range(conv_layers))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, 2)

    def forward(self, frames: torch.Tensor, frame_mask: torch.Tensor, words: torch.Tensor,
                word_mask: torch.Tensor) -> torch.Tensor:
        """``[B, T, D]`` frames, ``[B, T]`` mask, ``[B, W]`` word ids, ``[B, W]`` mask -> ``[B, T, 2]`` logits
        (padded frames at -inf)."""
        q = _packed_gru(self.question_rnn, self.embed(words), word_mask.sum(1))
        h = self.frames(frames)
        attention = torch.einsum("btd,bwd->btw", h, q) / h.shape[-1] ** 0.5
        attention = attention.masked_fill(~word_mask[:, None, :], float("-inf")).softmax(-1)
        attended = torch.einsum("btw,bwd->btd", attention, q)
        keep = frame_mask[:, None, :].to(h.dtype)
        x = self.fuse(torch.cat([h, attended, h * attended], dim=-1)).transpose(1, 2)
        for conv in self.convs:
            x = x + torch.relu(conv(self.dropout(x) * keep))
        logits = self.out(x.transpose(1, 2))
        return logits.masked_fill(~frame_mask[..., None], float("-inf"))


def best_spans(start_logits: torch.Tensor, end_logits: torch.Tensor, max_frames: int) -> list[tuple[int, int]]:
    """Per utterance, the (start, end) frames (end inclusive) maximising start + end logit with
    start <= end < start + max_frames; one vectorised pass per span length."""
    batch, frames = start_logits.shape
    best = torch.full((batch,), float("-inf"), device=start_logits.device)
    best_start = torch.zeros(batch, dtype=torch.long, device=start_logits.device)
    best_len = torch.zeros(batch, dtype=torch.long, device=start_logits.device)
    for k in range(min(max_frames, frames)):
        score = start_logits[:, : frames - k] + end_logits[:, k:]
        value, start = score.max(dim=1)
        better = value > best
        best = torch.where(better, value, best)
        best_start = torch.where(better, start, best_start)
        best_len = torch.where(better, torch.full_like(best_len, k), best_len)
    return [(s, s + k) for s, k in zip(best_start.tolist(), best_len.tolist())]
