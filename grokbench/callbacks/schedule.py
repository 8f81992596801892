"""Evaluation points: every N steps, or log-spaced (`per_decade` evaluations per decade of
steps, evenly on a log axis, never denser than N and, optionally, never sparser than M);
either way the last step is evaluated, so a run's final metrics are its last step's.

The grokking profile reads times off these points (memorization, the last evaluation inside
the chance band), so their spacing bounds its resolution: 20 per decade puts neighbouring
evaluations 0.05 decades apart, and the board checks that dropping every other one (0.1
decades apart) changes no verdict.
"""

from __future__ import annotations

from lightning.pytorch.callbacks import Callback

PER_DECADE = 20


def evaluation_interval(step: int, every: int, log_spaced: bool = False, max_steps: int | None = None,
                        max_every: int | None = None, per_decade: int = PER_DECADE) -> int:
    """Interval after `step`: `every`, or with `log_spaced` about a `per_decade`-th of a decade.

    Lightning evaluates at multiples of the interval (`val_check_batch`), so a log-spaced
    interval is `every` x 2^k, the largest that divides `step` and is at most step x
    (10^(1/per_decade) - 1): the next evaluation then lies 0.5 to 1 of that geometric step
    ahead, 20 to 40 evaluations per decade at the default. With `max_every` the interval is
    at most that; with `max_steps` it never reaches past the last step, so the last step is
    evaluated. `max_every` keeps a run's last decade from holding too few evaluations for a
    sustained level."""
    interval = every
    if log_spaced and step > 0 and step % every == 0:
        geometric = step * (10 ** (1 / per_decade) - 1)
        while interval * 2 <= geometric and step % (interval * 2) == 0:
            interval *= 2
    if max_every is not None:
        interval = min(interval, max_every)
    if max_steps is not None and max_steps > step:
        interval = min(interval, max_steps - step)
    return interval


class EvaluationSchedule(Callback):
    """Sets Lightning's validation interval after each evaluation (no extra evaluations)."""

    def __init__(self, every: int, log_spaced: bool, max_every: int | None = None, per_decade: int = PER_DECADE):
        self.every, self.log_spaced, self.max_every, self.per_decade = every, log_spaced, max_every, per_decade

    def _update(self, trainer) -> None:
        max_steps = trainer.max_steps if trainer.max_steps > 0 else None
        trainer.val_check_batch = evaluation_interval(trainer.global_step, self.every, self.log_spaced, max_steps,
                                                      self.max_every, self.per_decade)

    def on_train_start(self, trainer, pl_module) -> None:
        self._update(trainer)

    def on_validation_end(self, trainer, pl_module) -> None:
        self._update(trainer)
