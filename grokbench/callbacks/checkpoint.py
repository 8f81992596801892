"""`last.ckpt` saved right after an evaluation, so a killed run resumes with the same detector state.

Lightning's `ModelCheckpoint(every_n_train_steps=...)` saves in `on_train_batch_end`, before
the evaluation of that step; on resume Lightning treats that evaluation as done, so the
detector history would miss it. Saving at the end of an evaluation (after the detector has
recorded it) avoids the gap. The file is replaced atomically: a kill during the save leaves
the previous checkpoint intact.
"""

from __future__ import annotations

import os
from pathlib import Path

from lightning.pytorch.callbacks import Callback

LAST = "last.ckpt"


class LastCheckpoint(Callback):
    def __init__(self, dirpath: str | Path, every_n_steps: int | None):
        self.path = Path(dirpath) / LAST
        self.every_n_steps = None if every_n_steps is None else int(every_n_steps)  # None: on interrupt only
        self.saved_step = 0
        self.resumed_from_step = 0  # global step the fit started from (0 unless resumed)

    def on_train_start(self, trainer, pl_module) -> None:
        self.resumed_from_step = self.saved_step = int(trainer.global_step)

    def on_validation_end(self, trainer, pl_module) -> None:
        step = int(trainer.global_step)
        if trainer.sanity_checking or self.every_n_steps is None or step - self.saved_step < self.every_n_steps:
            return
        self.save(trainer)

    def save(self, trainer) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{LAST}.{os.getpid()}.tmp")
        trainer.save_checkpoint(tmp, weights_only=False)  # callbacks too: the detector history
        if trainer.is_global_zero:
            os.replace(tmp, self.path)
        self.saved_step = int(trainer.global_step)
