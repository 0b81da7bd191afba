"""``speechbench models [UPSTREAM]``: the released checkpoints each upstream knows by name.

Without an argument, one line per model of every upstream (size, whether it is cached);
with an upstream, every model in full: paper, license, URLs, checksum and where the links
were found. Nothing is downloaded or hashed here.
"""
from __future__ import annotations

import argparse
import os

from speechbench.hub import cache
from speechbench.hub.catalog import (CATALOG_FILE, ReleasedFile, ReleasedModel, has_weights, released_models,
                                     upstreams_with_models)
from speechbench.hub.errors import HubError
from speechbench.hub.fetch import MIRROR_ENV, OFFLINE_ENV
from speechbench.errors import run_command
from speechbench.utils_io import human_bytes


def cache_state(model: ReleasedModel, released: ReleasedFile) -> str:
    """``cached``, ``partial (N MB)`` or ``-``, from the files alone."""
    path = cache.cached_path(model, released)
    if os.path.isfile(path):
        return "cached"
    if os.path.isfile(path + ".part"):
        return f"partial ({human_bytes(os.path.getsize(path + '.part'))})"
    return "-"


def _size(model: ReleasedModel, released: ReleasedFile) -> str:
    if released.size is not None:
        return human_bytes(released.size)
    path = cache.cached_path(model, released)
    return human_bytes(os.path.getsize(path)) if os.path.isfile(path) else "?"


def _checksum(model: ReleasedModel, released: ReleasedFile) -> str:
    if released.sha256:
        return f"sha256 {released.sha256} (published)"
    entry = cache.recorded(cache.file_key(model, released))
    if entry:
        return f"sha256 {entry['sha256']} (recorded at first download)"
    return "none published (recorded at first download)"


def summary_lines(upstreams: list[str]) -> list[str]:
    rows = [("upstream", "name (-k)", "size", "cache", "description")]
    for upstream in upstreams:
        for model in released_models(upstream).values():
            also = f" (also: {', '.join(model.aliases)})" if model.aliases else ""
            rows.append((upstream, model.name, _size(model, model.checkpoint), cache_state(model, model.checkpoint),
                         model.description + also))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows]


def detail_lines(upstream: str) -> list[str]:
    models = released_models(upstream)
    if not models and has_weights(upstream):
        return [f"{upstream} lists no released weights by name: give -k with your file, or -k random"]
    if not models:
        return [f"{upstream} has no weights (no speechbench/upstream/{upstream}/{CATALOG_FILE}): it runs without -k"]
    lines = []
    for model in models.values():
        lines += [f"{model.name}: {model.description}"]
        lines += [f"  also:    {', '.join(model.aliases)}"] if model.aliases else []
        lines += [f"  paper:   {model.paper}", f"  license: {model.license}", f"  source:  {model.source}"]
        for released in model.files:
            lines += [f"  file:    {released.name}, {_size(model, released)}, {cache_state(model, released)}",
                      f"           at {cache.cached_path(model, released)}",
                      f"           {_checksum(model, released)}"]
            lines += [f"           {url}" for url in released.urls]
        lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="speechbench models", description=__doc__.split("\n\n")[0],
                                epilog=f"Cache: ${cache.CACHE_ENV} (now {cache.cache_root()}). ${MIRROR_ENV}=URL "
                                       f"tries URL/<upstream>/<name>/<file> first; ${OFFLINE_ENV}=1 never downloads.")
    p.add_argument("upstream", nargs="?", help="show this upstream's models in full")
    a = p.parse_args(argv)

    def body() -> None:
        if a.upstream:
            from speechbench import registry
            if a.upstream not in registry.available("upstream"):
                raise HubError(f"unknown upstream '{a.upstream}'; available: {', '.join(registry.available('upstream'))}")
            print("\n".join(detail_lines(a.upstream)).rstrip())
        else:
            print("\n".join(summary_lines(upstreams_with_models())))
            print(f"\nsize ?: not published, known once cached. Use: run_benchmark.py -u UPSTREAM -k NAME "
                  f"(fetched into {cache.cache_root()}); `speechbench models UPSTREAM` for URLs, licenses and papers.")
    return run_command(body)
