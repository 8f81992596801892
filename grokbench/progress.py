"""Progress on the console: a Rich bar counting steps on a terminal, plain lines elsewhere.

Steps are the clock (`trainer.max_steps`; one long "epoch"), so Lightning's "Epoch 0/-2" says
nothing; the bar shows `step 1,200/8,000`. Where stdout is not a terminal (a SLURM log,
`| tee`), Rich draws nothing until the run ends, so each evaluation prints one line instead.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from lightning.pytorch.callbacks import Callback, RichProgressBar
from lightning.pytorch.callbacks.progress.rich_progress import CustomBarColumn, CustomTimeColumn
from rich.progress import ProgressColumn
from rich.text import Text


class StepsColumn(ProgressColumn):
    """`step 1,200/8,000` of the training task (validation tasks are hidden)."""

    def render(self, task: Any) -> Text:
        total = f"/{int(task.total):,}" if task.total not in (None, float("inf")) else ""
        return Text(f"step {int(task.completed):,}{total}")


class StepsPerSecondColumn(ProgressColumn):
    def __init__(self, style):
        self.style = style
        super().__init__()

    def render(self, task: Any) -> Text:
        return Text(f"{task.speed or 0:.0f} steps/s", style=self.style)


class StepProgressBar(RichProgressBar):
    """Lightning's Rich bar counting optimizer steps of `trainer.max_steps` (a resumed run
    starts where it stopped), with the evaluation metrics beside it."""

    def configure_columns(self, trainer) -> list:
        return [StepsColumn(),
                CustomBarColumn(complete_style=self.theme.progress_bar,
                                finished_style=self.theme.progress_bar_finished,
                                pulse_style=self.theme.progress_bar_pulse),
                CustomTimeColumn(style=self.theme.time),
                StepsPerSecondColumn(style=self.theme.processing_speed)]

    def _show_steps(self, trainer) -> None:
        if self.progress is not None and self.train_progress_bar_id is not None:
            self.progress.update(self.train_progress_bar_id, completed=trainer.global_step,
                                 total=trainer.max_steps, description="")

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        super().on_train_epoch_start(trainer, pl_module)
        self._show_steps(trainer)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        self._show_steps(trainer)

    def get_metrics(self, trainer, pl_module) -> dict[str, Any]:
        """The evaluation metrics only (Lightning adds `v_num` from the logger's version)."""
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)
        return metrics


def metric_line(step: int, max_steps: int, metrics: dict[str, float], seconds: float,
                shown_first: frozenset[str] | set[str] = frozenset()) -> str:
    """`step 1,200/8,000  train_eval/acc 1.0000  val/acc 0.0310  ...  (12 s)`; the keys declared
    `shown` (the scores the profile reads, grokbench/kinds.py) come before the others."""
    names = sorted(metrics, key=lambda k: (k not in shown_first, k))
    shown = "  ".join(f"{k} {metrics[k]:.4g}" for k in names)
    return f"step {step:,}/{max_steps:,}  {shown}  ({seconds:.0f} s)"


class PlainProgress(Callback):
    """One line per evaluation on stdout, flushed at once (for logs read while a run lasts)."""

    def __init__(self, stream=None):
        self.stream = stream
        self.started = time.perf_counter()

    def on_train_start(self, trainer, pl_module) -> None:
        self.started = time.perf_counter()

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()
                   if getattr(v, "numel", lambda: 1)() == 1}
        declarations = getattr(pl_module, "declarations", {})
        shown = {k for k, d in declarations.items() if d.shown}
        print(metric_line(int(trainer.global_step), int(trainer.max_steps), metrics,
                          time.perf_counter() - self.started, shown),
              file=self.stream or sys.stdout, flush=True)


def progress_callback(refresh_every: int) -> Callback:
    """The Rich bar on a terminal, plain lines otherwise."""
    if sys.stdout.isatty():
        return StepProgressBar(refresh_rate=max(1, refresh_every), leave=True)
    return PlainProgress()
