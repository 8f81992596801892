"""The SLURM path against a real scheduler: the single-node SLURM of `.ci/slurm-up` (root only).
Records land where a local sweep puts them, a failing job is a failed record and a non-zero exit,
and a requeued job resumes from checkpoints/last.ckpt to the record of an uninterrupted run.
Skipped, in one line, where SLURM cannot start; `.ci/run` sets GROKBENCH_REQUIRE_SLURM=1 so that
in CI they run or fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from resumable import TESTS, TINY, assert_same_run, subprocess_env

from grokbench.record import read_record

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
SLURM_UP = TESTS.parent / ".ci" / "slurm-up"
ON_SLURM = ["launcher=slurm", "hydra.launcher.gpus_per_node=0", "hydra.launcher.cpus_per_task=1",
            "hydra.launcher.mem_gb=1", "hydra.launcher.timeout_min=10"]


def slurm_answers() -> bool:
    try:
        return subprocess.run(["sinfo", "-h"], capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.fixture(scope="module", autouse=True)
def slurm():
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="the `slurm` extra is not installed")
    why = None
    if not slurm_answers():
        if os.geteuid() != 0:
            why = "SLURM is not running and .ci/slurm-up needs root"
        else:
            started = subprocess.run([str(SLURM_UP)], capture_output=True, text=True, timeout=600, check=False)
            why = None if started.returncode == 0 else (started.stderr.strip() or "slurm-up failed")
    if why:
        if os.environ.get("GROKBENCH_REQUIRE_SLURM"):
            pytest.fail(f"SLURM cannot start here: {why}")
        pytest.skip(f"SLURM cannot start here: {why}")


def grokbench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grokbench.cli", *args], cwd=cwd, env=subprocess_env(), capture_output=True,
                          text=True, timeout=600, check=False)


def records_under(root: Path) -> dict[str, dict]:
    return {str(p.relative_to(root)): read_record(p) for p in root.rglob("record.json")}


def test_a_sweep_on_slurm_lands_its_records_where_a_local_one_does_and_fails_with_its_failed_job(tmp_path):
    sweep = ["run", "-m", *TINY, "trainer.max_steps=40", "seed=0,4294967296"]
    local = grokbench(*sweep, f"hydra.sweep.dir={tmp_path / 'local'}", cwd=tmp_path)
    slurm = grokbench(*sweep, *ON_SLURM, f"hydra.sweep.dir={tmp_path / 'slurm'}", cwd=tmp_path)
    assert (local.returncode, slurm.returncode) == (1, 1), slurm.stderr
    on_slurm, here = records_under(tmp_path / "slurm"), records_under(tmp_path / "local")
    assert sorted(on_slurm) == sorted(here) == ["0_modular_seed0/record.json", "1_modular_seed4294967296/record.json"]
    good, bad = (on_slurm[k] for k in sorted(on_slurm))
    assert good["status"] == "completed" and good["curve"] == here["0_modular_seed0/record.json"]["curve"]
    assert bad["status"] == "failed" and bad["error"].startswith("seed=4294967296 is invalid")
    assert f"{tmp_path / 'slurm' / '1_modular_seed4294967296'}: seed=4294967296 is invalid" in slurm.stderr
    assert "sacct" not in slurm.stdout + slurm.stderr  # no accounting here: states come from squeue
    assert "Traceback" not in slurm.stderr


def test_grokbench_suite_on_slurm_writes_every_record_of_the_suite(tmp_path):
    out = tmp_path / "records"
    done = grokbench("suite", "ci", "--sweeps", "algorithmic", "--seeds", "0", "--out", str(out), *ON_SLURM,
                     "threads=1", "trainer.max_steps=10", "eval.every=5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    recipes = ["default", "default_control", "s5_token_mlp", "s5_token_mlp_control"]
    assert sorted(records_under(out)) == [f"{r}/seed0/record.json" for r in recipes]
    assert all(r["status"] == "completed" and r["steps"] == 10 for r in records_under(out).values())


def job_state(job: str) -> str:
    return subprocess.run(["squeue", "-h", "-t", "all", "-j", job, "-o", "%T"], capture_output=True, text=True,
                          check=False).stdout.strip()


def wait_for(condition, what: str, seconds: float = 180):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def interrupt_after_its_first_checkpoint(tmp_path: Path, interrupt: list[str], uninterrupted) -> str:
    """Run the tiny run as a SLURM job, `interrupt` it (a command taking the job id) once its
    first checkpoint is written, release the requeued job and check it ends as an uninterrupted
    run; the first attempt's log."""
    run_dir = tmp_path / "sweep" / "0_modular_seed0"
    sweep = subprocess.Popen(
        [sys.executable, "-m", "grokbench.cli", "run", "-m", *TINY, *ON_SLURM, "seed=0",
         "+callbacks.pause._target_=injected.PauseEachStep", "+callbacks.pause.seconds=0.05",
         f"hydra.sweep.dir={tmp_path / 'sweep'}"], cwd=tmp_path, env=subprocess_env(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (run_dir / "checkpoints" / "last.ckpt").exists(), "the first checkpoint")
        (job,) = [p.name for p in (tmp_path / "sweep" / ".submitit").iterdir() if p.name.isdigit()]
        assert subprocess.run([*interrupt, job], check=False).returncode == 0
        wait_for(lambda: job_state(job) == "PENDING", "the requeued job to be pending")
        # SLURM holds a requeued job back for two minutes (its BeginTime); release it now
        subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], check=True)
        _, err = sweep.communicate(timeout=300)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 0, err[-3000:]
    record = json.loads((run_dir / "record.json").read_text())
    assert record["resumed_from_step"] > 0
    assert_same_run(record, run_dir, uninterrupted)
    return next((tmp_path / "sweep" / ".submitit" / job).glob("*_0_log.err")).read_text()


def test_a_requeued_job_resumes_from_its_checkpoint_to_the_record_of_an_uninterrupted_run(tmp_path, uninterrupted):
    log = interrupt_after_its_first_checkpoint(tmp_path, ["scontrol", "requeue"], uninterrupted)
    assert "error: interrupted by SIGTERM at step" in log  # the first attempt checkpointed on its way out


def test_submitits_time_limit_signal_checkpoints_the_step_before_submitit_requeues(tmp_path, uninterrupted):
    """USR2, which SLURM sends a submitit job before its time limit (hydra.launcher.signal_delay_s)."""
    log = interrupt_after_its_first_checkpoint(tmp_path, ["scancel", "--signal=USR2"], uninterrupted)
    stopped = next(line for line in log.splitlines() if "interrupted by SIGUSR2 at step" in line)
    step = int(stopped.split(" at step ")[1].split(" ")[0].replace(",", ""))
    assert f"(step {step:,})" in stopped  # checkpointed at the step it stopped at, not the periodic one
    assert log.index(stopped) < log.index("Caught signal SIGUSR2")  # then submitit's handler ran
    assert "DUE TO JOB REQUEUE" in log  # and requeued the job
