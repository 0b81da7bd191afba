"""What -k means (file, name, alias, random, nothing) and the shipped model lists."""
from __future__ import annotations

import os
import re

import pytest
import yaml

from checkpoint_hub.conftest import payload, sha256
from speechbench import registry
from speechbench.hub import HubError, resolve_weights
from speechbench.hub.catalog import has_weights, released_models, upstreams_with_models


def test_upstream_with_weights_needs_k(cache_dir):
    with pytest.raises(HubError) as err:
        resolve_weights("apc", None)
    message = str(err.value)
    assert message.startswith("-u apc needs weights: give -k NAME with NAME one of apc_360hr, apc_960hr")
    assert "`speechbench models apc`" in message and message.endswith("or -k random for random weights (smoke tests only)")


def test_random_only_when_asked(cache_dir):
    weights = resolve_weights("wav2vec2", "random")
    assert (weights.name, weights.path, weights.sha256) == ("random", None, None)


@pytest.mark.parametrize("upstream", ["baseline", "example"])
def test_upstreams_without_weights_need_no_k(cache_dir, upstream):
    assert not has_weights(upstream)
    assert resolve_weights(upstream, None).path is None


def test_existing_path_wins_and_is_hashed(cache_dir, tmp_path, monkeypatch):
    (tmp_path / "apc_360hr").write_bytes(b"abc")  # a file named like a released model
    monkeypatch.chdir(tmp_path)
    weights = resolve_weights("apc", "apc_360hr")
    assert weights.path == str(tmp_path / "apc_360hr") and weights.sha256 == sha256(b"abc")
    assert not os.path.exists(cache_dir)


def test_unknown_name_lists_the_choices(cache_dir):
    with pytest.raises(HubError, match=r"^-k apc_999hr: no such file, and apc has no released model of that name; "
                                       r"give -k NAME with NAME one of apc_360hr, apc_960hr"):
        resolve_weights("apc", "apc_999hr")


def test_missing_file_of_an_upstream_without_a_list_goes_to_its_expert(cache_dir, tmp_path):
    assert resolve_weights("example", str(tmp_path / "nope.pt")).path == str(tmp_path / "nope.pt")


def test_alias_shares_the_cache_of_its_model(catalog, cache_dir, server):
    catalog.add("apc", "long_name", payload(100))
    catalog.entries["apc"]["models"]["long_name"]["aliases"] = ["short"]
    catalog.write()
    assert resolve_weights("apc", "short") == resolve_weights("apc", "long_name")
    assert resolve_weights("apc", "short").name == "long_name"
    assert len(server.requests) == 1


@pytest.mark.parametrize("entry, message", [
    ({"files": []}, "'files' must list at least the checkpoint file"),
    ({"files": [{"name": "../x.pt", "urls": ["http://h/x"]}]}, "'name' must be a plain file name"),
    ({"files": [{"name": "x.pt", "urls": ["not a url"]}]}, "'urls' must list at least one URL"),
    ({"files": [{"name": "x.pt", "urls": ["http://h/x"], "sha256": "abc"}]}, "64 lower-case hex digits"),
    ({"files": [{"name": "x.pt", "urls": ["http://h/x"], "md5": "abc"}]}, "a file entry has the keys"),
    ({"files": [{"name": "x.pt", "urls": ["http://h/x"]}], "url": "x"}, r"unknown keys \['url'\]"),
])
def test_bad_model_lists_are_named(cache_dir, tmp_path, monkeypatch, entry, message):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"upstreams": {"apc": {"models": {"mine": entry}}}}))
    monkeypatch.setenv("SPEECHBENCH_MODELS", str(path))
    with pytest.raises(HubError, match=f"{re.escape(str(path))}: models.mine.*{message}"):
        released_models("apc")


def test_shipped_lists_are_complete():
    """Every upstream with weights ships a list (maybe empty); every entry names its paper, license and source."""
    upstreams = upstreams_with_models()
    assert set(registry.available("upstream")) - set(upstreams) == {"baseline", "control", "example"}  # no weights
    for upstream in upstreams:
        models = released_models(upstream)
        names = set(models) | {a for m in models.values() for a in m.aliases}
        assert len(names) == len(models) + sum(len(m.aliases) for m in models.values()), f"{upstream}: clashing names"
        for model in models.values():
            assert model.paper and model.license and model.source and model.description, model.name
            for released in model.files:
                assert all(u.startswith("https://") for u in released.urls), model.name
                assert "?dl=0" not in " ".join(released.urls), "a Dropbox ?dl=0 link is a web page, not the file"


def test_models_command_lists_names_sizes_and_cache(catalog, cache_dir, capsys):
    from speechbench.hub.listing import main
    catalog.add("apc", "tiny", payload(2500))
    assert main([]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^apc +apc_360hr +\? +- +3 x 512 GRUs.*\(also: apc\)$", out, re.M)
    assert re.search(r"^apc +tiny +\? +- +test model tiny$", out, re.M)
    assert re.search(r"^hubert +hubert_base_ls960 ", out, re.M) and not re.search(r"^baseline ", out, re.M)
    resolve_weights("apc", "tiny")
    assert main([]) == 0
    assert re.search(r"^apc +tiny +2\.5 KB +cached +test model tiny$", capsys.readouterr().out, re.M)
    assert main(["apc"]) == 0
    detail = capsys.readouterr().out
    assert f"sha256 {sha256(payload(2500))} (recorded at first download)" in detail
    assert "https://huggingface.co/leo19941227/apc_series/resolve/main/apc_360hr.ckpt" in detail
    assert "paper:   Chung, Hsu, Tang and Glass" in detail
    assert main(["nope"]) == 2 and "unknown upstream 'nope'" in capsys.readouterr().err
