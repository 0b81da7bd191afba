"""Build the mini corpus: plan -> parallel synthesis -> Kaldi data dirs, idempotently.

Layout of ``out_dir``: ``wav/`` (audio), ``data/`` (data dirs), ``.done`` (completion
marker: size, seed, version). Work happens in ``.partial/`` (finished chunks are reused
when a killed build is restarted with the same size and seed) and is moved into place only
when complete; the marker is written last and removed first, so a directory with a marker
is always a whole corpus.
"""
from __future__ import annotations

import ctypes
import fcntl
import functools
import json
import logging
import os
import shutil
import signal
import time
import traceback
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np

from speechbench.corpora.errors import CorpusBuildError, CorpusDirError
from speechbench.corpora.mini.espeak import Engine
from speechbench.corpora.mini.plan import SIZES, Plan, make_plan
from speechbench.corpora.mini.writers import write_all
from speechbench.errors import ConfigError
from speechbench.utils_io import atomic_open

VERSION = 2  # 2: float64 resampling, engine noise seeded per synthesis (bytes changed)
CHUNK = 32
_PR_SET_PDEATHSIG = 1
MARKER = ".done"
OWNER = ".mini_corpus"
log = logging.getLogger(__name__)


def _params(size: str, seed: int) -> dict:
    return {"size": size, "seed": seed, "version": VERSION}


def _read_json(path: str) -> dict | None:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _write_json(path: str, obj: dict) -> None:
    with atomic_open(path, "w") as f:
        json.dump(obj, f, sort_keys=True)


@contextmanager
def _locked(out_dir: str) -> Iterator[None]:
    with open(os.path.join(out_dir, ".lock"), "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CorpusBuildError(f"another build is running in {out_dir} (lock {f.name})") from None
        yield


def _claim(out_dir: str) -> None:
    """Refuse to write into a non-empty directory that is not a mini corpus."""
    os.makedirs(out_dir, exist_ok=True)
    ours = os.path.exists(os.path.join(out_dir, OWNER))
    foreign = [n for n in os.listdir(out_dir) if n not in (".lock", OWNER)]
    if foreign and not ours:
        raise CorpusDirError(f"{out_dir} is not empty and is not a mini corpus (no {OWNER} "
                             f"file): pass an empty or new directory as --out")
    if not ours:
        _write_json(os.path.join(out_dir, OWNER), {"written_by": __name__})


def chunks(plan: Plan) -> list[list[str]]:
    """Utterance ids in fixed groups of CHUNK (plan order): each group is rendered in one
    fresh process, so every wav depends only on (size, seed), never on ``nj``."""
    utts = list(plan.utts)
    return [utts[i:i + CHUNK] for i in range(0, len(utts), CHUNK)]


def run_forked(tasks: list[tuple[str, Callable[[], None]]], nj: int) -> None:
    """Run each (name, task) in its own forked child, at most ``nj`` at a time.

    Forking gives each task a pristine copy of libespeak-ng's global state, because this
    process never synthesises itself.
    """
    pending, running, parent = list(tasks), {}, os.getpid()
    try:
        while pending or running:
            while pending and len(running) < max(nj, 1):
                name, task = pending.pop(0)
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        _die_with_parent(parent)
                        task()
                        code = 0
                    except BaseException:
                        traceback.print_exc()
                    finally:
                        os._exit(code)
                running[pid] = name
            pid, status = _wait_any(running)
            name = running.pop(pid)
            if status != 0:
                raise CorpusBuildError(f"mini corpus: {name} failed (exit code "
                                       f"{os.waitstatus_to_exitcode(status)}; its error is printed "
                                       f"above)")
    finally:
        for pid in running:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)


def _wait_any(pids: dict[int, str]) -> tuple[int, int]:
    """Wait for one of our children (never reaping the caller's other children)."""
    while True:
        for pid in pids:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return pid, status
        time.sleep(0.02)


def _die_with_parent(parent: int) -> None:
    """Linux: a killed build must not leave children writing into ``.partial``."""
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _synthesise(plan: Plan, seed: int, partial: str, nj: int) -> dict[str, dict]:
    """Render every chunk not yet marked done (a killed build resumes chunk by chunk)."""
    # imported here so that an already-built corpus is recognised without importing scipy
    from speechbench.corpora.mini.render import make_babble

    if Engine.initialised():
        raise CorpusBuildError("this process has already used espeak-ng, whose state would leak "
                               "into the corpus: build the corpus from a fresh process "
                               "(python -m speechbench.corpora.mini)")
    for sub in ("wav", "meta", "chunks"):
        os.makedirs(os.path.join(partial, sub), exist_ok=True)
    babble = os.path.join(partial, "babble.npy")
    if not os.path.exists(babble):
        run_forked([("babble noise", lambda: _save_npy(babble, make_babble(seed)))], 1)
    tasks = []
    for k, utts in enumerate(chunks(plan)):
        done = os.path.join(partial, "chunks", f"{k:05d}.done")
        wavs = (os.path.join(partial, "wav", f"{u}.wav") for u in utts)
        if not (os.path.exists(done) and all(os.path.exists(w) for w in wavs)):
            tasks.append((f"chunk {k} ({utts[0]}..)",
                          functools.partial(_chunk_task, plan, utts, seed, partial, done)))
    run_forked(tasks, nj)
    metas = {}
    for utt in plan.utts:
        with open(os.path.join(partial, "meta", f"{utt}.json")) as f:
            metas[utt] = json.load(f)
    return metas


def _chunk_task(plan: Plan, utts: list[str], seed: int, partial: str, done: str) -> None:
    from speechbench.corpora.mini.render import render_chunk

    render_chunk(plan, utts, seed, partial)
    open(done, "w").close()


def _save_npy(path: str, array: np.ndarray) -> None:
    with atomic_open(path, "wb") as f:
        np.save(f, array)


def prepare_mini(out_dir: str, size: str = "mini", seed: int = 0, nj: int = 1) -> str:
    """Build (or reuse) the synthetic corpus in ``out_dir``; return ``out_dir/data``.

    Skipped when ``out_dir/.done`` records the same size, seed and version.
    """
    if size not in SIZES:
        raise ConfigError(f"unknown mini-corpus size '{size}' (choose one of: {', '.join(SIZES)})")
    out_dir = os.path.abspath(out_dir)
    data_dir = os.path.join(out_dir, "data")
    params = _params(size, seed)
    marker = os.path.join(out_dir, MARKER)
    if _read_json(marker) == params:
        log.info("mini corpus already built in %s (%s)", out_dir, params)
        return data_dir
    _claim(out_dir)
    with _locked(out_dir):
        if os.path.exists(marker):
            os.unlink(marker)
        partial = os.path.join(out_dir, ".partial")
        if _read_json(os.path.join(partial, "params.json")) != params:
            shutil.rmtree(partial, ignore_errors=True)
            os.makedirs(partial)
            _write_json(os.path.join(partial, "params.json"), params)
        start = time.time()
        plan = make_plan(size, seed)
        metas = _synthesise(plan, seed, partial, nj)
        write_all(plan, metas, os.path.join(partial, "data"),
                  wav_dir=os.path.join(out_dir, "wav"))
        for name in ("wav", "data"):
            shutil.rmtree(os.path.join(out_dir, name), ignore_errors=True)
            os.replace(os.path.join(partial, name), os.path.join(out_dir, name))
        shutil.rmtree(partial)
        _write_json(marker, params)
        log.info("built mini corpus '%s' (seed %d) in %s: %d utterances, %.1f s",
                 size, seed, out_dir, len(metas), time.time() - start)
    return data_dir
