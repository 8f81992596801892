"""Evaluation points: every N steps, or log-spaced (ten per decade, never denser than N)."""

from __future__ import annotations

import math

from lightning.pytorch.callbacks import Callback


def log_spaced_interval(step: int, every: int, max_steps: int | None = None) -> int:
    """Interval after `step`: a tenth of the current decade, at least `every` steps.

    Each new interval divides the step where it starts (a power of ten), so evaluations land
    on 100, 200, ..., 1000, 2000, ...: ten per decade, evenly spread on a log axis. With
    `max_steps` the interval never reaches past the last step, so the last step is evaluated
    (a 15,000-step run would otherwise stop at its 10,000-step evaluation).
    """
    interval = every if step < 10 else max(every, 10 ** int(math.log10(step)))
    if max_steps is not None and max_steps > step:
        interval = min(interval, max_steps - step)
    return interval


class LogSpacedEvaluation(Callback):
    """Widens Lightning's validation interval as training goes on (no extra evaluations)."""

    def __init__(self, every: int):
        self.every = every

    def _update(self, trainer) -> None:
        max_steps = trainer.max_steps if trainer.max_steps > 0 else None
        trainer.val_check_batch = log_spaced_interval(trainer.global_step, self.every, max_steps)

    def on_train_start(self, trainer, pl_module) -> None:
        self._update(trainer)

    def on_validation_end(self, trainer, pl_module) -> None:
        self._update(trainer)
