"""GrokModule: the one LightningModule every task and model runs through."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import lightning as L
import torch
from torch import nn
from torchmetrics import MeanMetric, MetricCollection

from grokbench.errors import GrokbenchError
from grokbench.kinds import (
    DEFAULT_EVAL_SPLITS,
    LOSS,
    WEIGHT_NORM_KEY,
    MetricDeclaration,
    declare_run,
    kind_metrics,
)
from grokbench.losses import LOSSES
from grokbench.weights import total_norm


def scale_initialization(model: nn.Module, alpha: float) -> None:
    """Omnigrok's initialization scale: multiply every initial parameter by alpha."""
    if alpha != 1.0:
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.mul_(alpha)


# Evaluation metrics never read a value back per batch (on a GPU each read waits for the
# device): the targets are the task's own, so torchmetrics' value checks are skipped, and a
# NaN loss is averaged in, not dropped, so the detector sees the divergence.
def make_metrics(kind: str, num_outputs: int) -> MetricCollection:
    """The kind's declared metrics (grokbench/kinds.py)."""
    return MetricCollection({m.name: m.build(num_outputs) for m in kind_metrics(kind)})


class GrokModule(L.LightningModule):
    """Loss, metrics, optimizer with linear warmup, initialization scale and eval logging.

    Training steps log nothing; at each evaluation point it logs `<split>/loss` and
    `<split>/<metric>` for each name in `eval_splits` (the task's val dataloaders, in their
    order: `train_eval` is the whole training set in eval mode, then `val` and any extra
    held-out set such as `val_novel`) and `weights/l2`. The step is written out by hand
    (manual optimization): Lightning's automatic loop costs ~1 ms of hook dispatch per step,
    a seventh of a small model's step. Callbacks' `on_before_optimizer_step` (the methods)
    still run inside `optimizer.step()`, before gradient clipping, as they would automatically.
    """

    def __init__(self, model: nn.Module, kind: str, num_outputs: int,
                 optimizer: Callable[..., torch.optim.Optimizer], loss: str = "cross_entropy",
                 init_scale: float = 1.0, warmup_steps: int = 0, gradient_clip_val: float | None = None,
                 eval_splits: Sequence[str] = DEFAULT_EVAL_SPLITS):
        super().__init__()
        self.automatic_optimization = False
        if loss not in LOSSES:
            raise GrokbenchError(f"module.loss={loss!r} is unknown; allowed: {', '.join(LOSSES)}")
        if not init_scale > 0:
            raise GrokbenchError(f"module.init_scale={init_scale} is invalid; allowed: a number > 0")
        self.model = model
        self.kind = kind
        self.loss_fn = LOSSES[loss]
        self.optimizer_factory = optimizer
        self.warmup_steps = int(warmup_steps)
        if gradient_clip_val is not None and not gradient_clip_val > 0:
            raise GrokbenchError(f"module.gradient_clip_val={gradient_clip_val} is invalid; "
                                 "allowed: a number > 0 or null")
        self.gradient_clip_val = gradient_clip_val
        scale_initialization(model, init_scale)
        self.eval_splits = tuple(eval_splits)
        self.eval_metrics = nn.ModuleDict({s: make_metrics(kind, num_outputs) for s in self.eval_splits})
        self.eval_losses = nn.ModuleDict({s: MeanMetric(nan_strategy="disable") for s in self.eval_splits})
        # What every logged key is (direction, role); callbacks that log add theirs (run.py)
        self.declarations: dict[str, MetricDeclaration] = declare_run(kind, self.eval_splits)

    def forward(self, inputs):
        return self.model(inputs)

    def training_step(self, batch, batch_idx):
        inputs, targets = batch
        optimizer = self.optimizers()
        loss = self.loss_fn(self.model(inputs), targets, self.kind)
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()  # runs the callbacks' and this module's on_before_optimizer_step first
        if self.warmup_steps > 0:
            self.lr_schedulers().step()
        return loss

    def on_before_optimizer_step(self, optimizer):
        if self.gradient_clip_val is not None:
            nn.utils.clip_grad_norm_(self.parameters(), self.gradient_clip_val)

    def validation_step(self, batch, batch_idx, dataloader_idx: int = 0):
        inputs, targets = batch
        split = self.eval_splits[dataloader_idx]
        outputs = self.model(inputs)
        self.eval_losses[split].update(self.loss_fn(outputs, targets, self.kind), weight=len(targets))
        metric_outputs = outputs if self.kind == "classification" else outputs.reshape(targets.shape)
        self.eval_metrics[split].update(metric_outputs, targets)
        return outputs  # for callbacks' on_validation_batch_end (the progress measures read them)

    def on_validation_epoch_end(self):
        values = {WEIGHT_NORM_KEY: total_norm(self.model)}
        for split in self.eval_splits:
            values[f"{split}/{LOSS}"] = self.eval_losses[split].compute()
            for name, value in self.eval_metrics[split].compute().items():
                values[f"{split}/{name}"] = value
            self.eval_losses[split].reset()
            self.eval_metrics[split].reset()
        shown = {k: v for k, v in values.items() if self.declarations[k].shown}
        self.log_dict(shown, prog_bar=True)
        self.log_dict({k: v for k, v in values.items() if k not in shown})

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameters())
        if self.warmup_steps <= 0:
            return optimizer
        warmup = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: min(1.0, (step + 1) / self.warmup_steps))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": warmup, "interval": "step"}}
