"""Released checkpoints by name, read from data: each upstream's ``models.yaml``.

An upstream folder that has weights declares them in ``speechbench/upstream/<name>/models.yaml``
(its presence also means "this upstream has weights": running it without ``-k`` is an error)::

    paper: "Authors, Title, Venue Year"      # defaults for every model below
    license: "..."
    source: "where the links were found"
    models:
      apc_360hr:
        description: "3 x 512 GRUs, LibriSpeech train-clean-360"
        aliases: [apc]                        # other names for -k (e.g. s3prl's)
        files:                                # the first file is the checkpoint given to -k;
          - name: apc_360hr.ckpt              # others (e.g. a config) are put beside it
            urls: [https://authors/..., https://mirror/...]   # same bytes at every URL
            size: 12345                       # bytes, only where the authors publish it
            sha256: "..."                     # only where the authors publish it

``SPEECHBENCH_MODELS`` (a ``:``-separated list of YAML files) adds catalogs of your own, e.g.
lab-internal checkpoints: ``upstreams: {apc: {models: {...}}}``, same fields; a name there
replaces the released entry of that name.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import yaml

from speechbench.hub.errors import HubError

CATALOG_FILE = "models.yaml"
MODELS_ENV = "SPEECHBENCH_MODELS"
_UPSTREAM_ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "upstream")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MODEL_KEYS = {"description", "aliases", "files", "paper", "license", "source"}
_FILE_KEYS = {"name", "urls", "size", "sha256"}


@dataclass(frozen=True)
class ReleasedFile:
    """One file of a released model: where to get it and what the authors say it is."""

    name: str
    urls: tuple[str, ...]
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class ReleasedModel:
    """A named checkpoint of one upstream; ``files[0]`` is what the expert loads."""

    upstream: str
    name: str
    description: str
    aliases: tuple[str, ...]
    files: tuple[ReleasedFile, ...]
    paper: str
    license: str
    source: str

    @property
    def checkpoint(self) -> ReleasedFile:
        return self.files[0]


def catalog_path(upstream: str) -> str:
    return os.path.join(_UPSTREAM_ROOT, upstream, CATALOG_FILE)


def has_weights(upstream: str) -> bool:
    """True when the upstream's folder declares released files (so running it needs ``-k``)."""
    return os.path.isfile(catalog_path(upstream))


def released_models(upstream: str) -> dict[str, ReleasedModel]:
    """Every named model of ``upstream``: its ``models.yaml``, then ``$SPEECHBENCH_MODELS``."""
    models: dict[str, ReleasedModel] = {}
    path = catalog_path(upstream)
    if os.path.isfile(path):
        models.update(_parse(upstream, _read_yaml(path), path))
    extra = _extra_catalogs().get(upstream)
    if extra:
        models.update(_parse(upstream, extra[0], extra[1]))
    return models


def find_model(upstream: str, name: str) -> ReleasedModel | None:
    """The model called ``name`` (or with ``name`` among its aliases), if any."""
    models = released_models(upstream)
    return models.get(name) or next((m for m in models.values() if name in m.aliases), None)


def upstreams_with_models() -> list[str]:
    """Upstream folders that ship a ``models.yaml``, plus those of ``$SPEECHBENCH_MODELS``."""
    names = {n for n in os.listdir(_UPSTREAM_ROOT) if os.path.isfile(catalog_path(n))}
    return sorted(names | set(_extra_catalogs()))


def _read_yaml(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as err:
        raise HubError(f"cannot read model list {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise HubError(f"model list {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise HubError(f"model list {path} must be a mapping with a 'models' key")
    return data


def _extra_catalogs() -> dict[str, tuple[dict, str]]:
    """``{upstream: (section, file)}`` from ``$SPEECHBENCH_MODELS`` (later files win)."""
    sections: dict[str, tuple[dict, str]] = {}
    for path in filter(None, os.environ.get(MODELS_ENV, "").split(os.pathsep)):
        data = _read_yaml(path)
        upstreams = data.get("upstreams")
        if not isinstance(upstreams, dict):
            raise HubError(f"{path} (from ${MODELS_ENV}) needs 'upstreams: {{NAME: {{models: ...}}}}'")
        for upstream, section in upstreams.items():
            if not isinstance(section, dict):
                raise HubError(f"{path}: upstreams.{upstream} must be a mapping with a 'models' key")
            if upstream in sections:
                merged = dict(sections[upstream][0].get("models") or {})
                merged.update(section.get("models") or {})
                section = {**section, "models": merged}
            sections[str(upstream)] = (section, path)
    return sections


def _parse(upstream: str, data: dict, path: str) -> dict[str, ReleasedModel]:
    models = data.get("models")
    if not isinstance(models, dict):
        raise HubError(f"{path}: 'models' must map model names to entries")
    out = {}
    for name, entry in models.items():
        where = f"{path}: models.{name}"
        if not isinstance(name, str) or not _NAME.match(name) or name == "random":
            raise HubError(f"{where}: a model name is letters, digits and _.+- (and not 'random')")
        if not isinstance(entry, dict) or set(entry) - _MODEL_KEYS:
            raise HubError(f"{where}: unknown keys {sorted(set(entry or {}) - _MODEL_KEYS)}; "
                           f"allowed: {sorted(_MODEL_KEYS)}")
        files, aliases = entry.get("files"), entry.get("aliases", [])
        if not isinstance(files, list) or not files:
            raise HubError(f"{where}: 'files' must list at least the checkpoint file")
        if not isinstance(aliases, list) or not all(isinstance(a, str) and _NAME.match(a) for a in aliases):
            raise HubError(f"{where}: 'aliases' must list names (letters, digits and _.+-)")
        out[name] = ReleasedModel(
            upstream=upstream, name=name, description=str(entry.get("description", "")), aliases=tuple(aliases),
            files=tuple(_parse_file(f, f"{where}.files[{i}]") for i, f in enumerate(files)),
            paper=str(entry.get("paper", data.get("paper", ""))),
            license=str(entry.get("license", data.get("license", ""))),
            source=str(entry.get("source", data.get("source", ""))))
    return out


def _parse_file(entry: object, where: str) -> ReleasedFile:
    if not isinstance(entry, dict) or set(entry) - _FILE_KEYS:
        raise HubError(f"{where}: a file entry has the keys {sorted(_FILE_KEYS)}")
    name, urls = entry.get("name"), entry.get("urls")
    if not isinstance(name, str) or os.path.basename(name) != name or name.startswith("."):
        raise HubError(f"{where}: 'name' must be a plain file name")
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) and "://" in u for u in urls):
        raise HubError(f"{where}: 'urls' must list at least one URL")
    size, sha256 = entry.get("size"), entry.get("sha256")
    if size is not None and (not isinstance(size, int) or size <= 0):
        raise HubError(f"{where}: 'size' must be a positive number of bytes")
    if sha256 is not None and not (isinstance(sha256, str) and _SHA256.match(sha256)):
        raise HubError(f"{where}: 'sha256' must be 64 lower-case hex digits")
    return ReleasedFile(name=name, urls=tuple(urls), size=size, sha256=sha256)
