"""What became of a `grokbench run -m` sweep, read from its runs' records.

The runs of a joblib (or SLURM) sweep live in other processes, so the parent cannot collect
their outcomes in memory: a Hydra callback notes where and when the sweep started (it runs in
the parent), and afterwards the parent reads the record of every run directory the sweep
wrote. A run directory whose job never wrote a record (killed) counts as failed too.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from grokbench.errors import GrokbenchError
from grokbench.record import RECORD_NAME, read_record

CLOCK_SLACK_S = 2.0  # file times vs time.time(): coarse file-system timestamps
started: dict[str, Any] = {}  # this process's last sweep: {"dir": Path, "at": seconds}


class SweepWatch(Callback):
    """Registered in conf/config.yaml (`hydra.callbacks`); Hydra calls it in the parent process."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        started.update(dir=Path(str(config.hydra.sweep.dir)), at=time.time())
        if "submitit" in str(config.hydra.launcher.get("_target_", "")):
            from grokbench.slurm import use_squeue_without_accounting

            use_squeue_without_accounting()


def sweep_run_dirs(sweep_dir: Path, since: float) -> list[Path]:
    """Run directories under `sweep_dir` that a sweep started at `since` wrote: Hydra saves
    `.hydra/` when a job starts, the run writes its record; older directories (earlier sweeps
    into the same folder, e.g. a suite's results/records) are left out."""
    marks = [*sweep_dir.rglob(".hydra/overrides.yaml"), *sweep_dir.rglob(RECORD_NAME)]
    dirs = {p.parent.parent if p.parent.name == ".hydra" else p.parent
            for p in marks if p.stat().st_mtime >= since - CLOCK_SLACK_S}
    return sorted(dirs)


def sweep_failures(sweep_dir: Path, since: float) -> list[tuple[Path, str]]:
    """(run directory, why) for each run of the sweep that failed or left no record."""
    failures = []
    for run_dir in sweep_run_dirs(sweep_dir, since):
        path = run_dir / RECORD_NAME
        if not path.exists():
            failures.append((run_dir, "no record (the job was killed or crashed before writing one)"))
            continue
        try:
            record = read_record(path)
        except GrokbenchError as error:
            failures.append((run_dir, str(error)))
            continue
        if record.get("status") in ("failed", "running"):
            failures.append((run_dir, str(record.get("error") or "stopped while running")))
    return failures


def report_failures() -> bool:
    """After `grokbench run -m`: print the sweep's failed runs (stderr); whether there were any."""
    if not started:  # the sweep never started (Hydra refused it)
        return False
    failures = sweep_failures(started["dir"], started["at"])
    if failures:
        print(f"error: {len(failures)} run(s) of the sweep in {started['dir']} failed:", file=sys.stderr)
        for run_dir, why in failures:
            print(f"  {run_dir}: {why}", file=sys.stderr)
    return bool(failures)
