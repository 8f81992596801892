"""Adversarial accuracy under PGD (Madry et al. 2018), for delayed robustness (Humayun et al. 2024).

PGD is written with plain torch autograd: L-inf ball of radius `eps` around the model's own
(normalized) inputs, `steps` signed-gradient ascent steps of `step_size` on the cross-entropy.
"""

from __future__ import annotations

import torch
from lightning.pytorch.callbacks import Callback
from torch import nn
from torch.nn import functional as F

from grokbench.errors import require


def pgd_attack(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, eps: float,
               step_size: float, steps: int, random_start: bool = False,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Inputs perturbed within `eps` (L-inf) to raise the cross-entropy; no gradient to the model."""
    delta = torch.zeros_like(inputs)
    if random_start:
        noise = torch.rand(inputs.shape, generator=generator, device="cpu").to(inputs.device)
        delta = (2 * noise - 1) * eps
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = F.cross_entropy(model(inputs + delta), targets)
        (grad,) = torch.autograd.grad(loss, delta)
        delta = (delta.detach() + step_size * grad.sign()).clamp(-eps, eps)
    return (inputs + delta).detach()


class AdversarialEvaluation(Callback):
    """At each evaluation, logs `val/adv_acc` (PGD accuracy) and `val/clean_subset_acc` on the
    first `num_examples` held-out examples (a fixed subset: the task's test split is already a
    seeded random subsample)."""

    def __init__(self, eps: float = 50 / 255, step_size: float = 4 / 255, steps: int = 10,
                 num_examples: int = 512, batch_size: int = 256, random_start: bool = False):
        require(eps >= 0 and step_size > 0 and int(steps) >= 1,
                f"adversarial eps={eps}, step_size={step_size}, steps={steps} are invalid; "
                f"allowed: eps >= 0, step_size > 0, steps >= 1")
        require(int(num_examples) >= 1, f"adversarial num_examples={num_examples} is invalid; allowed: >= 1")
        self.eps, self.step_size, self.steps = float(eps), float(step_size), int(steps)
        self.num_examples, self.batch_size = int(num_examples), int(batch_size)
        self.random_start = random_start

    def evaluate(self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[float, float]:
        """(clean accuracy, adversarial accuracy) on these examples."""
        clean = adversarial = 0
        generator = torch.Generator().manual_seed(0)  # the same random start at every evaluation
        # Lightning evaluates under inference mode; PGD needs autograd back.
        with torch.inference_mode(False), torch.enable_grad():
            for start in range(0, len(targets), self.batch_size):
                x = inputs[start:start + self.batch_size].clone()
                y = targets[start:start + self.batch_size].clone()
                with torch.no_grad():
                    clean += (model(x).argmax(-1) == y).sum().item()
                x_adv = pgd_attack(model, x, y, self.eps, self.step_size, self.steps,
                                   self.random_start, generator)
                with torch.no_grad():
                    adversarial += (model(x_adv).argmax(-1) == y).sum().item()
        return clean / len(targets), adversarial / len(targets)

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        splits = trainer.datamodule.splits
        require(isinstance(splits.val_inputs, torch.Tensor),
                "adversarial evaluation needs a task whose inputs are one tensor (images)")
        n = min(self.num_examples, len(splits.val_targets))
        clean, adversarial = self.evaluate(pl_module.model, splits.val_inputs[:n], splits.val_targets[:n])
        pl_module.log("val/adv_acc", adversarial, prog_bar=True)
        pl_module.log("val/clean_subset_acc", clean)
