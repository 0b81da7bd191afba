"""What every upstream shares: padding a list of waveforms and the output contract.

The contract (documented for newcomers in ``upstream/example/expert.py``):

* ``UpstreamExpert(ckpt: str | None = None, **options)`` is an ``nn.Module``.
* ``downsample_rate`` (int): input samples per output frame (160 = 10 ms at 16 kHz).
* ``forward(wavs)`` takes a list of 1-D float tensors at 16 kHz (unpadded, any lengths)
  and returns a dict with
    - ``hidden_states``: list of ``[B, T, D]`` tensors, every layer, the same T;
    - ``last_hidden_state``: the last of them;
    - ``feature_lengths``: ``LongTensor[B]``, valid frames of each utterance.
  An utterance's features must not depend on what it is batched with.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

SAMPLE_RATE = 16000


def pad_wavs(wavs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad 1-D waveforms into ``[B, L]``; also return their lengths."""
    if not wavs:
        raise ValueError("upstream got an empty batch")
    for i, w in enumerate(wavs):
        if w.dim() != 1:
            raise ValueError(f"wav {i} has shape {tuple(w.shape)}; upstreams take 1-D mono waveforms")
    lengths = torch.tensor([len(w) for w in wavs], dtype=torch.long, device=wavs[0].device)
    return pad_sequence(wavs, batch_first=True), lengths


def frame_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """``[B, T]`` bool mask, True on valid frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def upstream_output(hidden_states: list[torch.Tensor], feature_lengths: torch.Tensor, **extra) -> dict:
    """Build the output dict of the contract, checking it on the way."""
    t = hidden_states[0].shape[1]
    for i, h in enumerate(hidden_states):
        if h.dim() != 3 or h.shape[1] != t:
            raise RuntimeError(f"hidden state {i} has shape {tuple(h.shape)}; all must be [B, {t}, D]")
    return {
        "hidden_states": hidden_states,
        "last_hidden_state": hidden_states[-1],
        "feature_lengths": feature_lengths.clamp(max=t),
        **extra,
    }


class UpstreamBase(nn.Module):
    """Optional base class: holds ``downsample_rate`` and reports hidden sizes."""

    downsample_rate: int = 160

    @torch.no_grad()
    def hidden_sizes(self) -> list[int]:
        """Dimension of each hidden state, probed on one second of silence."""
        param = next(self.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        was_training = self.training
        self.eval()
        out = self([torch.zeros(SAMPLE_RATE, device=device)])
        self.train(was_training)
        return [h.shape[-1] for h in out["hidden_states"]]
