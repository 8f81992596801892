"""Adversarial accuracy under PGD (Madry et al. 2018), for delayed robustness (Humayun et al. 2024).

The attack lives in pixel space: images in [0, 1], an L-inf ball of radius `eps` in those
units (8/255 means eight grey levels), and after every step the perturbation is projected onto
the ball and the image clamped to [0, 1], so every adversarial example is a valid image. The
model sees its usual input: the task's normalization is applied after the perturbation
(`ImageTask.pixel_normalization()`). An epsilon measured on normalized inputs would instead
depend on the data's standard deviation and could leave the image range.
"""

from __future__ import annotations

import torch
from lightning.pytorch.callbacks import Callback
from torch import nn
from torch.nn import functional as F

from grokbench.errors import require
from grokbench.kinds import MetricDeclaration

PIXEL_RANGE = (0.0, 1.0)
ADVERSARIAL_KEY, CLEAN_SUBSET_KEY = "val/adv_acc", "val/clean_subset_acc"


def pgd_attack(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, eps: float,
               step_size: float, steps: int, random_start: bool = False,
               generator: torch.Generator | None = None,
               bounds: tuple[float, float] = PIXEL_RANGE) -> torch.Tensor:
    """Untargeted L-inf PGD on the mean cross-entropy: images within `eps` of `images` and
    within `bounds`; `model` maps images (in the same units) to logits. Each step moves
    `step_size` along the gradient's sign, then projects onto the ball and clamps to the
    bounds (the order of torchattacks.PGD). `random_start` begins at a uniform point of the
    ball (drawn from `generator`). No gradient reaches the model's parameters."""
    low, high = bounds
    images = images.detach()
    adversarial = images.clone()
    if random_start:  # drawn on the CPU: the same start on every device (one copy per evaluation batch)
        noise = torch.rand(images.shape, generator=generator, device="cpu").to(images.device)
        adversarial = (images + (2 * noise - 1) * eps).clamp(low, high)
    for _ in range(steps):
        adversarial.requires_grad_(True)
        loss = F.cross_entropy(model(adversarial), targets)
        (grad,) = torch.autograd.grad(loss, adversarial)
        stepped = adversarial.detach() + step_size * grad.sign()
        adversarial = (images + (stepped - images).clamp(-eps, eps)).clamp(low, high)
    return adversarial.detach()


class AdversarialEvaluation(Callback):
    """At each evaluation, logs `val/adv_acc` (PGD accuracy) and `val/clean_subset_acc` on the
    first `num_examples` held-out examples (a fixed subset: the task's test split is already a
    seeded random subsample). `eps` and `step_size` are in pixel units ([0, 1] images); the
    task must offer `pixel_normalization()` (image tasks do)."""

    def __init__(self, eps: float = 8 / 255, step_size: float = 2 / 255, steps: int = 10,
                 num_examples: int = 512, batch_size: int = 256, random_start: bool = True):
        require(0 <= eps <= 1 and 0 < step_size <= 1 and int(steps) >= 1,
                f"adversarial eps={eps}, step_size={step_size}, steps={steps} are invalid; "
                f"allowed: 0 <= eps <= 1 and 0 < step_size <= 1 (pixel units), steps >= 1")
        require(int(num_examples) >= 1, f"adversarial num_examples={num_examples} is invalid; allowed: >= 1")
        self.eps, self.step_size, self.steps = float(eps), float(step_size), int(steps)
        self.num_examples, self.batch_size = int(num_examples), int(batch_size)
        self.random_start = bool(random_start)

    def heldout_sizes(self, task) -> dict[str, int]:
        """The held-out metrics this callback logs and how many examples each is computed on."""
        n = min(self.num_examples, task.num_val)
        return {ADVERSARIAL_KEY: n, CLEAN_SUBSET_KEY: n}

    def evaluate(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                 normalization: nn.Module | None = None) -> tuple[float, float]:
        """(clean accuracy, adversarial accuracy) on these images (pixels in [0, 1]); the model
        sees `normalization(images)` (the images themselves when None)."""
        model_on_pixels = model if normalization is None else nn.Sequential(normalization, model)
        # Correct answers are counted on the device and read once at the end, not once per batch.
        clean = adversarial = torch.zeros((), dtype=torch.long, device=targets.device)
        generator = torch.Generator().manual_seed(0)  # the same random start at every evaluation
        # Lightning evaluates under inference mode; PGD needs autograd back.
        with torch.inference_mode(False), torch.enable_grad():
            for start in range(0, len(targets), self.batch_size):
                x = images[start:start + self.batch_size].clone()
                y = targets[start:start + self.batch_size].clone()
                with torch.no_grad():
                    clean = clean + (model_on_pixels(x).argmax(-1) == y).sum()
                x_adv = pgd_attack(model_on_pixels, x, y, self.eps, self.step_size, self.steps,
                                   self.random_start, generator)
                with torch.no_grad():
                    adversarial = adversarial + (model_on_pixels(x_adv).argmax(-1) == y).sum()
        return clean.item() / len(targets), adversarial.item() / len(targets)

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        task = trainer.datamodule
        require(hasattr(task, "pixel_normalization") and isinstance(task.splits.val_inputs, torch.Tensor),
                f"adversarial evaluation needs an image task (pixels in [0, 1]); task "
                f"{getattr(task, 'name', '?')} has none")
        splits = task.splits
        n = min(self.num_examples, len(splits.val_targets))
        with torch.inference_mode(False):  # tensors made under inference mode cannot enter autograd
            normalization = task.pixel_normalization().to(splits.val_inputs.device)
            pixels = normalization.invert(splits.val_inputs[:n].clone())
        clean, adversarial = self.evaluate(pl_module.model, pixels, splits.val_targets[:n], normalization)
        pl_module.log(ADVERSARIAL_KEY, adversarial, prog_bar=True)
        pl_module.log(CLEAN_SUBSET_KEY, clean)

    def declarations(self) -> dict[str, MetricDeclaration]:
        """The keys it logs (grokbench/kinds.py): the adversarial accuracy is a score the
        profile may read (quick_cifar10's detector.val_metric), so the progress bar shows it."""
        return {ADVERSARIAL_KEY: MetricDeclaration("up", "score", "val", "adv_acc", shown=True),
                CLEAN_SUBSET_KEY: MetricDeclaration("up", "metric", "val", "clean_subset_acc")}
