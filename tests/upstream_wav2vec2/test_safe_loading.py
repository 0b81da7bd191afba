"""fairseq files load without running code; anything beyond their known globals is refused."""
from __future__ import annotations

import argparse
import builtins
import os
import sys
import types

import pytest
import torch

from speechbench.checkpoints import CheckpointError
from speechbench.checkpoints.safe_load import make_stub
from speechbench.upstream._modules.fairseq_checkpoint import read_fairseq_checkpoint, to_plain


class _RunsCommand:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _RunsEval:
    def __reduce__(self):
        return builtins.eval, ("print('pwned')",)


@pytest.mark.parametrize("legacy", [False, True])
def test_code_running_pickle_is_refused_by_name(tmp_path, legacy):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"args": argparse.Namespace(arch="wav2vec2"), "model": {}, "extra_state": _RunsCommand(str(marker))},
               path, _use_new_zipfile_serialization=not legacy)
    with pytest.raises(CheckpointError, match=r"refusing to load: the file pickles '(posix|os)\.system'"):
        read_fairseq_checkpoint(path)
    assert not marker.exists()
    torch.save({"cfg": {"model": {}}, "model": {"x": _RunsEval()}}, path)
    with pytest.raises(CheckpointError, match="'builtins.eval'"):
        read_fairseq_checkpoint(path)


def test_fairseq_namespace_objects_are_inert_stubs(tmp_path, monkeypatch):
    """A global under ``fairseq.`` loads as a stub: its code is never imported or called."""
    marker = tmp_path / "called"
    module = types.ModuleType("fairseq.evil_helpers")

    def write_marker(path):
        open(path, "w").close()

    write_marker.__module__, write_marker.__qualname__ = module.__name__, "write_marker"
    module.write_marker = write_marker
    monkeypatch.setitem(sys.modules, "fairseq", types.ModuleType("fairseq"))
    monkeypatch.setitem(sys.modules, module.__name__, module)

    class Payload:
        def __reduce__(self):
            return write_marker, (str(marker),)

    path = tmp_path / "stubbed.pt"
    torch.save({"cfg": {"model": {"_name": "wav2vec2"}, "task": {}}, "model": {"w": torch.ones(1)},
                "extra_state": Payload()}, path)
    ckpt = read_fairseq_checkpoint(path)
    assert not marker.exists()
    assert ckpt.era == "hydra" and ckpt.cfg["model"] == {"_name": "wav2vec2"}


def test_argparse_legacy_file(make_checkpoint):
    ckpt = read_fairseq_checkpoint(make_checkpoint("wav2vec2_base", "argparse"))
    assert ckpt.era == "argparse"
    assert ckpt.cfg["model"]["arch"] == "wav2vec2" and ckpt.cfg["task"]["normalize"] is False
    assert ckpt.cfg["model"]["latent_temp"] == "(2.0, 0.5, 0.999995)"
    assert "quantizer.vars" in ckpt.state_dict


def test_omegaconf_and_dictionary_objects_become_plain(fx, make_checkpoint):
    ckpt = read_fairseq_checkpoint(make_checkpoint("hubert_large", "hydra_omegaconf"))
    assert ckpt.era == "hydra"
    assert ckpt.cfg["model"]["extractor_mode"] == "layer_norm"  # a pickled fairseq enum member
    assert ckpt.cfg["model"]["layer_norm_first"] is True and ckpt.cfg["task"]["normalize"] is True
    assert ckpt.cfg["common"] == {"fp16": True, "seed": 1}
    assert ckpt.dictionaries_symbols == [["<s>", "<pad>", "</s>", "<unk>", "0", "1"]]


def test_to_plain_handles_nested_namespaces():
    """Fine-tuned argparse files nest the pretraining Namespace in ``w2v_args``."""
    stub = make_stub("argparse.Namespace")()
    inner = make_stub("argparse.Namespace")()
    inner.__setstate__({"b": (1, 2)})
    stub.__setstate__({"a": 1, "inner": inner, "c": None})
    assert to_plain(stub) == {"a": 1, "inner": {"b": [1, 2]}, "c": None}


def test_not_a_fairseq_file_is_explained(tmp_path):
    torch.save({"config": {}, "weights": {}}, tmp_path / "cpc.pt")
    with pytest.raises(CheckpointError, match=r"not a fairseq checkpoint.*found keys \['config', 'weights'\]"):
        read_fairseq_checkpoint(tmp_path / "cpc.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        read_fairseq_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="not found"):
        read_fairseq_checkpoint(tmp_path / "missing.pt")


def test_real_omegaconf_2_0_pickle_becomes_plain():
    """``data/omegaconf206_cfg.pt`` was written by omegaconf 2.0.6 (see make_omegaconf_cfg.py)."""
    path = os.path.join(os.path.dirname(__file__), "data", "omegaconf206_cfg.pt")
    ckpt = read_fairseq_checkpoint(path)
    assert ckpt.era == "hydra"
    assert ckpt.cfg["model"] == {
        "_name": "wav2vec2", "extractor_mode": "layer_norm", "encoder_layers": 24, "encoder_embed_dim": 1024,
        "layer_norm_first": True, "conv_bias": True, "dropout": 0.0, "latent_temp": [2.0, 0.1, 0.999995],
        "conv_feature_layers": "[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] + [(512,2,2)]"}
    assert ckpt.cfg["task"]["normalize"] is True and ckpt.cfg["common"] == {"fp16": True, "seed": 1}


def test_all_stubs_are_known_before_the_first_load(make_checkpoint, monkeypatch):
    """Globals after the weights (HuBERT's Dictionary) must not cost a second read of a big file."""
    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(a) or real_load(*a, **k))
    ckpt = read_fairseq_checkpoint(make_checkpoint("hubert_base", "hydra_omegaconf"))
    assert len(calls) == 1 and ckpt.dictionaries_symbols


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("legacy", [False, True])
def test_every_pickle_protocol_is_refused_by_name_without_torch_warning(tmp_path, protocol, legacy):
    """torch's safe unpickler cannot read protocol 4/5 at all; the refusal still names the global."""
    import warnings

    from speechbench.checkpoints import load_checkpoint
    marker, path = tmp_path / "pwned", tmp_path / "evil.pt"
    torch.save({"model": {}, "x": _RunsCommand(str(marker))}, path, pickle_protocol=protocol,
               _use_new_zipfile_serialization=not legacy)
    for load in (load_checkpoint, read_fairseq_checkpoint):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(CheckpointError, match=r"pickles '(posix|os)\.system'.*convert_checkpoint.py --trust"):
                load(path)
        assert not [w for w in caught if "pickle protocol" in str(w.message)]
    assert not marker.exists()


def test_a_harmless_protocol_4_file_says_why_it_cannot_load(tmp_path):
    from speechbench.checkpoints import load_checkpoint
    path = tmp_path / "p4.pt"
    torch.save({"w": torch.ones(2)}, path, pickle_protocol=4)
    with pytest.raises(CheckpointError, match=r"pickled with protocol 4, which the safe loader .* does not read; "
                                              r"if you trust the file, re-save it: python tools/convert_checkpoint"):
        load_checkpoint(path)


def test_scanner_reads_stack_globals_through_the_memo(tmp_path):
    """Protocol 4 names a second global of the same module through a memo reference."""
    import pickle

    from speechbench.checkpoints.pickle_scan import pickled_globals

    class ReadsCwd:
        def __reduce__(self):
            return os.getcwd, ()

    path = tmp_path / "two.pkl"
    path.write_bytes(pickle.dumps([_RunsCommand("x"), ReadsCwd()], protocol=4))
    assert [name.split(".")[1] for name in pickled_globals(path)] == ["system", "getcwd"]
