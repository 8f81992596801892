"""GrokkingDetector: collects the evaluation history and reports its grokking profile.

The profile itself is a pure function of the history (`grokbench.profile.analyze`),
so it can be tested on scripted sequences and recomputed from a run record (the board does,
with the paired control's reference level). The callback only collects the history, keeps it
in checkpoints so a resumed run reports the same numbers, stops a diverged run, and can stop
a run once generalization has lasted `stop_after_steps`.
"""

from __future__ import annotations

import math
from typing import Any

from lightning.pytorch.callbacks import Callback

from grokbench.profile import Profile, ProfileSettings, analyze


class GrokkingDetector(Callback):
    """Collects every evaluation's scalar metrics and reports their profile."""

    def __init__(self, settings: ProfileSettings, stop_after_steps: int | None = None):
        self.settings = settings
        self.stop_after_steps = stop_after_steps
        self.history: list[dict[str, Any]] = []

    @property
    def state_key(self) -> str:
        return "GrokkingDetector"

    def result(self) -> Profile:
        return analyze(self.history, self.settings)

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        row: dict[str, Any] = {"step": int(trainer.global_step)}
        for name, value in trainer.callback_metrics.items():
            if getattr(value, "numel", lambda: 1)() == 1:
                row[name] = float(value)
        declared = getattr(pl_module, "declarations", {})  # what each logged key is (grokbench/kinds.py)
        losses = [v for k, v in row.items() if k in declared and declared[k].role == "loss"]
        row["finite"] = all(math.isfinite(v) for v in losses)
        if self.history and self.history[-1]["step"] == row["step"]:
            self.history[-1] = row  # a resumed run re-evaluates the step it stopped at
        else:
            self.history.append(row)
        if not row["finite"]:
            trainer.should_stop = True
        elif self.stop_after_steps is not None:
            result = self.result()
            if (result.generalized_step is not None and result.verdict != "ungrokked"
                    and row["step"] - result.generalized_step >= self.stop_after_steps):
                trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        return {"history": [dict(r) for r in self.history]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = [dict(r) for r in state_dict["history"]]
