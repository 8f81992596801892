"""Evaluation points: every N steps, or log-spaced (ten per decade, never denser than N and,
optionally, never sparser than M); either way the last step is evaluated, so a run's final
metrics are its last step's."""

from __future__ import annotations

import math

from lightning.pytorch.callbacks import Callback


def evaluation_interval(step: int, every: int, log_spaced: bool = False, max_steps: int | None = None,
                        max_every: int | None = None) -> int:
    """Interval after `step`: `every`, or with `log_spaced` a tenth of the current decade, at
    least `every` and (with `max_every`) at most `max_every` steps.

    Each log-spaced interval divides the step where it starts (a power of ten), so evaluations
    land on 100, 200, ..., 1000, 2000, ...: ten per decade, evenly spread on a log axis. With
    `max_steps` the interval never reaches past the last step, so the last step is evaluated
    (a 15,000-step log-spaced run would otherwise stop at its 10,000-step evaluation).
    `max_every` keeps a run that ends early in a decade from seeing too few evaluations there:
    the profile needs several in a row (detector.sustain) to call a level held.
    """
    interval = every if step < 10 or not log_spaced else max(every, 10 ** int(math.log10(step)))
    if max_every is not None:
        interval = min(interval, max_every)
    if max_steps is not None and max_steps > step:
        interval = min(interval, max_steps - step)
    return interval


class EvaluationSchedule(Callback):
    """Sets Lightning's validation interval after each evaluation (no extra evaluations)."""

    def __init__(self, every: int, log_spaced: bool, max_every: int | None = None):
        self.every, self.log_spaced, self.max_every = every, log_spaced, max_every

    def _update(self, trainer) -> None:
        max_steps = trainer.max_steps if trainer.max_steps > 0 else None
        trainer.val_check_batch = evaluation_interval(trainer.global_step, self.every, self.log_spaced, max_steps,
                                                      self.max_every)

    def on_train_start(self, trainer, pl_module) -> None:
        self._update(trainer)

    def on_validation_end(self, trainer, pl_module) -> None:
        self._update(trainer)
