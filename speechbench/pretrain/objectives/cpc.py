"""Modified CPC pretraining (CPC_audio's unsupervised criterion, small).

The context ``c_t`` predicts the encoder frames ``z_{t+k}``, k = 1..nPredicts, through one
linear map per step (CPC_audio ``rnnMode linear``). Scores are CPC_audio's: the mean over
channels of prediction * candidate. Each positive competes with ``negativeSamplingExt``
negatives drawn from the encoder frames of the same sequence (``samplingType
samesequence``) or of the whole batch (``uniform``); InfoNCE is the cross-entropy of the
positive, averaged over steps. The loop gives random crops of similar length; each batch is
cut to its shortest crop, as CPC_audio trains on fixed windows.

The final file is the released layout ``{'config': CPC_audio fields, 'weights': CPCModel
state_dict}`` that ``-u cpc -k FILE`` loads. CPC_audio's ``samespeaker`` negatives need
speaker labels, which the shared loop does not pass; ``samesequence`` is the default here.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from speechbench.errors import ConfigError
from speechbench.pretrain.objective import PretrainObjective
from speechbench.upstream.cpc.model import CPCConfig, CPCModel

SAMPLING = ("samesequence", "uniform")


class CPCObjective(PretrainObjective):
    """CPCModel + per-step linear predictors + InfoNCE over sampled negatives."""

    def __init__(self, config: dict) -> None:
        super().__init__()
        known = {"hiddenEncoder", "hiddenGar", "arMode", "nLevelsGRU", "normMode", "nPredicts",
                 "negativeSamplingExt", "samplingType"}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ConfigError(f"cpc objective: unknown setting(s) {', '.join(unknown)}; "
                              f"valid: {', '.join(sorted(known))}")
        self.sampling = config.get("samplingType", "samesequence")
        if self.sampling not in SAMPLING:
            raise ConfigError(f"cpc objective: samplingType {self.sampling!r}; supported: {', '.join(SAMPLING)} "
                              "(samespeaker needs speaker labels the pretraining loop does not provide)")
        self.cfg = CPCConfig.from_cpc_audio(config)
        if self.cfg.ar_mode == "no_ar":
            raise ConfigError("cpc objective: arMode no_ar has no context network to train")
        self.n_predicts = int(config.get("nPredicts", 12))
        self.n_negatives = int(config.get("negativeSamplingExt", 128))
        self.model = CPCModel(self.cfg)
        self.predictors = nn.ModuleList(nn.Linear(self.cfg.hidden_gar, self.cfg.hidden_encoder)
                                        for _ in range(self.n_predicts))

    def _negatives(self, z: torch.Tensor, window: int) -> torch.Tensor:
        """``[B, N, window, D]`` encoder frames drawn from the same sequence or the batch."""
        b, t, d = z.shape
        frames = torch.randint(0, t, (b, self.n_negatives, window), device=z.device)
        if self.sampling == "uniform":
            rows = torch.randint(0, b, (b, self.n_negatives, window), device=z.device)
        else:
            rows = torch.arange(b, device=z.device).view(b, 1, 1).expand_as(frames)
        return z[rows, frames]

    def loss(self, wavs: list[torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        length = min(len(w) for w in wavs)
        wav = torch.stack([w[:length] for w in wavs])
        lengths = torch.full((len(wavs),), length, dtype=torch.long, device=wav.device)
        z, c, _ = self.model(wav, lengths)
        window = z.shape[1] - self.n_predicts
        if window < 1:
            raise ConfigError(f"cpc objective: crops of {length} samples give {z.shape[1]} frames, fewer than "
                              f"nPredicts + 1 = {self.n_predicts + 1}; raise max_seconds or lower nPredicts")
        negatives = self._negatives(z, window)
        losses, accs = [], []
        for k, predictor in enumerate(self.predictors, start=1):
            prediction = predictor(c[:, :window])                                   # B W D
            candidates = torch.cat([z[:, k:k + window].unsqueeze(1), negatives], 1)  # B 1+N W D
            scores = (prediction.unsqueeze(1) * candidates).mean(dim=3)             # B 1+N W
            scores = scores.permute(0, 2, 1).reshape(-1, scores.shape[1])
            target = torch.zeros(scores.shape[0], dtype=torch.long, device=scores.device)
            losses.append(F.cross_entropy(scores, target))
            accs.append((scores.argmax(dim=1) == 0).float().mean().item())
        return torch.stack(losses).mean(), {"acc": sum(accs) / len(accs)}

    def official_checkpoint(self) -> dict:
        config = {**self.cfg.to_cpc_audio(), "nPredicts": self.n_predicts,
                  "negativeSamplingExt": self.n_negatives, "samplingType": self.sampling, "rnnMode": "linear"}
        return {"config": config, "weights": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}}


def build_objective(config: dict) -> CPCObjective:
    """The loop's entry point: ``config`` is the ``objective:`` section of the YAML."""
    return CPCObjective(dict(config or {}))
