"""wav2vec (Schneider et al., 2019) from the authors' fairseq checkpoint (``wav2vec_large.pt``).

``-k`` takes the fairseq file of any era (argparse ``args``, hydra ``cfg``, or the converted
``{task_cfg, model_cfg, model_weight}`` form); nothing in it is imported or run. Without ``-k``
the large recipe is built with random weights (for smoke tests only).

Hidden states (13 for the large recipe): ``z`` (feature extractor output, after the log
compression), the input of aggregator convs 1..N-1, and the aggregator output ``c``; 10 ms
frames, ``T = 1 + (L - 465) // 160`` for the large recipe. GroupNorm statistics are taken over
each utterance's own frames, so batching never changes features; fairseq's batched output
normalises over padded time instead, and equals ours for an utterance run alone.

Options: none.
"""
from __future__ import annotations

import torch

from speechbench.checkpoints import CheckpointError
from speechbench.checkpoints.safe_load import check_state_dict
from speechbench.contracts import SAMPLE_RATE
from speechbench.errors import InputTooShortError, OptionError
from speechbench.upstream._modules.conv_spec import ConvSpecError
from speechbench.upstream._modules.fairseq_checkpoint import read_fairseq_checkpoint
from speechbench.upstream._modules.wav2vec1 import ConfigError, Wav2VecConfig, Wav2VecModel
from speechbench.upstream.base import UpstreamBase, pad_wavs, upstream_output

LARGE_RECIPE = {
    "conv_feature_layers": "[(512, 10, 5), (512, 8, 4), (512, 4, 2), (512, 4, 2), (512, 4, 2), "
                           "(512, 1, 1), (512, 1, 1), (512, 1, 1)]",
    "conv_aggregator_layers": "[" + ", ".join(f"(512, {k}, 1)" for k in range(2, 14)) + "]",
    "skip_connections_agg": True, "residual_scale": 0.5, "log_compression": True,
}


def load_wav2vec(ckpt: str, quantised: bool, name: str) -> tuple[Wav2VecConfig, dict]:
    """Read a fairseq wav2vec/vq-wav2vec file into our config and its state_dict."""
    layout = f"{name} checkpoint (fairseq)"
    file = read_fairseq_checkpoint(ckpt, layout=layout)
    model_cfg = file.cfg["model"]
    arch = str(model_cfg.get("_name") or model_cfg.get("arch") or "wav2vec")
    if not arch.startswith("wav2vec") or arch.startswith("wav2vec2") or \
            not any(k.startswith("feature_aggregator.") for k in file.state_dict):
        raise CheckpointError(f"{ckpt}: this is a '{arch}' model, not wav2vec/vq-wav2vec (no feature_aggregator "
                              f"weights); use the upstream made for it (e.g. -u wav2vec2 or -u hubert)")
    try:
        cfg = Wav2VecConfig.from_fairseq(model_cfg)
    except (ConfigError, ConvSpecError) as err:
        raise CheckpointError(f"{ckpt}: {err}") from None
    if quantised and cfg.vq_type == "none":
        raise CheckpointError(f"{ckpt}: a wav2vec model without a quantiser (vq_type none); use -u wav2vec")
    if not quantised and cfg.vq_type != "none":
        raise CheckpointError(f"{ckpt}: a vq-wav2vec model (vq_type {cfg.vq_type}); use -u vq_wav2vec")
    return cfg, file.state_dict


class UpstreamExpert(UpstreamBase):
    downsample_rate = 160
    quantised = False
    name = "wav2vec"

    def __init__(self, ckpt: str | None = None, **unused: object) -> None:
        super().__init__()
        if unused:
            raise OptionError(f"{self.name} upstream: unknown options {sorted(unused)}; it takes none")
        if ckpt:
            cfg, state = load_wav2vec(ckpt, self.quantised, self.name)
        else:
            cfg, state = Wav2VecConfig.from_fairseq(self.random_recipe()), None
        self.model = Wav2VecModel(cfg)
        if state is not None:
            check_state_dict(self.model, state, f"{self.name} checkpoint {ckpt}")
        self.model.eval()

    def random_recipe(self) -> dict:
        """The fairseq config built when no checkpoint is given."""
        return dict(LARGE_RECIPE)

    def forward(self, wavs: list[torch.Tensor]) -> dict:
        wav, lengths = pad_wavs(wavs)
        need = self.model.min_samples()
        short = [i for i, n in enumerate(lengths.tolist()) if n < need]
        if short:
            raise InputTooShortError(f"{self.name}: utterance(s) {short} are shorter than {need} samples "
                                     f"({need / SAMPLE_RATE:.3f} s), the model's receptive field", short)
        out = self.model(wav, lengths)
        extra = {}
        if self.quantised:
            extra = {"codes": out["codes"], "codewords": out["codewords"].transpose(1, 2)}
        return upstream_output(out["hidden_states"], out["feature_lengths"], **extra)
