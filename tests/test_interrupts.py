"""Interrupts and resume: SIGINT and SIGTERM end a run at a step with a checkpoint, one line and a
non-zero exit; SIGKILL leaves the last periodic checkpoint; every kind, resumed, ends with the
record and metrics.csv of an uninterrupted run. One run writes a run directory at a time."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from resumable import TINY, assert_same_run, metrics_rows, subprocess_env

from grokbench import run
from grokbench.config import compose_config
from grokbench.rundir import LOCK_NAME, RunDirInUse, exclusive


@pytest.fixture(autouse=True)
def sigint_as_in_a_terminal():
    """SIGINT handled as in a foreground terminal (and so at its default in subprocesses), even
    where pytest was started ignoring it (a script's background job): a run keeps ignoring it then."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def signal_at(step: int, signum: int) -> list[str]:
    return ["+callbacks.signal._target_=injected.SignalAt", f"+callbacks.signal.step={step}",
            f"+callbacks.signal.signum={int(signum)}"]


@pytest.mark.slow
@pytest.mark.parametrize("step", [130, 140])  # 140: the signal comes before that step's evaluation
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_the_run_at_its_step_and_resuming_loses_nothing(signum, step, tmp_path, uninterrupted):
    name = signal.Signals(signum).name
    interrupted = run.train(compose_config([*TINY, *signal_at(step, signum)], tmp_path))
    assert interrupted["status"] == "failed" and interrupted["interrupted"] == name
    assert interrupted["steps"] == step and interrupted["traceback"] is None
    assert interrupted["curve"] == [r for r in uninterrupted[0]["curve"] if r["step"] <= step]  # 140 included
    assert interrupted["profile"]  # the profile of the steps trained so far
    line = interrupted["error"]
    assert line.startswith(f"interrupted by {name} at step {step} of 240; checkpoint ")
    assert f"(step {step}); resume: grokbench run" in line and f"hydra.run.dir={tmp_path}" in line
    resumed = run.train(compose_config(TINY, tmp_path))
    assert resumed["resumed_from_step"] == step
    assert_same_run(resumed, tmp_path, uninterrupted)


def test_a_signal_after_the_last_step_completes_the_run(tmp_path, uninterrupted):
    finished = run.train(compose_config([*TINY, *signal_at(240, signal.SIGTERM)], tmp_path))
    assert finished["status"] == "completed" and finished["error"] is None and "interrupted" not in finished
    assert_same_run(finished, tmp_path, uninterrupted)


@pytest.mark.slow
def test_a_crash_between_checkpoints_resumes_without_lost_or_duplicate_metrics_rows(tmp_path, uninterrupted):
    """Checkpoint at 120, evaluations logged at 120 and 140, crash at 150: the resumed run starts at
    120 and logs 140 again; metrics.csv keeps each step once."""
    crash = ["+callbacks.crash._target_=injected.CrashAt", "+callbacks.crash.step=150"]
    crashed = run.train(compose_config([*TINY, *crash], tmp_path))
    assert crashed["status"] == "failed" and crashed["error"] == "RuntimeError: crashed at step 150"
    assert "interrupted" not in crashed
    assert [r["step"] for r in metrics_rows(tmp_path)][-2:] == ["119", "139"]
    resumed = run.train(compose_config(TINY, tmp_path))
    assert resumed["resumed_from_step"] == 120
    assert_same_run(resumed, tmp_path, uninterrupted)


def test_a_signal_the_process_was_started_ignoring_stays_ignored(tmp_path):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell starts a background job
    record = run.train(compose_config([*TINY, "trainer.max_steps=140", *signal_at(130, signal.SIGINT)], tmp_path))
    assert record["status"] == "completed" and record["steps"] == 140
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_checkpoint_past_max_steps_is_one_line_and_a_failed_record(tmp_path):
    first = run.train(compose_config([*TINY, *signal_at(130, signal.SIGINT)], tmp_path))
    assert first["interrupted"] == "SIGINT"
    again = run.train(compose_config([*TINY, "trainer.max_steps=100"], tmp_path))
    assert again["status"] == "failed" and again["steps"] == 0 and "\n" not in again["error"]
    assert again["error"].startswith("trainer.max_steps=100 is below the step of ")
    assert "allowed: trainer.max_steps >= 130, or checkpoint.resume=false" in again["error"]


def test_a_second_run_into_a_directory_in_use_fails_at_once(tmp_path):
    (tmp_path / "record.json").write_text('{"status": "running"}')
    in_use = rf"run directory {tmp_path} is in use by another run \(pid {os.getpid()}"
    with exclusive(tmp_path), pytest.raises(RunDirInUse, match=in_use):
        run.train(compose_config(TINY, tmp_path))
    assert json.loads((tmp_path / "record.json").read_text()) == {"status": "running"}  # not its to write


@pytest.mark.slow
def test_the_lock_of_a_killed_run_is_free(tmp_path):
    script = ("import time; from pathlib import Path; from grokbench.rundir import exclusive\n"
              f"with exclusive(Path({str(tmp_path)!r})): print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunDirInUse):
        run.train(compose_config(TINY, tmp_path))
    holder.kill()
    holder.wait()
    assert (tmp_path / LOCK_NAME).exists()
    assert run.train(compose_config([*TINY, "trainer.max_steps=20"], tmp_path))["status"] == "completed"


def grokbench_run(overrides: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grokbench.cli", "run", *overrides], cwd=cwd, env=subprocess_env(),
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -9)])
def test_grokbench_run_killed_then_resumed_ends_as_uninterrupted(signum, code, tmp_path, uninterrupted):
    run_dir = tmp_path / "run"
    killed = grokbench_run([*TINY, *signal_at(130, signum), f"hydra.run.dir={run_dir}"], tmp_path)
    assert killed.returncode == code, killed.stderr
    assert "Traceback" not in killed.stderr
    if signum == signal.SIGKILL:  # no line, no record: the periodic checkpoint (step 120) is what is left
        assert not (run_dir / "record.json").exists()
        resume = [*TINY, f"hydra.run.dir={run_dir}"]
    else:
        name = signal.Signals(signum).name
        lines = [line for line in killed.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith(f"error: interrupted by {name} at step 130 of 240; "
                                                       f"checkpoint {run_dir}"), lines
        record = json.loads((run_dir / "record.json").read_text())
        assert record["status"] == "failed" and record["steps"] == 130
        resume = shlex.split(lines[-1].split("; resume: ", 1)[1].split("  (record:")[0])[2:]
    resumed = grokbench_run(resume, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(json.loads((run_dir / "record.json").read_text()), run_dir, uninterrupted)
