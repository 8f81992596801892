"""⊥Grad (Prieto et al. 2025): step only orthogonally to the weights.

Before each optimizer step, every parameter's gradient g is projected orthogonal to the
parameter w, g_perp = g - (w.g / w.w) w, and rescaled to the norm of g; then the base
optimizer steps as usual. This removes the naive-loss-minimization direction (scaling up
the weights) that drives softmax collapse. Follows the authors' `OrthoGrad` optimizer
wrapper; as a callback it composes with any base optimizer. The authors run it as ⊥AdamW
without weight decay (conf/method/orthograd.yaml sets it).
"""

from __future__ import annotations

import torch
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig
from torch import nn

from grokbench.methods.base import Method

TINY = 1e-30  # the authors' guard against division by zero


@torch.no_grad()
def orthogonalize(parameter: torch.Tensor, grad: torch.Tensor) -> None:
    """In place: grad <- (grad minus its component along parameter), rescaled to |grad|."""
    w, g = parameter.reshape(-1), grad.reshape(-1)
    projected = g - (torch.dot(w, g) / (torch.dot(w, w) + TINY)) * w
    projected.mul_(g.norm() / (projected.norm() + TINY))
    grad.copy_(projected.view_as(grad))


class OrthoGrad(Callback):
    @torch.no_grad()
    def project(self, module: nn.Module) -> None:
        for parameter in module.parameters():
            if parameter.grad is not None:
                orthogonalize(parameter, parameter.grad)

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.project(pl_module)


class OrthoGradMethod(Method):
    def callbacks(self, cfg: DictConfig) -> list[Callback]:
        return [OrthoGrad()]
