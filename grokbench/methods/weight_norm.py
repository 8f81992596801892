"""Weight-norm constraint (Liu et al. 2022, Omnigrok): train on a sphere of fixed norm.

After every optimizer step all parameters are rescaled together so that their total L2
norm equals the norm at the start of training times `factor`. Omnigrok states the target as a
multiple of the standard initialization's norm (their alpha; the method's `norm_scale`): a
recipe that multiplies the initial weights by `module.init_scale` has factor
norm_scale / init_scale, so norm_scale 1 holds an alpha = 8 network at 1/8 of its initial norm,
the standard initialization's, where Omnigrok finds no grokking delay.
"""

from __future__ import annotations

import torch
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig
from torch import nn

from grokbench.errors import require
from grokbench.methods.base import Method
from grokbench.weights import total_norm


class WeightNormConstraint(Callback):
    def __init__(self, factor: float = 1.0):
        require(factor > 0, f"method.factor={factor} is invalid; allowed: a number > 0")
        self.factor = float(factor)
        # A tensor on the parameters' device, so the per-step rescale never waits for the
        # device; kept in checkpoints as a number: a resumed run keeps its sphere.
        self.target: torch.Tensor | None = None

    @torch.no_grad()
    def rescale(self, module: nn.Module) -> None:
        norm = total_norm(module)
        if self.target is None:
            self.target = norm * self.factor
        self.target = self.target.to(norm)  # a checkpoint's number, or a run moved to another device
        torch._foreach_mul_(list(module.parameters()), self.target / norm)

    def on_train_start(self, trainer, pl_module) -> None:
        self.rescale(pl_module)  # sets the target from the initial weights

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.rescale(pl_module)

    def state_dict(self) -> dict:
        return {"target": None if self.target is None else float(self.target)}

    def load_state_dict(self, state_dict: dict) -> None:
        target = state_dict["target"]
        self.target = None if target is None else torch.tensor(float(target))


class WeightNormMethod(Method):
    def __init__(self, norm_scale: float, optim: dict | None = None):
        require(norm_scale > 0, f"method.norm_scale={norm_scale} is invalid; allowed: a number > 0")
        super().__init__(optim=optim)
        self.norm_scale = float(norm_scale)

    def callbacks(self, cfg: DictConfig) -> list[Callback]:
        return [WeightNormConstraint(factor=self.norm_scale / float(cfg.module.init_scale))]
