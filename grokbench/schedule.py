"""Evaluation points: every N steps, or log-spaced (ten per decade, never denser than N)."""

from __future__ import annotations

import math

from lightning.pytorch.callbacks import Callback


def log_spaced_interval(step: int, every: int) -> int:
    """Interval after `step`: a tenth of the current decade, at least `every` steps.

    Each new interval divides the step where it starts (a power of ten), so evaluations land
    on 100, 200, ..., 1000, 2000, ...: ten per decade, evenly spread on a log axis.
    """
    if step < 10:
        return every
    return max(every, 10 ** int(math.log10(step)))


class LogSpacedEvaluation(Callback):
    """Widens Lightning's validation interval as training goes on (no extra evaluations)."""

    def __init__(self, every: int):
        self.every = every

    def _update(self, trainer) -> None:
        trainer.val_check_batch = log_spaced_interval(trainer.global_step, self.every)

    def on_train_start(self, trainer, pl_module) -> None:
        self._update(trainer)

    def on_validation_end(self, trainer, pl_module) -> None:
        self._update(trainer)
