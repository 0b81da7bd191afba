"""Strict keys, refused globals, wrong upstream, options: one clear error each."""
from __future__ import annotations

import pytest
import torch

from speechbench.checkpoints import CheckpointError
from speechbench.registry import expert_class
from upstream_ssl import layouts


def _save(obj, path) -> str:
    with layouts.fake_optimizers_module():
        torch.save(obj, path)
    return str(path)

def test_missing_and_unexpected_keys_are_named(tmp_path):
    obj = layouts.wavlm_file("base")
    del obj["model"]["encoder.layers.1.self_attn.grep_a"]
    obj["model"]["encoder.layers.0.extra.weight"] = torch.zeros(2)
    with pytest.raises(CheckpointError, match=r"missing keys: encoder\.transformer\.layers\.1\.attention\."
                                              r"gru_rel_pos_const; unexpected keys: encoder\.layers\.0\.extra"):
        expert_class("upstream", "wavlm")(_save(obj, tmp_path / "w.pt"))
    obj = layouts.distiller_file()
    obj["Distiller"]["output_layer.2.bias"] = torch.zeros(3)
    with pytest.raises(CheckpointError, match=r"prediction heads.*shape mismatches: bias"):
        expert_class("upstream", "distilhubert")(_save(obj, tmp_path / "d.pt"))

class Evil:
    def __reduce__(self):
        return (print, ("code ran",))

def test_a_pickled_foreign_global_is_refused(tmp_path, capsys):
    for upstream, obj in (("wavlm", layouts.wavlm_file("base")), ("distilhubert", layouts.distiller_file()),
                          ("data2vec", layouts.data2vec_file("base", "hydra"))):
        obj["evil"] = Evil()
        with pytest.raises(CheckpointError, match="refusing to load.*print"):
            expert_class("upstream", upstream)(_save(obj, tmp_path / f"{upstream}.pt"))
    assert "code ran" not in capsys.readouterr().out

def test_the_wrong_upstream_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="use -u data2vec instead of -u wav2vec2"):
        expert_class("upstream", "wav2vec2")(_save(layouts.data2vec_file("base", "hydra"), tmp_path / "d.pt"))
    with pytest.raises(CheckpointError, match="use -u unispeech_sat instead of -u hubert"):
        expert_class("upstream", "hubert")(_save(layouts.unispeech_sat_file("base", "fairseq"), tmp_path / "u.pt"))
    with pytest.raises(CheckpointError, match=r"not a WavLM checkpoint: expected \{'cfg'"):
        expert_class("upstream", "wavlm")(_save(layouts.data2vec_file("base", "converted"), tmp_path / "x.pt"))
    with pytest.raises(CheckpointError, match=r"WavLM layout.*-u wavlm or -u unispeech_sat"):
        expert_class("upstream", "wav2vec2")(_save(layouts.wavlm_file("base"), tmp_path / "w.pt"))

def test_unsupported_variants_are_refused(tmp_path):
    obj = layouts.unispeech_sat_file("base", "fairseq")
    obj["cfg"]["model"]["structure_type"] = "conformer"
    with pytest.raises(CheckpointError, match="structure_type=conformer"):
        expert_class("upstream", "unispeech_sat")(_save(obj, tmp_path / "u.pt"))
    obj = layouts.distiller_file()
    obj["Config"]["distiller"]["task_emb_type"] = "add"
    with pytest.raises(CheckpointError, match="task_emb_type=add"):
        expert_class("upstream", "distilhubert")(_save(obj, tmp_path / "d.pt"))

def test_distilhubert_predictions_option(tmp_path):
    path = _save(layouts.distiller_file(), tmp_path / "d.pt")
    cls = expert_class("upstream", "distilhubert")
    wav = [layouts.wave(1.0)]
    full, student = cls(path)(wav)["hidden_states"], cls(path, predictions="false")(wav)["hidden_states"]
    assert len(full) == 6 and len(student) == 3
    assert all(torch.equal(a, b) for a, b in zip(full, student))
    with pytest.raises(TypeError, match="unknown options"):
        cls(path, layers=3)


def test_other_upstreams_name_these_files():
    from speechbench.upstream._modules.ckpt_family import guess_family
    assert guess_family(layouts.wavlm_file("large")) == "wavlm/unispeech_sat"
    assert guess_family(layouts.unispeech_sat_file("base", "fairseq")) == "unispeech_sat"
    assert guess_family(layouts.data2vec_file("base", "hydra")) == "data2vec"
    assert guess_family(layouts.distiller_file()) == "distilhubert"
