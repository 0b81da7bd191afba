"""Stage 2 of every recipe: run a frozen upstream over a data dir into a kaldiio dump.

    python -m speechbench.features.extract --upstream NAME --data-dir data/train \\
        --out dump/NAME/train [--layers all|0,4,8|best --from-exp EXP] [--nj 4 [--job 2]]
    python -m speechbench.features.extract --upstream NAME --data-dir data/{train,dev,test} \\
        --out dump/NAME/{train,dev,test}     # several sets, one after another, in one process

Each job ``J`` of ``--nj`` takes a contiguous slice of the C-sorted utterances and writes
``feats.J.ark``/``feats.J.scp`` (one float16/float32 NPY block ``[T, sum of kept layer
dims]`` per utterance, layers concatenated in ``layers`` order), ``utt2num_frames.J`` and,
last, ``meta.J.json``: its marker, holding a fingerprint of everything that shapes the
output, so a finished job is skipped on re-run and a changed input redoes it. Without
``--job`` every unfinished job runs (in this process, or through ``--cmd``, e.g. the
recipe's ``$extract_cmd``), then the merge writes ``feats.scp``, ``utt2num_frames`` and
``meta.json`` (read by :class:`speechbench.features.cache.FeatureCache`).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import kaldiio
import numpy as np
import torch

from speechbench import registry
from speechbench.contracts import SAMPLE_RATE
from speechbench.data.audio import AudioReader
from speechbench.data.kaldi_dir import read_kv, write_kv
from speechbench.errors import SpeechbenchError, run_command
from speechbench.features.layers import best_layers, newest_checkpoint, parse_layer_list, resolve_layers
from speechbench.utils_io import atomic_open, human_bytes

DTYPES = {"float16": np.float16, "float32": np.float32}


class ExtractError(SpeechbenchError, RuntimeError):
    """Extraction cannot go on; the message names the utterance or file and the fix."""


@dataclass
class ExtractConfig:
    """Everything that decides what a dump holds (and, minus ``run``, its fingerprint)."""

    upstream: str
    data_dir: str
    out: str
    upstream_ckpt: str | None = None
    upstream_options: dict[str, Any] = field(default_factory=dict)
    layers: str = "all"
    from_exp: str | None = None
    num_layers: int = 4
    dtype: str = "float16"
    nj: int = 1
    device: str = "cpu"
    batch_seconds: float = 60.0


def split_utterances(utts: list[str], nj: int) -> list[list[str]]:
    """Contiguous, near-equal slices (sizes differ by at most one), as Kaldi's split_scp."""
    if nj < 1:
        raise ExtractError(f"--nj must be at least 1, got {nj}")
    if not utts:
        raise ExtractError("the data dir lists no utterances with audio (wav.scp or segments is empty)")
    if nj > len(utts):
        raise ExtractError(f"--nj {nj} is more than the {len(utts)} utterances to extract; lower --nj")
    base, extra = divmod(len(utts), nj)
    out, start = [], 0
    for j in range(nj):
        size = base + (1 if j < extra else 0)
        out.append(utts[start:start + size])
        start += size
    return out


def make_batches(durations: dict[str, float], batch_seconds: float) -> list[list[str]]:
    """Longest first; a batch's padded length (longest x count) stays within batch_seconds."""
    order = sorted(durations, key=lambda u: (-durations[u], u))
    batches: list[list[str]] = []
    for utt in order:
        if batches and durations[batches[-1][0]] * (len(batches[-1]) + 1) <= batch_seconds:
            batches[-1].append(utt)
        else:
            batches.append([utt])
    return batches


def _paths(out: str, job: int) -> dict[str, str]:
    return {"ark": os.path.join(out, f"feats.{job}.ark"), "scp": os.path.join(out, f"feats.{job}.scp"),
            "frames": os.path.join(out, f"utt2num_frames.{job}"), "meta": os.path.join(out, f"meta.{job}.json")}


def _file_stamp(path: str | None) -> list[Any] | None:
    """Path, size and mtime: enough to notice a replaced checkpoint without hashing GBs."""
    if not path:
        return None
    if not os.path.exists(path):
        return [path]  # not a file (or missing): the upstream itself reports what it needs
    st = os.stat(path)
    return [os.path.abspath(path), st.st_size, int(st.st_mtime)]


def job_fingerprint(cfg: ExtractConfig, job: int, utts: list[str], specs: list[str]) -> str:
    """Hash of the inputs that shape job ``job``'s output (not device or batch size)."""
    layers: Any = cfg.layers
    if cfg.layers == "best":
        layers = ["best", cfg.num_layers, _file_stamp(_best_ckpt(cfg))]
    payload = {"upstream": cfg.upstream, "ckpt": _file_stamp(cfg.upstream_ckpt),
               "options": cfg.upstream_options, "layers": layers, "dtype": cfg.dtype,
               "nj": cfg.nj, "job": job, "utts": utts, "audio": specs}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _best_ckpt(cfg: ExtractConfig) -> str:
    if not cfg.from_exp:
        raise ExtractError("--layers best needs --from-exp EXPDIR (a finished run of the task)")
    return newest_checkpoint(cfg.from_exp)


def job_is_done(cfg: ExtractConfig, job: int, fingerprint: str, num_utts: int) -> bool:
    """A job is done when its marker matches and its scp lists all its utterances."""
    p = _paths(cfg.out, job)
    try:
        with open(p["meta"], encoding="utf-8") as f:
            meta = json.load(f)
        with open(p["scp"], encoding="utf-8") as f:
            lines = sum(1 for line in f if line.strip())
    except (OSError, ValueError):
        return False
    return (meta.get("fingerprint") == fingerprint and lines == num_utts
            and os.path.getsize(p["ark"]) == meta.get("bytes"))


class Extractor:
    """The upstream, loaded once (eval mode) and reused for every job run in this process."""

    def __init__(self, cfg: ExtractConfig) -> None:
        if cfg.device.startswith("cuda") and not torch.cuda.is_available():
            raise ExtractError("--device cuda: no CUDA device is visible; use --device cpu")
        self.cfg = cfg
        self.model = registry.build_upstream(cfg.upstream, cfg.upstream_ckpt, cfg.upstream_options,
                                             device=cfg.device).eval()
        self.dtype = DTYPES[cfg.dtype]
        self.layers: list[int] | None = None
        self.dims: list[int] | None = None
        self.num_layers_total: int | None = None
        self.layers_from: str | None = None

    def _select(self, hidden_states: list[torch.Tensor]) -> list[int]:
        """Resolve --layers once the upstream has said how many hidden states it has."""
        if self.layers is None:
            n = len(hidden_states)
            if self.cfg.layers == "best":
                requested, self.layers_from = best_layers(self.cfg.from_exp or "", self.cfg.num_layers)
            else:
                requested = parse_layer_list(self.cfg.layers)
            self.layers = resolve_layers(requested, n, self.cfg.upstream)
            self.dims = [int(hidden_states[i].shape[-1]) for i in self.layers]
            self.num_layers_total = n
        elif len(hidden_states) != self.num_layers_total:
            raise ExtractError(f"upstream '{self.cfg.upstream}' returned {len(hidden_states)} hidden "
                               f"states, earlier {self.num_layers_total}; it must be constant")
        return self.layers

    def _features(self, utt: str, hidden: list[torch.Tensor], i: int, length: int) -> np.ndarray:
        feats = torch.cat([hidden[l][i, :length] for l in self._select(hidden)], dim=-1)
        array = feats.float().cpu().numpy()
        if not np.isfinite(array).all():
            raise ExtractError(f"upstream '{self.cfg.upstream}' produced NaN/Inf features for '{utt}'; "
                               f"check its checkpoint and audio")
        peak = float(np.abs(array).max()) if array.size else 0.0
        if peak > float(np.finfo(self.dtype).max):
            raise ExtractError(f"features of '{utt}' exceed the {self.cfg.dtype} range (max |x| = "
                               f"{peak:.3g}); rerun with --dtype float32")
        return array.astype(self.dtype)

    def run_job(self, job: int, utts: list[str], reader: AudioReader, fingerprint: str) -> dict:
        """Write job ``job``'s ark/scp/utt2num_frames, then its marker (meta.J.json)."""
        p = _paths(self.cfg.out, job)
        os.makedirs(self.cfg.out, exist_ok=True)
        if os.path.exists(p["meta"]):
            os.unlink(p["meta"])
        durations = {u: reader.duration(u) for u in utts}
        frames: dict[str, int] = {}
        samples = 0
        with kaldiio.WriteHelper(f"ark,scp:{os.path.abspath(p['ark'])},{p['scp']}",
                                 write_function="numpy") as writer, torch.inference_mode():
            for batch in make_batches(durations, self.cfg.batch_seconds):
                wavs = [reader[u].to(self.cfg.device) for u in batch]
                samples += sum(len(w) for w in wavs)
                out = self.model(wavs)
                hidden, lengths = out["hidden_states"], out["feature_lengths"].tolist()
                for i, utt in enumerate(batch):
                    writer[utt] = self._features(utt, hidden, i, int(lengths[i]))
                    frames[utt] = int(lengths[i])
        write_kv(p["frames"], frames)
        meta = {"fingerprint": fingerprint, "job": job, "num_utts": len(utts), "layers": self.layers,
                "dims": self.dims, "num_layers_total": self.num_layers_total,
                "downsample_rate": int(self.model.downsample_rate), "layers_from": self.layers_from,
                "seconds_of_audio": samples / SAMPLE_RATE, "bytes": os.path.getsize(p["ark"])}
        with atomic_open(p["meta"], "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=1)
        return meta


def merge(cfg: ExtractConfig) -> dict:
    """Join the jobs' outputs into feats.scp, utt2num_frames and meta.json (atomically)."""
    jobs = []
    for job in range(1, cfg.nj + 1):
        path = _paths(cfg.out, job)["meta"]
        if not os.path.isfile(path):
            raise ExtractError(f"job {job} of {cfg.nj} has not finished ({path} missing); "
                               f"rerun the extraction (finished jobs are skipped)")
        with open(path, encoding="utf-8") as f:
            jobs.append(json.load(f))
    first = jobs[0]
    for meta in jobs[1:]:
        for key in ("layers", "dims", "num_layers_total", "downsample_rate"):
            if meta[key] != first[key]:
                raise ExtractError(f"jobs 1 and {meta['job']} in {cfg.out} disagree on {key} "
                                   f"({first[key]} vs {meta[key]}); delete {cfg.out} and extract again")
    scp: dict[str, str] = {}
    frames: dict[str, str] = {}
    for job in range(1, cfg.nj + 1):
        p = _paths(cfg.out, job)
        part = read_kv(p["scp"])
        if scp.keys() & part.keys():
            raise ExtractError(f"{p['scp']} repeats utterances of an earlier job; delete {cfg.out} and extract again")
        scp.update(part)
        frames.update(read_kv(p["frames"]))
    total_bytes = sum(m["bytes"] for m in jobs)
    hours = sum(m["seconds_of_audio"] for m in jobs) / 3600
    ckpt = cfg.upstream_ckpt
    meta = {"upstream": cfg.upstream, "upstream_ckpt": os.path.abspath(ckpt) if ckpt and os.path.exists(ckpt) else ckpt,
            "upstream_options": cfg.upstream_options, "layers": first["layers"], "dims": first["dims"],
            "num_layers_total": first["num_layers_total"], "downsample_rate": first["downsample_rate"],
            "dtype": cfg.dtype, "num_utterances": len(scp), "hours_of_audio": hours,
            "bytes": total_bytes, "bytes_per_audio_hour": total_bytes / hours if hours else None}
    if first.get("layers_from"):
        meta["layers_from"] = first["layers_from"]
    write_kv(os.path.join(cfg.out, "feats.scp"), scp)
    write_kv(os.path.join(cfg.out, "utt2num_frames"), frames)
    with atomic_open(os.path.join(cfg.out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    _remove_stale_jobs(cfg)
    return meta


_JOB_FILE = re.compile(r"(?:feats\.(\d+)\.(?:ark|scp)|meta\.(\d+)\.json|utt2num_frames\.(\d+))")


def _remove_stale_jobs(cfg: ExtractConfig) -> None:
    """Drop outputs of jobs beyond --nj left by an earlier run with a larger --nj."""
    for name in os.listdir(cfg.out):
        m = _JOB_FILE.fullmatch(name)
        if m and int(next(g for g in m.groups() if g)) > cfg.nj:
            os.unlink(os.path.join(cfg.out, name))


def extract(cfg: ExtractConfig, job: int | None = None, cmd: str | None = None,
            argv: list[str] | None = None) -> dict | None:
    """Run job ``job`` only, or every unfinished job and the merge; return the merged meta."""
    reader = AudioReader(cfg.data_dir)
    slices = split_utterances(reader.keys(), cfg.nj)
    todo = list(range(1, cfg.nj + 1)) if job is None else [job]
    if job is not None and not 1 <= job <= cfg.nj:
        raise ExtractError(f"--job {job} is outside 1..{cfg.nj}")
    pending = []
    for j in todo:
        utts = slices[j - 1]
        fingerprint = job_fingerprint(cfg, j, utts, [reader.spec(u) for u in utts])
        if job_is_done(cfg, j, fingerprint, len(utts)):
            print(f"extract: job {j}/{cfg.nj} finished in a previous run; skipping", file=sys.stderr)
        else:
            pending.append((j, utts, fingerprint))
    if pending:
        for name in ("meta.json", "feats.scp"):  # the merged dump is no longer valid
            try:
                os.unlink(os.path.join(cfg.out, name))
            except FileNotFoundError:
                pass
    if pending and cmd and job is None:
        for j, _, _ in pending:  # the job runner skips jobs whose log says they succeeded: their output is gone
            try:
                os.unlink(os.path.join(cfg.out, "log", f"extract.{j}.log"))
            except FileNotFoundError:
                pass
        _run_through(cmd, cfg, argv or [])
    elif pending:
        extractor = Extractor(cfg)
        for j, utts, fingerprint in pending:
            print(f"extract: job {j}/{cfg.nj}: {len(utts)} utterances", file=sys.stderr)
            extractor.run_job(j, utts, reader, fingerprint)
    if job is not None:
        return None
    meta = merge(cfg)
    per_hour = meta["bytes_per_audio_hour"]
    print(f"extract: {cfg.out}: {meta['num_utterances']} utterances, {meta['hours_of_audio']:.4f} h of audio, "
          f"{human_bytes(meta['bytes'])} ({human_bytes(per_hour) if per_hour else '-'} per hour of audio)")
    return meta


def _run_through(cmd: str, cfg: ExtractConfig, argv: list[str]) -> None:
    """Run every job as ``cmd JOB=1:N out/log/extract.JOB.log python -m ... --job JOB``."""
    job_args: list[str] = []
    skip_next = False
    for arg in argv:
        if skip_next or arg.startswith("--cmd="):
            skip_next = False
            continue
        if arg == "--cmd":
            skip_next = True
            continue
        job_args.append(arg)
    command = [*shlex.split(cmd), f"JOB=1:{cfg.nj}", os.path.join(cfg.out, "log", "extract.JOB.log"),
               sys.executable, "-m", "speechbench.features.extract", *job_args, "--job", "JOB"]
    try:
        failed = subprocess.run(command).returncode != 0
    except (FileNotFoundError, PermissionError) as e:
        raise ExtractError(f"--cmd '{cmd}': cannot run '{command[0]}' ({e.strerror}); give a job runner that "
                           f"exists, e.g. --cmd egs/utils/run_jobs.sh or a Slurm wrapper, or leave --cmd out "
                           f"to run the jobs in this process") from None
    if failed:
        raise ExtractError(f"extraction jobs failed (logs in {cfg.out}/log); rerun to redo only the failed jobs")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m speechbench.features.extract", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", required=True, help="upstream name (speechbench/upstream/<name>)")
    p.add_argument("--upstream-ckpt", help="the upstream's weights: a file, a released model's name "
                                           "(`speechbench models`), or 'random'")
    p.add_argument("--upstream-options", default="", help="upstream options as key=value,key=value")
    p.add_argument("--data-dir", required=True, nargs="+",
                   help="Kaldi data dir with wav.scp (utt2dur speeds batching); several: one dump each, in order")
    p.add_argument("--out", required=True, nargs="+", help="dump dir, e.g. dump/<upstream>/<set>; one per --data-dir")
    p.add_argument("--nj", type=int, default=1, help="number of jobs the data dir is split into")
    p.add_argument("--job", type=int, help="run only this job (1..nj), no merge")
    p.add_argument("--cmd", help="job runner for the jobs, e.g. \"$extract_cmd\" (default: run them here)")
    p.add_argument("--layers", default="all", help="all, best, or indices such as 0,4,8 (negative from the end)")
    p.add_argument("--from-exp", help="with --layers best: a finished run whose layer weights pick the layers")
    p.add_argument("--num-layers", type=int, default=4, help="with --layers best: how many layers to keep")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="float16")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--batch-seconds", type=float, default=60.0, help="padded audio seconds per batch")
    p.add_argument("--num-threads", type=int, default=0,
                   help="CPU threads per job (0: torch's default, all cores; set it when jobs run in parallel)")
    return p


def configs_from_args(args: argparse.Namespace) -> list[ExtractConfig]:
    """One config per ``--data-dir``/``--out`` pair (several only in this process: a job runner
    gets one set per call, so its job logs stay one per job)."""
    from speechbench.hub import resolve_weights
    from speechbench.upstream.options import parse_options

    if len(args.data_dir) != len(args.out):
        raise ExtractError(f"{len(args.data_dir)} --data-dir but {len(args.out)} --out: give one dump dir per data dir")
    if len(args.data_dir) > 1 and (args.cmd or args.job is not None):
        raise ExtractError("several --data-dir run in this process only: with --cmd or --job give one --data-dir "
                           "and --out per call")
    ckpt = resolve_weights(args.upstream, args.upstream_ckpt).path
    options = parse_options(args.upstream_options)
    return [ExtractConfig(upstream=args.upstream, data_dir=data_dir, out=out, upstream_ckpt=ckpt,
                          upstream_options=dict(options), layers=args.layers, from_exp=args.from_exp,
                          num_layers=args.num_layers, dtype=args.dtype, nj=args.nj, device=args.device,
                          batch_seconds=args.batch_seconds)
            for data_dir, out in zip(args.data_dir, args.out)]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.num_threads > 0:
        torch.set_num_threads(args.num_threads)

    def body() -> None:
        for cfg in configs_from_args(args):
            extract(cfg, job=args.job, cmd=args.cmd, argv=argv)
    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
