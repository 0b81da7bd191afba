"""Task corpora built next to the mini corpus (keyword spotting, slot filling, diarization).

Some tasks need utterances the main mini corpus does not have (isolated keywords, commands
with slots) or recordings made from it (two-speaker mixtures). Each is written in its real
corpus's layout, so the recipe runs the real corpus's prep on it. They are built the way
the main corpus is: :func:`synthesise` renders a plan with the builder's own pieces
(fixed chunks of utterances, each chunk in a freshly forked process, see ``build.py``), so
the bytes depend on the plan and the seed only, never on ``nj``; :func:`build_once` makes a
build idempotent (an ``OUT/.done`` marker holding the build's parameters, written last) and
resumable (work in ``OUT/.partial``, kept across a killed run with the same parameters).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
from typing import Callable, Sequence

import numpy as np

from speechbench.corpora.errors import CorpusBuildError, CorpusDirError
from speechbench.corpora.mini.build import chunks, run_forked
from speechbench.corpora.mini.espeak import Engine
from speechbench.corpora.mini.plan import Plan
from speechbench.errors import run_command
from speechbench.utils_io import atomic_open

MARKER = ".done"
PARTIAL = ".partial"


def _read_json(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _write_json(path: str, obj: dict) -> None:
    with atomic_open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, sort_keys=True)


def build_once(out_dir: str, params: dict, build: Callable[[str, str], None]) -> bool:
    """Run ``build(work, tree)`` unless ``out_dir`` already holds a build with ``params``.

    ``work`` is scratch space kept across a killed build with the same ``params``; ``build``
    writes the corpus under ``tree``, whose top-level entries then replace those of
    ``out_dir``. Returns whether a build ran. ``out_dir`` must be new, empty, or an
    earlier build (it has a marker or a work dir).
    """
    out_dir = os.path.abspath(out_dir)
    marker = os.path.join(out_dir, MARKER)
    if _read_json(marker) == params:
        return False
    partial = os.path.join(out_dir, PARTIAL)
    if os.path.isdir(out_dir) and os.listdir(out_dir) and not (os.path.exists(marker) or os.path.isdir(partial)):
        raise CorpusDirError(f"{out_dir} is not empty and is not a task corpus built here (no {MARKER}): "
                             f"pass an empty or new directory")
    if os.path.exists(marker):
        os.unlink(marker)
    if _read_json(os.path.join(partial, "params.json")) != params:
        shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial, exist_ok=True)
    _write_json(os.path.join(partial, "params.json"), params)
    tree = os.path.join(partial, "tree")
    shutil.rmtree(tree, ignore_errors=True)
    build(partial, tree)
    for name in sorted(os.listdir(tree)):
        shutil.rmtree(os.path.join(out_dir, name), ignore_errors=True)
        os.replace(os.path.join(tree, name), os.path.join(out_dir, name))
    shutil.rmtree(partial)
    _write_json(marker, params)
    return True


def _save_babble(path: str, seed: int) -> None:
    from speechbench.corpora.mini.render import make_babble

    with atomic_open(path, "wb") as f:
        np.save(f, make_babble(seed))


def _render(plan: Plan, utts: list[str], seed: int, work_dir: str, done: str) -> None:
    from speechbench.corpora.mini.render import render_chunk

    render_chunk(plan, utts, seed, work_dir)
    open(done, "w").close()


def synthesise(plan: Plan, seed: int, work_dir: str, nj: int) -> dict[str, dict]:
    """Render every utterance of ``plan`` to ``work_dir/wav/<utt>.wav``; returns the metadata
    (``num_samples``, word times, ...) by utterance. Chunks finished before are kept."""
    if Engine.initialised():
        raise CorpusBuildError("this process has already used espeak-ng, whose state would leak into the corpus: "
                               "build it from a fresh process")
    for sub in ("wav", "meta", "chunks"):
        os.makedirs(os.path.join(work_dir, sub), exist_ok=True)
    babble = os.path.join(work_dir, "babble.npy")
    if not os.path.exists(babble):
        run_forked([("babble noise", functools.partial(_save_babble, babble, seed))], 1)
    tasks = []
    for k, utts in enumerate(chunks(plan)):
        done = os.path.join(work_dir, "chunks", f"{k:05d}.done")
        if not (os.path.exists(done) and all(os.path.exists(os.path.join(work_dir, "wav", f"{u}.wav")) for u in utts)):
            tasks.append((f"chunk {k} ({utts[0]}..)", functools.partial(_render, plan, utts, seed, work_dir, done)))
    run_forked(tasks, nj)
    metas = {}
    for utt in plan.utts:
        with open(os.path.join(work_dir, "meta", f"{utt}.json"), encoding="utf-8") as f:
            metas[utt] = json.load(f)
    return metas


def synthesis_main(prog: str, doc: str, sizes: Sequence[str], prepare: Callable[[str, str, int, int], str],
                   argv: list[str] | None = None) -> int:
    """The command line of a synthesised task corpus: ``--size --out --seed --nj``; prints its root."""
    p = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
    p.add_argument("--size", choices=sorted(sizes), default="mini")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--nj", type=int, default=1, help="parallel synthesis processes")
    a = p.parse_args(argv)
    return run_command(lambda: print(prepare(a.out, a.size, a.seed, a.nj)))
