"""Lightning callbacks that tests inject into runs (`+callbacks.NAME._target_=injected.SignalAt`;
subprocesses get tests/ on PYTHONPATH): a signal sent by the run to itself after a given step (a
real signal at a known point: a test cannot time an outside `kill` against a 1,000 steps/s
run), a crash, and a pause after each step."""

from __future__ import annotations

import os
import time

import lightning as L


class SignalAt(L.Callback):
    def __init__(self, step: int, signum: int):
        self.step, self.signum = int(step), int(signum)

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)


class PauseEachStep(L.Callback):
    """Slows a tiny run down so that a test can act on it while it trains (a SLURM requeue)."""

    def __init__(self, seconds: float):
        self.seconds = float(seconds)

    def on_train_batch_end(self, *args) -> None:
        time.sleep(self.seconds)


class CrashAt(L.Callback):
    """A crash between two checkpoints: the run dies with an error as `step` starts."""

    def __init__(self, step: int):
        self.step = int(step)

    def on_train_batch_start(self, trainer, *args) -> None:
        if trainer.global_step == self.step:
            raise RuntimeError(f"crashed at step {self.step}")
