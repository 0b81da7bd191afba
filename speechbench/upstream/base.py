"""What every upstream shares: padding a list of waveforms and building the checked output.

The contract itself is in :mod:`speechbench.contracts` (for newcomers: ``upstream/example/expert.py``).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from speechbench.contracts import SAMPLE_RATE, check_upstream_output


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
    """Build the output dict of the contract, checking it on the way (lengths must fit the frames)."""
    output = {
        "hidden_states": hidden_states,
        "last_hidden_state": hidden_states[-1] if hidden_states else None,
        "feature_lengths": feature_lengths.long(),
        **extra,
    }
    check_upstream_output(output, len(feature_lengths))
    return output


class UpstreamBase(nn.Module):
    """Optional base class: declares ``downsample_rate`` (each upstream sets it) and reports hidden sizes."""

    downsample_rate: int

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
