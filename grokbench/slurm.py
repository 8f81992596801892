"""Job states for submitit where SLURM keeps no accounting.

submitit reads job states with `sacct`, which needs SLURM's accounting database. Where there is
none (a single-node SLURM such as the one `.ci/slurm-up` starts, many small clusters), every
poll printed sacct's "accounting storage is disabled" and submitit's "Bypassing sacct error"
warning, and a job that ended without its result file (killed, cancelled) was never seen to end.
There, `squeue` answers instead, in sacct's format: it lists every job SLURM still knows,
finished ones included (for MinJobAge, 300 s by default).
"""

from __future__ import annotations

import functools
import subprocess

# the optional `slurm` extra: this module is imported only with launcher=slurm
from submitit.slurm.slurm import (
    SlurmInfoWatcher,
    SlurmJob,
)

HEADER = "JobID|State|NodeList"  # sacct --parsable2's, which submitit's reader expects


@functools.cache
def accounting_enabled() -> bool:
    try:
        config = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True,
                                timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return True  # cannot tell: leave submitit as it is
    return "accounting_storage/none" not in config


def squeue_command(job_ids: list[str]) -> list[str]:
    """sacct's answer from squeue: every task of the jobs (-r: array tasks one per line), in
    every state (-t all); a job SLURM has forgotten is simply absent."""
    ids = ",".join(job_ids)
    return ["sh", "-c", f"echo '{HEADER}'; squeue -h -r -t all -j {ids} -o '%i|%T|%N' 2>/dev/null; true"]


class SqueueWatcher(SlurmInfoWatcher):
    def _make_command(self) -> list[str] | None:
        command = super()._make_command()  # sacct ... -j ID -j ID: the jobs still to watch
        if command is None:
            return None
        return squeue_command([command[i + 1] for i, arg in enumerate(command) if arg == "-j"])


def use_squeue_without_accounting() -> None:
    """Make submitit's SLURM jobs read their states from squeue where sacct cannot answer (in the
    process that submits and waits: `grokbench run -m launcher=slurm`)."""
    if not accounting_enabled() and not isinstance(SlurmJob.watcher, SqueueWatcher):
        SlurmJob.watcher = SqueueWatcher(delay_s=60)
