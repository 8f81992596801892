"""A run directory: created with a one-line error when it cannot be, and written by one run at a time.

The lock is `fcntl.flock` on `<run_dir>/.lock`: the kernel drops it when its process ends, however
it ends (a SIGKILL too), so a dead run never leaves a directory locked.
"""

from __future__ import annotations

import fcntl
import os
import socket
from contextlib import contextmanager
from pathlib import Path

from grokbench.errors import GrokbenchError

LOCK_NAME = ".lock"


class RunDirInUse(GrokbenchError):
    """Another live run writes this directory: its record is not this run's to write."""


def unusable_reason(path: Path) -> str | None:
    """Why a run directory cannot be created or written at `path`, None when it can."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None


def cannot_hold(path: Path, key: str, reason: str) -> GrokbenchError:
    return GrokbenchError(f"{key}={path} cannot hold a run: {reason}; allowed: a path where a directory "
                          "can be created and written")


def make_output_dir(path: Path, key: str) -> None:
    """The directory Hydra creates first, created here where that fails in one line (Hydra's own
    failure is a traceback)."""
    reason = unusable_reason(path)
    if reason is None:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            reason = error.strerror or str(error)
    if reason is not None:
        raise cannot_hold(path, key, reason)


def make_run_dir(path: Path, key: str = "run_dir") -> Path:
    """The run directory, created; one line naming `key` when it cannot be."""
    make_output_dir(path, key)
    try:
        (path / LOCK_NAME).touch()  # the lock file: also proves the directory is writable
    except OSError as error:
        raise cannot_hold(path, key, error.strerror or str(error)) from None
    return path


def require_free(run_dir: Path) -> None:
    """Before Hydra writes its .hydra/ into a directory: another run holding it fails here."""
    if (run_dir / LOCK_NAME).is_file():
        with exclusive(run_dir, mark=False):
            pass


@contextmanager
def exclusive(run_dir: Path, mark: bool = True):
    """Hold the run directory's lock for the length of the block; RunDirInUse at once if held.
    `mark`: write this process into the lock file (a check that only peeks does not)."""
    handle = open(run_dir / LOCK_NAME, "a+")  # noqa: SIM115 - held open for the whole run
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            raise RunDirInUse(f"run directory {run_dir} is in use by another run ({owner}); allowed: "
                              "a different run directory (hydra.run.dir=...), or wait until that run "
                              "ends") from None
        if mark:  # who holds it, for the message above
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
            handle.flush()
        yield run_dir
    finally:
        handle.close()  # closing the file drops the lock
