#!/usr/bin/env python3
"""Run one command as N jobs, locally or as a Slurm array (Kaldi's run.pl / slurm.pl).

    run_jobs.sh [options] JOB=1:N LOGDIR/name.JOB.log command args...   (JOB replaced by 1..N)
    run_jobs.sh [options] LOGDIR/name.log command args...               (one job)

Each job's output goes to its log, framed by a header holding the command line and a
footer ``# Ended (code C) at ...``. A job whose log already ends with ``# Ended (code 0)``
for the same command (and the same $STAGE_HASH, see stage.sh) is skipped, so re-running
an interrupted stage redoes only the unfinished jobs. Exit status is non-zero when any job
fails, after printing the tail of each failed log. Standard library only, so it runs
before the project environment is active.
"""
from __future__ import annotations

import argparse
import datetime
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

SUCCESS = "# Ended (code 0)"
SLURM_KEYS = ("partition", "time", "mem", "gpus", "cpus_per_task", "account", "qos", "extra")
TAIL_LINES = 20


class JobError(Exception):
    """Bad usage or configuration; reported as one line without a traceback."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="run_jobs.sh", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=("local", "slurm"), default="local")
    p.add_argument("--max-parallel", type=int, default=None,
                   help="local: jobs running at once (default: nproc); slurm: array throttle (default: none)")
    p.add_argument("--slurm-conf", default="conf/slurm.conf",
                   help="key=value lines: " + ", ".join(SLURM_KEYS))
    for key in ("partition", "time", "mem", "gpus", "cpus-per-task"):
        p.add_argument(f"--{key}", help=f"slurm: override {key} of --slurm-conf")
    p.add_argument("--dry-run", action="store_true", help="slurm: print the sbatch script and exit")
    p.add_argument("spec", nargs=argparse.REMAINDER, metavar="[JOB=1:N] LOG COMMAND...")
    args = p.parse_args(argv)
    spec = list(args.spec)
    args.job_var, args.first, args.last = None, 1, 1
    if spec and re.fullmatch(r"[A-Za-z_]\w*=\d+:\d+", spec[0]):
        name, rng = spec.pop(0).split("=")
        args.job_var = name
        args.first, args.last = (int(x) for x in rng.split(":"))
        if args.first > args.last:
            raise JobError(f"empty job range {name}={rng}")
    if len(spec) < 2:
        raise JobError("usage: run_jobs.sh [options] [JOB=1:N] LOGDIR/name.JOB.log command args...")
    args.log, args.command = spec[0], spec[1:]
    if args.job_var and args.job_var not in args.log and args.first != args.last:
        raise JobError(f"log path '{args.log}' does not contain {args.job_var}; "
                       f"every job would write the same log")
    args.max_parallel_given = args.max_parallel is not None
    if not args.max_parallel_given:
        args.max_parallel = os.cpu_count() or 1
    if args.max_parallel < 1:
        raise JobError("--max-parallel must be at least 1")
    return args


def substitute(text: str, var: str | None, job: int) -> str:
    """Replace the job variable (as a whole word, like run.pl) by the job number."""
    return text if var is None else re.sub(rf"\b{re.escape(var)}\b", str(job), text)


def job_command(args: argparse.Namespace, job: int) -> list[str]:
    return [substitute(a, args.job_var, job) for a in args.command]


def header(cmd: list[str]) -> str:
    """First lines of a job log: what ran (and under which stage hash), to decide on resume."""
    lines = [f"# {shlex.join(cmd)}"]
    if os.environ.get("STAGE_HASH"):
        lines.append(f"# stage-hash {os.environ['STAGE_HASH']}")
    return "\n".join(lines) + "\n"


def finished(log: Path, cmd: list[str]) -> bool:
    """True when ``log`` records a successful run of exactly this command and stage hash."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return False
    lines = text.rstrip("\n").split("\n")
    return text.startswith(header(cmd)) and lines[-1].startswith(SUCCESS)


def tail(log: Path, n: int = TAIL_LINES) -> str:
    """Last ``n`` lines of a log, for the failure report."""
    try:
        return "\n".join(log.read_text(errors="replace").rstrip("\n").split("\n")[-n:])
    except OSError as e:
        return f"(cannot read {log}: {e})"


def now() -> str:
    return datetime.datetime.now().strftime("%a %b %d %H:%M:%S %Y")


def run_local(args: argparse.Namespace, todo: list[int]) -> dict[int, int]:
    """Run ``todo`` jobs, at most --max-parallel at once; return exit codes."""
    running: dict[int, tuple[subprocess.Popen, object, float]] = {}
    codes: dict[int, int] = {}
    queue = list(todo)

    def collect(job: int) -> None:
        proc, fh, start = running.pop(job)
        elapsed = time.time() - start
        fh.write(f"# Accounting: time={elapsed:.0f} threads=1\n"
                 f"# Ended (code {proc.returncode}) at {now()}, elapsed time {elapsed:.0f} seconds\n")
        fh.close()
        codes[job] = proc.returncode

    def stop(signum, _frame):
        """Record jobs that already ended, then take the others down with us (they rerun)."""
        for job in [j for j, (p, _, _) in running.items() if p.poll() is not None]:
            collect(job)
        for proc, _, _ in running.values():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while queue or running:
        while queue and len(running) < args.max_parallel:
            job = queue.pop(0)
            cmd = job_command(args, job)
            log = Path(substitute(args.log, args.job_var, job))
            log.parent.mkdir(parents=True, exist_ok=True)
            fh = open(log, "w")
            fh.write(header(cmd) + f"# Started at {now()}\n#\n")
            fh.flush()
            env = dict(os.environ, **({args.job_var: str(job)} if args.job_var else {}))
            try:
                proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True)
            except OSError as e:
                fh.write(f"run_jobs.sh: cannot start {cmd[0]}: {e}\n# Ended (code 127) at {now()}\n")
                fh.close()
                codes[job] = 127
                continue
            running[job] = (proc, fh, time.time())
        time.sleep(0.05)
        for job in [j for j, (p, _, _) in running.items() if p.poll() is not None]:
            collect(job)
    return codes


def read_slurm_conf(path: str) -> dict[str, str]:
    """``key=value`` lines (``#`` comments); unknown keys are errors naming the line."""
    if not os.path.isfile(path):
        raise JobError(f"no Slurm config '{path}'; copy egs/TEMPLATE/conf/slurm.conf to your "
                       f"recipe's conf/ and set your partition (or pass --slurm-conf)")
    conf: dict[str, str] = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            key, sep, value = line.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in SLURM_KEYS:
                raise JobError(f"{path}:{lineno}: expected one of {', '.join(SLURM_KEYS)} as key=value, "
                               f"got '{line}'")
            conf[key] = value.strip()
    return conf


def slurm_script(args: argparse.Namespace, todo: list[int]) -> str:
    """The sbatch array script: each task runs its job through this runner's local backend,
    so logs, skipping and exit codes are the same as with ``--backend local``."""
    conf = read_slurm_conf(args.slurm_conf)
    for key in ("partition", "time", "mem", "gpus", "cpus_per_task"):
        if getattr(args, key) is not None:
            conf[key] = getattr(args, key)
    name = re.sub(r"\W", "_", Path(args.log).name.split(".")[0]) or "job"
    array = ",".join(str(j) for j in todo)
    if args.max_parallel_given:
        array += f"%{args.max_parallel}"
    lines = ["#!/usr/bin/env bash", f"#SBATCH --job-name={name}", f"#SBATCH --array={array}",
             f"#SBATCH --output={os.path.join(os.path.dirname(os.path.abspath(args.log)), 'slurm-%A_%a.out')}"]
    for key in ("partition", "time", "mem", "gpus", "cpus_per_task", "account", "qos"):
        if conf.get(key):
            lines.append(f"#SBATCH --{key.replace('_', '-')}={conf[key]}")
    lines += [f"#SBATCH {opt}" for opt in shlex.split(conf.get("extra", ""))]
    lines.append(f"cd {shlex.quote(os.getcwd())}")
    if os.environ.get("STAGE_HASH"):
        lines.append(f"export STAGE_HASH={shlex.quote(os.environ['STAGE_HASH'])}")
    var = args.job_var or "JOB"
    runner = [sys.executable, os.path.abspath(__file__), "--backend", "local", "--max-parallel", "1"]
    job_spec = f'{var}="$SLURM_ARRAY_TASK_ID:$SLURM_ARRAY_TASK_ID"'
    lines.append(f"exec {shlex.join(runner)} {job_spec} {shlex.join([args.log, *args.command])}")
    return "\n".join(lines) + "\n"


def run_slurm(args: argparse.Namespace, todo: list[int]) -> dict[int, int] | None:
    """Submit the array with ``sbatch --wait``; read each job's code back from its log."""
    script = slurm_script(args, todo)
    if args.dry_run:
        sys.stdout.write(script)
        return None
    if shutil.which("sbatch") is None:
        raise JobError("sbatch not found: --backend slurm needs a Slurm login node "
                       "(use cmd_backend=local here)")
    path = Path(args.log).parent / (Path(args.log).name.split(".")[0] + ".sbatch.sh")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    subprocess.run(["sbatch", "--wait", str(path)], check=False)
    codes = {}
    for job in todo:
        text = tail(Path(substitute(args.log, args.job_var, job)), 1)
        m = re.match(r"# Ended \(code (-?\d+)\)", text)
        codes[job] = int(m.group(1)) if m else 1
    return codes


def main(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
        jobs = range(args.first, args.last + 1)
        logs = {j: Path(substitute(args.log, args.job_var, j)) for j in jobs}
        todo = [j for j in jobs if not finished(logs[j], job_command(args, j))]
        if len(todo) < len(jobs) and not args.dry_run:
            print(f"run_jobs.sh: {len(jobs) - len(todo)} of {len(jobs)} jobs finished in a previous run "
                  f"(their {args.log} end with '{SUCCESS}'); running {len(todo)}", file=sys.stderr)
        if not todo:
            if args.dry_run:
                print("run_jobs.sh: every job finished in a previous run; nothing to submit", file=sys.stderr)
            return 0
        if args.backend == "slurm":
            codes = run_slurm(args, todo)
            if codes is None:
                return 0
        else:
            codes = run_local(args, todo)
    except JobError as e:
        print(f"run_jobs.sh: {e}", file=sys.stderr)
        return 2
    failed = sorted(j for j, c in codes.items() if c != 0)
    for j in failed:
        print(f"run_jobs.sh: job {j} failed with code {codes[j]}; tail of {logs[j]}:\n{tail(logs[j])}\n",
              file=sys.stderr)
    if failed:
        print(f"run_jobs.sh: {len(failed)} of {len(codes)} jobs failed: {' '.join(str(logs[j]) for j in failed)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
