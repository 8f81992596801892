"""`last.ckpt` saved right after an evaluation, so a killed run resumes with the same detector state.

Lightning's `ModelCheckpoint(every_n_train_steps=...)` saves in `on_train_batch_end`, before
the evaluation of that step; on resume Lightning treats that evaluation as done, so the
detector history would miss it. Saving at the end of an evaluation (after the detector has
recorded it) avoids the gap. The file is replaced atomically: a kill during the save leaves
the previous checkpoint intact. With `at_end` the state a run ends in is saved too, so another
run can start from it (`init_from`, grokbench/continuation.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback

LAST = "last.ckpt"


def checkpoint_step(path: str | Path) -> int:
    """The global step a Lightning checkpoint was saved at (read without loading its tensors)."""
    state = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    return int(state.get("global_step", 0))


class LastCheckpoint(Callback):
    def __init__(self, dirpath: str | Path, every_n_steps: int | None, at_end: bool = False):
        self.path = Path(dirpath) / LAST
        self.every_n_steps = None if every_n_steps is None else int(every_n_steps)  # None: on interrupt only
        self.at_end = bool(at_end)
        self.saved_step = 0
        self.resumed_from_step = 0  # global step the fit started from (0 unless resumed)

    def on_train_start(self, trainer, pl_module) -> None:
        self.resumed_from_step = self.saved_step = int(trainer.global_step)

    def on_validation_end(self, trainer, pl_module) -> None:
        step = int(trainer.global_step)
        if trainer.sanity_checking or self.every_n_steps is None or step - self.saved_step < self.every_n_steps:
            return
        self.save(trainer)

    def on_train_end(self, trainer, pl_module) -> None:
        """The state the fit ended in (its last step is always evaluated, so the detector holds it)."""
        if self.at_end and not (self.path.exists() and self.saved_step == int(trainer.global_step)):
            self.save(trainer)

    def save(self, trainer) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{LAST}.{os.getpid()}.tmp")
        trainer.save_checkpoint(tmp, weights_only=False)  # callbacks too: the detector history
        if trainer.is_global_zero:
            os.replace(tmp, self.path)
        self.saved_step = int(trainer.global_step)
