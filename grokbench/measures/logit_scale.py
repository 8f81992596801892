"""Logit scale: the mean L2 norm of the model's output logits over the held-out set.

Cross-entropy keeps lowering the training loss by scaling the logits up once the training set is
fit (Prieto et al. 2025's naive loss minimization, which ends in softmax collapse); weight decay
pulls them down. It reads the evaluation's own outputs, so it costs no forward pass.
"""

from __future__ import annotations

from grokbench.measures.base import EvalPoint, Measure

HELD_OUT = "val"


class LogitScale(Measure):
    reads = ("outputs",)

    def compute(self, point: EvalPoint) -> dict[str, float]:
        logits = point.outputs[HELD_OUT].float()
        return {"": float(logits.flatten(1).norm(dim=1).mean())}
