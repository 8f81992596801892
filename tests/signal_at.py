"""A Lightning callback that sends its own process a signal after a given step: a real signal,
delivered at a known point (a test cannot time an outside `kill` against a 1,000 steps/s run).
Runs in `grokbench run` subprocesses through `+callbacks.signal._target_=signal_at.SignalAt`."""

from __future__ import annotations

import os

import lightning as L


class SignalAt(L.Callback):
    def __init__(self, step: int, signum: int):
        self.step, self.signum = int(step), int(signum)

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)
