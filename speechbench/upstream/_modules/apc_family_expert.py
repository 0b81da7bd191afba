"""Configs, official checkpoint loading and the shared expert of ``apc``, ``vq_apc`` and ``npc``.

A released file is ``{'config': {...}, 'model': state_dict}`` (extra top-level entries,
such as an optimizer state, are ignored). ``config['model']['paras']`` are the network's
constructor arguments and ``config['data']['audio']`` the fbank front end. Our pretraining
writes the same layout, so one loader serves both.
"""
from __future__ import annotations

import copy
import os

import torch
import yaml
from torch import nn

from speechbench.checkpoints.safe_load import CheckpointError, check_state_dict, load_checkpoint
from speechbench.errors import ConfigError, OptionError
from speechbench.upstream._modules.apc_family import APC, NPC
from speechbench.upstream._modules.ckpt_family import guess_family, guess_family_of_file, use_instead
from speechbench.upstream._modules.kaldi_fbank import KaldiFbank
from speechbench.upstream.base import UpstreamBase, upstream_output

DISPLAY = {"apc": "APC", "vq_apc": "VQ-APC", "npc": "NPC"}

_AUDIO = {"feat_type": "fbank", "feat_dim": 80, "frame_length": 25, "frame_shift": 10,
          "decode_wav": False, "cmvn": True}
_APC_PARAS = {"num_layers": 3, "hidden_size": 512, "dropout": 0.1, "residual": True}

# The architectures of the released checkpoints (apc_360hr, vq_apc_360hr, npc_360hr).
RELEASED_CONFIGS: dict[str, dict] = {
    "apc": {"data": {"audio": _AUDIO}, "model": {"paras": _APC_PARAS},
            "task": {"sequence_length": 1500, "n_future": 5}},
    "vq_apc": {"data": {"audio": _AUDIO},
               "model": {"paras": {**_APC_PARAS, "vq": {"codebook_size": [512], "code_dim": [512],
                                                        "gumbel_temperature": 0.5}}},
               "task": {"sequence_length": 1500, "n_future": 5}},
    "npc": {"data": {"audio": _AUDIO},
            "model": {"paras": {"kernel_size": 15, "mask_size": 5, "n_blocks": 4, "hidden_size": 512,
                                "dropout": 0.1, "residual": True, "batch_norm": True, "activate": "relu",
                                "disable_cross_layer": False,
                                "vq": {"codebook_size": [64] * 4, "code_dim": [128] * 4,
                                       "gumbel_temperature": 1.0}}},
            "task": {"sequence_length": 1500}},
}

_PARAS = {
    "apc": {"num_layers", "hidden_size", "dropout", "residual", "vq", "prenet"},
    "npc": {"hidden_size", "n_blocks", "dropout", "residual", "kernel_size", "mask_size", "vq",
            "batch_norm", "activate", "disable_cross_layer", "dim_bottleneck"},
}
_PARAS["vq_apc"] = _PARAS["apc"]

# Structural options each expert accepts when built without a checkpoint.
SMALL_OPTIONS = {"apc": ("num_layers", "hidden_size"),
                 "vq_apc": ("num_layers", "hidden_size", "codebook_size"),
                 "npc": ("n_blocks", "hidden_size", "kernel_size", "mask_size")}


def check_config(family: str, config: object, where: str) -> dict:
    """Validate an official-layout config for ``family``; return its ``paras``."""
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: the config must be a dict with 'model' and 'data' sections")
    try:
        paras = config["model"]["paras"]
        audio = config["data"]["audio"]
    except (KeyError, TypeError):
        raise ConfigError(f"{where}: missing config['model']['paras'] or config['data']['audio'] "
                         f"(the layout of the released {DISPLAY[family]} checkpoints)") from None
    if not isinstance(paras, dict) or not isinstance(audio, dict):
        raise ConfigError(f"{where}: config['model']['paras'] and config['data']['audio'] must be dicts")
    unknown = sorted(set(paras) - _PARAS[family])
    if unknown:
        other = [f for f in DISPLAY if f != family and not set(paras) - _PARAS[f]]
        hint = f" (these are {DISPLAY[other[0]]} settings: use the '{other[0]}' upstream)" if other else ""
        raise ConfigError(f"{where}: unknown {DISPLAY[family]} setting(s) {', '.join(unknown)}{hint}; "
                         f"valid: {', '.join(sorted(_PARAS[family]))}")
    has_vq = paras.get("vq") is not None
    if family == "apc" and has_vq:
        raise ConfigError(f"{where}: this config has a 'vq' section, i.e. it is VQ-APC: use the 'vq_apc' upstream")
    if family == "vq_apc" and not has_vq:
        raise ConfigError(f"{where}: a VQ-APC config needs model.paras.vq (codebook_size, code_dim, "
                         f"gumbel_temperature); without it this is plain APC: use the 'apc' upstream")
    return paras


def build_network(family: str, config: dict, where: str = "config") -> tuple[KaldiFbank, nn.Module]:
    """Front end and network for an official-layout config (random weights from torch's RNG)."""
    paras = check_config(family, config, where)
    fbank = KaldiFbank(config["data"]["audio"], where=f"{where}: data.audio")
    try:
        if family == "npc":
            net = NPC(fbank.feat_dim, **paras)
        else:
            net = APC(fbank.feat_dim, **paras)
    except (TypeError, KeyError) as err:
        raise ConfigError(f"{where}: model.paras do not describe a {DISPLAY[family]} network ({err})") from None
    return fbank, net


def _to_int(name: str, value: object) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"option {name} must be an integer, got {value!r}") from None


def read_config_file(path: str | os.PathLike) -> dict:
    """A YAML holding an official-layout config, or a pretraining config whose ``objective:`` is one."""
    if not os.path.isfile(path):
        raise ConfigError(f"config file not found: {path} (give a YAML with data.audio and model.paras, "
                         f"e.g. speechbench/pretrain/conf/apc.yaml)")
    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    if isinstance(config, dict) and "objective" in config:
        config = config["objective"]
    return config


def resolve_config(family: str, config: str | os.PathLike | dict | None, options: dict) -> dict:
    """The config of a model built without a checkpoint: released (or ``config``) plus small options."""
    allowed = SMALL_OPTIONS[family]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise OptionError(f"{family} upstream: unknown option(s) {', '.join(unknown)}; "
                        f"known: config, {', '.join(allowed)}")
    if config is None:
        cfg = copy.deepcopy(RELEASED_CONFIGS[family])
    elif isinstance(config, dict):
        cfg = copy.deepcopy(config)
    else:
        cfg = read_config_file(config)
    paras = check_config(family, cfg, os.fspath(config) if isinstance(config, (str, os.PathLike)) else "config")
    values = {k: _to_int(k, v) for k, v in options.items()}
    paras.update({k: v for k, v in values.items() if k != "codebook_size"})
    vq = paras.get("vq")
    if vq is not None and ("hidden_size" in values or "codebook_size" in values):
        groups = len(vq["code_dim"])
        if paras["hidden_size"] % groups:
            raise ConfigError(f"option hidden_size={paras['hidden_size']} must be divisible by the "
                             f"{groups} VQ groups")
        vq["code_dim"] = [paras["hidden_size"] // groups] * groups
        if "codebook_size" in values:
            vq["codebook_size"] = [values["codebook_size"]] * groups
    return cfg


def load_official(family: str, path: str | os.PathLike) -> tuple[dict, dict]:
    """Read a released (or our pretrained) checkpoint; return ``(config, state_dict)``.

    Errors name the file, what is wrong and, when the file matches another upstream's
    layout, which upstream to use instead.
    """
    path = os.fspath(path)
    layout = f"{DISPLAY[family]} checkpoint"
    try:
        obj = load_checkpoint(path, layout=layout)
    except CheckpointError as err:
        guessed = guess_family_of_file(path)
        if guessed and guessed != family:
            raise CheckpointError(f"{err}\n{path} looks like a {guessed} checkpoint: load it with "
                                  f"{use_instead(guessed)}") from None
        raise
    guessed = guess_family(obj)
    if guessed and guessed != family:
        raise CheckpointError(f"{path} looks like a {guessed} checkpoint, not {DISPLAY[family]}: "
                              f"load it with {use_instead(guessed)}")
    if not isinstance(obj, dict) or not {"config", "model"} <= set(obj):
        top = sorted(map(str, obj)) if isinstance(obj, dict) else type(obj).__name__
        raise CheckpointError(f"{path} is not a {layout}: expected a dict with 'config' and 'model' "
                              f"(found {top})")
    try:
        check_config(family, obj["config"], f"{path} config")
    except ValueError as err:
        raise CheckpointError(str(err)) from None
    state = obj["model"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: 'model' must be a state_dict of tensors")
    return obj["config"], state


class APCFamilyExpert(UpstreamBase):
    """Shared body of the ``apc``, ``vq_apc`` and ``npc`` experts (subclasses set ``family``)."""

    family: str = ""

    def __init__(self, ckpt: str | None = None, config: str | dict | None = None, **options: object) -> None:
        super().__init__()
        name = self.family
        state = None
        if ckpt:
            if config is not None or options:
                given = ["config"] * (config is not None) + sorted(options)
                raise OptionError(f"{name} upstream: option(s) {', '.join(given)} only apply without a "
                                f"checkpoint; the architecture comes from {ckpt}")
            self.config, state = load_official(name, ckpt)
        else:
            self.config = resolve_config(name, config, options)
        where = ckpt or "config"
        try:
            self.fbank, self.model = build_network(name, self.config, where)
        except ValueError as err:
            if ckpt:
                raise CheckpointError(str(err)) from None
            raise
        if state is not None:
            looks = guess_family({"model": state})
            kind = f"its weights look like {looks}" if looks else "its weights match no upstream we know"
            check_state_dict(self.model, state, f"{DISPLAY[name]} checkpoint {ckpt} ({kind})")
        self.downsample_rate = self.fbank.hop_samples

    def forward(self, wavs: list[torch.Tensor]) -> dict:
        feats, lengths = self.fbank(wavs)
        return upstream_output(self.model(feats, lengths), lengths)

    def checkpoint(self) -> dict:
        """This model in the official layout (what ``-k`` loads)."""
        return official_checkpoint(self.config, self.model)


def official_checkpoint(config: dict, model: nn.Module) -> dict:
    """``{'config': config, 'model': state_dict}`` with CPU tensors, as the released files hold."""
    return {"config": copy.deepcopy(config),
            "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
