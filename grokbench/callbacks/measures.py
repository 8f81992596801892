"""MeasuresCallback: computes a run's progress measures at evaluation points and logs them like
any metric (so they land in metrics.csv and, through the detector's history, the record's curve).

Nothing runs during training steps. During an evaluation it keeps, only when a due measure reads
them, the model's outputs on each evaluation set (GrokModule.validation_step returns them) and
the input of the model's declared readout layer on held-out examples (a forward pre-hook held for
the length of the evaluation), so most measures need no forward pass of their own.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from lightning.pytorch.callbacks import Callback

from grokbench.measures.base import REPRESENTATION_EXAMPLES, EvalPoint, Measure, MeasureDeclaration

HELD_OUT = "val"  # the held-out set every task has (tasks/base.py VAL)


class MeasuresCallback(Callback):
    def __init__(self, measures: list[tuple[MeasureDeclaration, Measure]]):
        self.measures = measures
        self.evaluations = 0  # evaluation points seen, for each measure's `every` (kept in checkpoints)
        self.seconds = {d.name: 0.0 for d, _ in measures}
        self.counts = {d.name: 0 for d, _ in measures}
        self._due: list[tuple[MeasureDeclaration, Measure]] = []
        self._outputs: dict[str, list[torch.Tensor]] = {}
        self._hidden: list[torch.Tensor] = []
        self._split: str | None = None
        self._hook = None

    @property
    def state_key(self) -> str:
        return "MeasuresCallback"

    def _reads(self, what: str) -> bool:
        return any(what in m.reads for _, m in self._due)

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        self._due = [(d, m) for d, m in self.measures if self.evaluations % d.every == 0]
        self._outputs, self._hidden = {}, []
        if self._reads("representation"):
            self._hook = pl_module.model.readout().register_forward_pre_hook(self._keep_hidden)

    def _keep_hidden(self, module, args) -> None:
        have = sum(len(h) for h in self._hidden)
        if self._split == HELD_OUT and have < REPRESENTATION_EXAMPLES:
            self._hidden.append(args[0][: REPRESENTATION_EXAMPLES - have].detach().flatten(1))

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        if not trainer.sanity_checking:
            self._split = pl_module.eval_splits[dataloader_idx]

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if not trainer.sanity_checking and outputs is not None and self._reads("outputs"):
            self._outputs.setdefault(self._split, []).append(outputs.detach())

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        point = EvalPoint(step=int(trainer.global_step), model=pl_module.model, task=trainer.datamodule,
                          outputs={s: torch.cat(o) for s, o in self._outputs.items()},
                          representation=torch.cat(self._hidden) if self._hidden else None)
        for declared, measure in self._due:
            started = time.perf_counter()
            values = measure.compute(point)
            self.seconds[declared.name] += time.perf_counter() - started
            self.counts[declared.name] += 1
            for sub_key, value in values.items():
                key = declared.key(sub_key)
                pl_module.declarations[key] = declared.metric(sub_key)
                pl_module.log(key, float(value))
        self.evaluations += 1
        self._due, self._outputs, self._hidden, self._split = [], {}, [], None

    def summary(self) -> dict[str, dict[str, Any]]:
        """For the record: each measure's declaration, knobs, evaluations and seconds spent."""
        return {d.name: {**d.as_record(), "knobs": dict(vars(m)), "evaluations": self.counts[d.name],
                         "seconds": round(self.seconds[d.name], 4)} for d, m in self.measures}

    def state_dict(self) -> dict[str, Any]:
        return {"evaluations": self.evaluations}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.evaluations = int(state_dict["evaluations"])
