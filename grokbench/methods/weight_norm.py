"""Weight-norm constraint (Liu et al. 2022, Omnigrok): train on a sphere of fixed norm.

After every optimizer step all parameters are rescaled together so that their total L2
norm equals the norm at the start of training times `factor`. With `module.init_scale`
alpha, `factor: 1/alpha` holds the network at the norm of the standard initialization,
Omnigrok's "Goldilocks" setting that removes the grokking delay.
"""

from __future__ import annotations

import torch
from lightning.pytorch.callbacks import Callback
from torch import nn

from grokbench.errors import require
from grokbench.module import weight_norm as total_norm


class WeightNormConstraint(Callback):
    def __init__(self, factor: float = 1.0):
        require(factor > 0, f"method.factor={factor} is invalid; allowed: a number > 0")
        self.factor = float(factor)
        self.target: float | None = None  # kept in checkpoints: a resumed run keeps its sphere

    @torch.no_grad()
    def rescale(self, module: nn.Module) -> None:
        if self.target is None:
            self.target = float(total_norm(module)) * self.factor
        scale = self.target / float(total_norm(module))
        for parameter in module.parameters():
            parameter.mul_(scale)

    def on_train_start(self, trainer, pl_module) -> None:
        self.rescale(pl_module)  # sets the target from the initial weights

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.rescale(pl_module)

    def state_dict(self) -> dict:
        return {"target": self.target}

    def load_state_dict(self, state_dict: dict) -> None:
        self.target = state_dict["target"]
