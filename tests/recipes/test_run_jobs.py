"""run_jobs.sh: JOB=1:N, failing jobs, resume, parallelism and the Slurm script."""
from __future__ import annotations

import re
from pathlib import Path

RUN_JOBS = Path(__file__).resolve().parents[2] / "egs" / "utils" / "run_jobs.sh"

# Each job counts its runs in runs.JOB and fails while the file fail.JOB exists.
JOB_CMD = ["bash", "-c", 'echo "job $1 output"; echo x >> runs.$1; [ ! -e fail.$1 ]', "job", "JOB"]


def runs(tmp_path: Path, job: int) -> int:
    path = tmp_path / f"runs.{job}"
    return len(path.read_text().split()) if path.exists() else 0


def test_runs_every_job_with_its_log(tmp_path, bash):
    out = bash(RUN_JOBS, "JOB=1:3", "log/x.JOB.log", *JOB_CMD, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for job in (1, 2, 3):
        log = (tmp_path / f"log/x.{job}.log").read_text().splitlines()
        assert log[0] == f"# bash -c 'echo \"job $1 output\"; echo x >> runs.$1; [ ! -e fail.$1 ]' job {job}"
        assert f"job {job} output" in log
        assert log[-1].startswith("# Ended (code 0)")
        assert runs(tmp_path, job) == 1


def test_failing_job_fails_the_call_and_prints_its_tail(tmp_path, bash):
    (tmp_path / "fail.2").touch()
    out = bash(RUN_JOBS, "JOB=1:3", "log/x.JOB.log", *JOB_CMD, cwd=tmp_path)
    assert out.returncode == 1
    assert "job 2 failed with code 1; tail of log/x.2.log" in out.stderr
    assert "job 2 output" in out.stderr
    assert "job 1 output" not in out.stderr
    assert [runs(tmp_path, j) for j in (1, 2, 3)] == [1, 1, 1], "other jobs still run"


def test_rerun_redoes_only_unfinished_jobs(tmp_path, bash):
    (tmp_path / "fail.2").touch()
    assert bash(RUN_JOBS, "JOB=1:3", "log/x.JOB.log", *JOB_CMD, cwd=tmp_path).returncode == 1
    (tmp_path / "fail.2").unlink()
    out = bash(RUN_JOBS, "JOB=1:3", "log/x.JOB.log", *JOB_CMD, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "2 of 3 jobs finished in a previous run" in out.stderr
    assert [runs(tmp_path, j) for j in (1, 2, 3)] == [1, 2, 1]


def test_changed_command_or_stage_hash_reruns_finished_jobs(tmp_path, bash):
    assert bash(RUN_JOBS, "JOB=1:2", "log/x.JOB.log", *JOB_CMD, cwd=tmp_path).returncode == 0
    changed = [*JOB_CMD[:3], "other", "JOB"]
    assert bash(RUN_JOBS, "JOB=1:2", "log/x.JOB.log", *changed, cwd=tmp_path).returncode == 0
    assert [runs(tmp_path, j) for j in (1, 2)] == [2, 2]
    env = {"PATH": "/usr/bin:/bin", "STAGE_HASH": "abc"}
    assert bash(RUN_JOBS, "JOB=1:2", "log/x.JOB.log", *changed, cwd=tmp_path, env=env).returncode == 0
    assert [runs(tmp_path, j) for j in (1, 2)] == [3, 3]
    assert "# stage-hash abc" in (tmp_path / "log/x.1.log").read_text()


def test_max_parallel_limits_concurrent_jobs(tmp_path, bash):
    # A job fails when another holds the lock directory at the same time.
    locked = ["bash", "-c", "mkdir lock || exit 3; sleep 0.4; rmdir lock"]
    assert bash(RUN_JOBS, "--max-parallel", "1", "JOB=1:3", "log/a.JOB.log", *locked,
                cwd=tmp_path).returncode == 0
    out = bash(RUN_JOBS, "--max-parallel", "3", "JOB=1:3", "log/b.JOB.log", *locked, cwd=tmp_path)
    assert out.returncode == 1
    assert "failed with code 3" in out.stderr


def test_single_job_without_range(tmp_path, bash):
    out = bash(RUN_JOBS, "log/one.log", "echo", "JOB", cwd=tmp_path)
    assert out.returncode == 0
    assert "\nJOB\n" in (tmp_path / "log/one.log").read_text()


def test_log_without_job_variable_is_refused(tmp_path, bash):
    out = bash(RUN_JOBS, "JOB=1:2", "log/same.log", "true", cwd=tmp_path)
    assert out.returncode == 2
    assert "does not contain JOB" in out.stderr


def slurm_conf(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf/slurm.conf").write_text("# site\npartition=gpu\ntime=4:00:00\nmem=16G\n")


def test_slurm_dry_run_prints_an_array_script(tmp_path, bash):
    slurm_conf(tmp_path)
    out = bash(RUN_JOBS, "--backend", "slurm", "--dry-run", "--gpus", "1", "--max-parallel", "2",
               "JOB=1:3", "log/x.JOB.log", *JOB_CMD, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    for expected in ("#SBATCH --array=1,2,3%2", "#SBATCH --partition=gpu", "#SBATCH --time=4:00:00",
                     "#SBATCH --mem=16G", "#SBATCH --gpus=1", f"cd {tmp_path}"):
        assert expected in lines, out.stdout
    assert re.search(r'--backend local --max-parallel 1 JOB="\$SLURM_ARRAY_TASK_ID:\$SLURM_ARRAY_TASK_ID" '
                     r"log/x.JOB.log bash -c", lines[-1]), lines[-1]


def test_slurm_script_runs_one_task_and_skips_finished_jobs(tmp_path, bash):
    slurm_conf(tmp_path)
    assert bash(RUN_JOBS, "JOB=1:1", "log/x.JOB.log", *JOB_CMD, cwd=tmp_path).returncode == 0
    out = bash(RUN_JOBS, "--backend", "slurm", "--dry-run", "JOB=1:3", "log/x.JOB.log", *JOB_CMD,
               cwd=tmp_path)
    assert "#SBATCH --array=2,3" in out.stdout.splitlines()
    script = tmp_path / "array.sh"
    script.write_text(out.stdout)
    task = bash(script, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "SLURM_ARRAY_TASK_ID": "3"})
    assert task.returncode == 0, task.stderr
    assert (tmp_path / "log/x.3.log").read_text().splitlines()[-1].startswith("# Ended (code 0)")
    assert [runs(tmp_path, j) for j in (1, 2, 3)] == [1, 0, 1]


def test_slurm_needs_its_config(tmp_path, bash):
    out = bash(RUN_JOBS, "--backend", "slurm", "--dry-run", "JOB=1:2", "log/x.JOB.log", "true", cwd=tmp_path)
    assert out.returncode == 2
    assert "no Slurm config 'conf/slurm.conf'" in out.stderr


def test_slurm_config_rejects_unknown_keys(tmp_path, bash):
    (tmp_path / "s.conf").write_text("partition=gpu\nmemory=3G\n")
    out = bash(RUN_JOBS, "--backend", "slurm", "--slurm-conf", "s.conf", "--dry-run", "JOB=1:2",
               "log/x.JOB.log", "true", cwd=tmp_path)
    assert out.returncode == 2
    assert "s.conf:2:" in out.stderr and "memory=3G" in out.stderr


def test_killed_runner_stops_its_jobs_and_rerun_finishes_them(tmp_path):
    import os
    import signal
    import subprocess
    import time

    cmd = ["bash", "-c", 'echo $$ > pid.$1; [ "$1" = 2 ] && [ -e slow ] && sleep 30; echo x >> runs.$1; true',
           "job", "JOB"]
    (tmp_path / "slow").touch()
    runner = subprocess.Popen(["bash", str(RUN_JOBS), "JOB=1:2", "log/x.JOB.log", *cmd], cwd=tmp_path,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    log1 = tmp_path / "log/x.1.log"
    while not ((tmp_path / "pid.2").exists() and log1.exists() and "# Ended (code 0)" in log1.read_text()) \
            and time.time() < deadline:
        time.sleep(0.05)
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=30) == 128 + signal.SIGTERM
    pid = int((tmp_path / "pid.2").read_text())
    time.sleep(0.2)
    assert not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().split()[2]
    assert "# Ended (code 0)" not in (tmp_path / "log/x.2.log").read_text()
    (tmp_path / "slow").unlink()
    rerun = subprocess.run(["bash", str(RUN_JOBS), "JOB=1:2", "log/x.JOB.log", *cmd], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    assert [runs(tmp_path, j) for j in (1, 2)] == [1, 1]


FAKE_SBATCH = """#!/usr/bin/env bash
# Stand-in for `sbatch --wait script`: runs each array task in turn, like a tiny cluster.
[ "$1" = --wait ] || exit 64
echo "$@" >> sbatch.calls
tasks=$(sed -n 's/^#SBATCH --array=\\([0-9,]*\\).*/\\1/p' "$2" | tr , ' ')
code=0
for t in $tasks; do SLURM_ARRAY_TASK_ID=$t SLURM_ARRAY_JOB_ID=7 bash "$2" || code=1; done
exit $code
"""


def test_slurm_backend_submits_waits_and_reports(tmp_path, bash):
    slurm_conf(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(FAKE_SBATCH)
    (bin_dir / "sbatch").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    (tmp_path / "fail.3").touch()
    out = bash(RUN_JOBS, "--backend", "slurm", "JOB=1:3", "log/x.JOB.log", *JOB_CMD, cwd=tmp_path, env=env)
    assert out.returncode == 1
    assert "job 3 failed with code 1; tail of log/x.3.log" in out.stderr
    assert (tmp_path / "log/x.sbatch.sh").read_text().startswith("#!/usr/bin/env bash\n#SBATCH --job-name=x\n")
    (tmp_path / "fail.3").unlink()
    out = bash(RUN_JOBS, "--backend", "slurm", "JOB=1:3", "log/x.JOB.log", *JOB_CMD, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert [runs(tmp_path, j) for j in (1, 2, 3)] == [1, 1, 2]
    assert "#SBATCH --array=3\n" in (tmp_path / "log/x.sbatch.sh").read_text()
