"""Fetching named checkpoints from a local server: download, resume, checksums, failures, locking."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from checkpoint_hub.conftest import cached, payload, sha256
from speechbench.hub import HubError, recheck_weights, resolve_weights
from testutil import REPO

SIZE = 300_000  # several 64 KiB blocks, so a cut lands mid-file


def _lock(cache_dir: str) -> dict:
    with open(os.path.join(cache_dir, "models.lock"), encoding="utf-8") as f:
        return json.load(f)


def test_download_records_the_first_checksum_once(catalog, cache_dir, server, capfd):
    data = payload(SIZE)
    catalog.add("apc", "tiny", data)
    weights = resolve_weights("apc", "tiny")
    assert weights.path == cached(cache_dir, "apc", "tiny")
    assert open(weights.path, "rb").read() == data and weights.sha256 == sha256(data)
    assert not os.path.exists(weights.path + ".part")
    entry = _lock(cache_dir)["apc/tiny/model.pt"]
    assert entry["sha256"] == sha256(data) and entry["size"] == SIZE and entry["url"].startswith(server.url)
    first = capfd.readouterr().err
    assert first.count("publish no checksum") == 1 and sha256(data) in first
    again = resolve_weights("apc", "tiny")
    assert again == weights
    assert "publish no checksum" not in capfd.readouterr().err  # said once, at the first download
    assert len(server.gets("/apc/tiny/model.pt")) == 1


def test_published_checksum_is_checked_not_recorded(catalog, cache_dir):
    data = payload(SIZE)
    catalog.add("apc", "signed", data, sha256=sha256(data), size=SIZE)
    assert resolve_weights("apc", "signed").sha256 == sha256(data)
    assert not os.path.exists(os.path.join(cache_dir, "models.lock"))


def test_cut_connection_resumes_with_a_range_request(catalog, cache_dir, server, capfd):
    data = payload(SIZE, seed=1)
    catalog.add("apc", "cut", data, sha256=sha256(data))
    server.cut["/apc/cut/model.pt"] = 2  # two responses stop half-way
    weights = resolve_weights("apc", "cut")
    assert open(weights.path, "rb").read() == data
    gets = server.gets("/apc/cut/model.pt")
    assert [g.status for g in gets] == [200, 206, 206]
    assert gets[0].range is None and gets[1].range == f"bytes={SIZE // 2}-"
    assert gets[2].range == f"bytes={SIZE // 2 + (SIZE - SIZE // 2) // 2}-"
    assert sum(g.sent for g in gets) == SIZE  # nothing was sent twice
    assert capfd.readouterr().err.count("resuming") == 2


def _leave_part(cache_dir: str, name: str, data: bytes, url: str) -> str:
    """What a run killed mid-download leaves: the partial file and the URL it came from."""
    part = cached(cache_dir, "apc", name) + ".part"
    os.makedirs(os.path.dirname(part))
    with open(part, "wb") as f:
        f.write(data)
    with open(part + ".url", "w") as f:
        f.write(url)
    return part


def test_part_left_by_a_killed_run_is_resumed(catalog, cache_dir, server):
    data = payload(SIZE, seed=2)
    url = catalog.add("apc", "killed", data, sha256=sha256(data))
    part = _leave_part(cache_dir, "killed", data[:1000], url)
    assert open(resolve_weights("apc", "killed").path, "rb").read() == data
    (get,) = server.gets("/apc/killed/model.pt")
    assert get.range == "bytes=1000-" and get.status == 206
    assert not os.path.exists(part) and not os.path.exists(part + ".url")


def test_part_from_another_host_is_not_resumed(catalog, cache_dir, server):
    data = payload(SIZE, seed=2)
    catalog.add("apc", "moved", data)
    _leave_part(cache_dir, "moved", payload(1000, seed=5), "https://elsewhere.example/model.pt")
    assert open(resolve_weights("apc", "moved").path, "rb").read() == data
    (get,) = server.gets("/apc/moved/model.pt")
    assert get.range is None and get.status == 200


def test_complete_part_is_taken_as_is(catalog, cache_dir, server):
    data = payload(5000)
    url = catalog.add("apc", "whole", data, sha256=sha256(data))
    _leave_part(cache_dir, "whole", data, url)
    assert resolve_weights("apc", "whole").sha256 == sha256(data)
    assert [g.status for g in server.gets("/apc/whole/model.pt")] == [416]


def test_checksum_mismatch_is_one_line_and_leaves_nothing(catalog, cache_dir):
    catalog.add("apc", "bad", payload(SIZE), sha256="0" * 64)
    with pytest.raises(HubError) as err:
        resolve_weights("apc", "bad")
    message = str(err.value)
    assert "\n" not in message
    assert f"sha256 {sha256(payload(SIZE))}, not the {'0' * 64} published by the authors" in message
    assert f"at {cached(cache_dir, 'apc', 'bad')} and rerun" in message
    assert os.listdir(os.path.dirname(cached(cache_dir, "apc", "bad"))) == [".model.pt.lock"]


def test_size_mismatch_is_refused(catalog):
    catalog.add("apc", "short", payload(1000), size=2000)
    with pytest.raises(HubError, match="1000 bytes, the authors list 2000"):
        resolve_weights("apc", "short")


def test_404_names_the_url_and_where_to_put_the_file(catalog, cache_dir, server):
    url = catalog.add("apc", "gone", None)
    with pytest.raises(HubError) as err:
        resolve_weights("apc", "gone")
    assert str(err.value) == (f"cannot fetch apc/gone: {url}: HTTP 404 Not Found; put model.pt (from {url}) at "
                              f"{cached(cache_dir, 'apc', 'gone')} and rerun")


def test_mirror_serves_when_the_first_url_fails(catalog, cache_dir, server):
    data = payload(SIZE)
    mirror = catalog.add("apc", "mirrored", data)
    dead = f"{server.url}/dead/model.pt"
    catalog.add("apc", "mirrored", None, urls=[dead, mirror])
    assert open(resolve_weights("apc", "mirrored").path, "rb").read() == data
    assert _lock(cache_dir)["apc/mirrored/model.pt"]["url"] == mirror


def test_site_mirror_is_tried_first(catalog, cache_dir, server, monkeypatch):
    data = payload(2000)
    catalog.add("apc", "site", None, urls=["http://127.0.0.1:9/unreachable/model.pt"])
    server.files["/site/apc/site/model.pt"] = data
    monkeypatch.setenv("SPEECHBENCH_MIRROR", server.url + "/site/")
    assert open(resolve_weights("apc", "site").path, "rb").read() == data


def test_web_page_instead_of_the_file_is_refused(catalog, server):
    catalog.add("apc", "page", b"<html>sign in</html>")
    server.html.add("/apc/page/model.pt")
    with pytest.raises(HubError, match="sent a web page, not the file"):
        resolve_weights("apc", "page")


def test_no_network_gives_one_line_with_the_path(catalog, cache_dir):
    url = "http://127.0.0.1:9/apc/model.pt"  # port 9 (discard): nothing listens
    catalog.add("apc", "offline", None, urls=[url])
    with pytest.raises(HubError) as err:
        resolve_weights("apc", "offline")
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"cannot fetch apc/offline: {url}: no connection (")
    assert message.endswith(f"put model.pt (from {url}) at {cached(cache_dir, 'apc', 'offline')} and rerun")


def test_offline_setting_never_connects(catalog, cache_dir, server, monkeypatch):
    url = catalog.add("apc", "quiet", payload(100))
    monkeypatch.setenv("SPEECHBENCH_OFFLINE", "1")
    with pytest.raises(HubError) as err:
        resolve_weights("apc", "quiet")
    assert str(err.value) == (f"apc/quiet is not in the cache and $SPEECHBENCH_OFFLINE is set: put model.pt (from "
                              f"{url}) at {cached(cache_dir, 'apc', 'quiet')} and rerun")
    assert server.requests == []


def test_cache_hit_needs_no_network(catalog, cache_dir, server, monkeypatch):
    data = payload(SIZE)
    catalog.add("apc", "kept", data)
    first = resolve_weights("apc", "kept")
    server.files.clear()  # the server now answers 404 to everything
    monkeypatch.setenv("SPEECHBENCH_OFFLINE", "1")
    assert resolve_weights("apc", "kept") == first
    assert len(server.requests) == 1


def test_file_copied_in_by_hand_is_used_and_recorded(catalog, cache_dir, server, capfd):
    data = payload(3000)
    catalog.add("apc", "manual", None)
    path = cached(cache_dir, "apc", "manual")
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as f:
        f.write(data)
    assert resolve_weights("apc", "manual").sha256 == sha256(data)
    assert _lock(cache_dir)["apc/manual/model.pt"]["url"] == "(placed in the cache by hand)"
    assert "publish no checksum" in capfd.readouterr().err and server.requests == []


def test_corrupt_cached_file_is_fetched_again(catalog, cache_dir, server, capfd):
    data = payload(SIZE)
    catalog.add("apc", "rot", data)
    path = resolve_weights("apc", "rot").path
    with open(path, "r+b") as f:
        f.seek(SIZE // 3)
        f.write(b"\x00\xff")
    capfd.readouterr()
    assert open(resolve_weights("apc", "rot").path, "rb").read() == data
    assert "fetching it again" in capfd.readouterr().err
    assert len(server.gets("/apc/rot/model.pt")) == 2


def test_changed_upstream_file_is_refused_against_the_recorded_checksum(catalog, cache_dir, server):
    catalog.add("apc", "moved", payload(SIZE))
    path = resolve_weights("apc", "moved").path
    os.unlink(path)
    server.files["/apc/moved/model.pt"] = payload(SIZE, seed=3)
    with pytest.raises(HubError) as err:
        resolve_weights("apc", "moved")
    assert f"recorded at its first download in {os.path.join(cache_dir, 'models.lock')}" in str(err.value)
    assert "delete its entry" in str(err.value) and not os.path.exists(path)


def test_two_processes_download_once(catalog, cache_dir, server):
    data = payload(SIZE)
    catalog.add("apc", "shared", data)
    server.delay = 0.4  # 2 s per download: the second process arrives while the first downloads
    code = ("import sys; from speechbench.hub import resolve_weights; "
            "print(resolve_weights('apc', 'shared').sha256)")
    env = {**os.environ, "PYTHONPATH": REPO}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    assert [o[0].strip() for o in outs] == [sha256(data)] * 2
    assert len(server.gets("/apc/shared/model.pt")) == 1
    assert sum("publish no checksum" in o[1] for o in outs) == 1
    assert sum("another process is fetching model.pt; waiting for it" in o[1] for o in outs) == 1


def test_resume_fetches_a_lost_file_again_and_checks_its_bytes(catalog, cache_dir, server):
    data = payload(SIZE)
    catalog.add("apc", "kept", data)
    record = resolve_weights("apc", "kept").record()
    os.unlink(record["path"])
    recheck_weights("apc", record)
    assert open(record["path"], "rb").read() == data and len(server.gets("/apc/kept/model.pt")) == 2
    with pytest.raises(HubError, match="not the 0+ this experiment was started with"):
        recheck_weights("apc", {**record, "sha256": "0" * 64})


def test_resume_refuses_a_changed_file_of_the_user(cache_dir, tmp_path):
    path = tmp_path / "mine.ckpt"
    path.write_bytes(b"before")
    record = resolve_weights("apc", str(path)).record()
    recheck_weights("apc", record)
    path.write_bytes(b"after")
    with pytest.raises(HubError, match=f"^{path} has sha256 {sha256(b'after')}, not the {sha256(b'before')}"):
        recheck_weights("apc", record)
    recheck_weights("apc", {"name": "random", "path": None, "sha256": None})  # nothing to check
