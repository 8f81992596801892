"""The task contract every domain implements (see DESIGN.md, "Task").

A task is a LightningDataModule that, after `setup()`, holds its train and held-out splits
as resident tensors. It declares its kind, the sizes a model needs (`dims`) and how the
grokking detector should read it by default (`detection`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightning as L
import torch

from grokbench.data import Inputs, OrderedBatches, ShuffledBatches, inputs_to, num_examples
from grokbench.errors import require


@dataclass
class Splits:
    train_inputs: Inputs
    train_targets: torch.Tensor
    val_inputs: Inputs
    val_targets: torch.Tensor

    def to(self, device: torch.device) -> Splits:
        return Splits(inputs_to(self.train_inputs, device), self.train_targets.to(device),
                      inputs_to(self.val_inputs, device), self.val_targets.to(device))


@dataclass
class Detection:
    """How the detector reads a task unless the config says otherwise.

    `metric` is logged as `train_eval/<metric>` and `val/<metric>`; `val_metric` may name a
    different held-out metric (e.g. adversarial accuracy). Thresholds are absolute values of
    the metric, or, with kind "relative", fractions of the way to the best value seen.
    """

    metric: str = "acc"
    mode: str = "max"
    memorize_threshold: float = 0.99
    generalize_threshold: float = 0.99
    threshold_kind: str = "absolute"
    val_metric: str | None = None


class GrokTask(L.LightningDataModule):
    """Base class: subclasses set the class attributes and implement `build_splits`."""

    name: str = "task"
    version: str = "1"
    kind: str = "classification"  # or "regression"
    detection: Detection = Detection()

    def __init__(self, batch_size: int | None = 512, eval_batch_size: int = 8192,
                 split_seed: int = 0):
        super().__init__()
        require(batch_size is None or int(batch_size) >= 1,
                f"task.batch_size={batch_size} is invalid; allowed: a positive integer or null (full batch)")
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.split_seed = split_seed
        self.shuffle_seed = 0  # the run seed; set by the runner so a seed sweep varies only it
        self.train_steps = 1  # set by the runner: max_steps
        self.splits: Splits | None = None

    # --- to implement -------------------------------------------------------------------
    def build_splits(self) -> Splits:
        raise NotImplementedError

    @property
    def num_outputs(self) -> int:
        raise NotImplementedError

    def extra_dims(self) -> dict[str, Any]:
        """Sizes besides `num_outputs` that models of this task need (e.g. vocab_size)."""
        return {}

    def params(self) -> dict[str, Any]:
        """The task's parameters as they go into the run record."""
        return {"batch_size": self.batch_size, "split_seed": self.split_seed}

    # --- shared -------------------------------------------------------------------------
    @property
    def dims(self) -> dict[str, Any]:
        return {"num_outputs": self.num_outputs, **self.extra_dims()}

    @property
    def num_train(self) -> int:
        return num_examples(self.splits.train_inputs)

    @property
    def num_val(self) -> int:
        return num_examples(self.splits.val_inputs)

    def setup(self, stage: str | None = None) -> None:
        if self.splits is None:
            self.splits = self.build_splits()
            require(self.num_train > 0 and self.num_val > 0,
                    f"task {self.name} produced an empty split "
                    f"(train={self.num_train}, val={self.num_val}); check its size parameters")

    def _resident(self) -> Splits:
        """Move the splits to the training device once, so batches never cross the bus."""
        trainer = getattr(self, "trainer", None)
        if trainer is not None and self.splits.train_targets.device != trainer.strategy.root_device:
            self.splits = self.splits.to(trainer.strategy.root_device)
        return self.splits

    def train_dataloader(self) -> ShuffledBatches:
        s = self._resident()
        trainer = getattr(self, "trainer", None)  # resumed from a checkpoint: continue the batch order
        start = int(trainer.global_step) if trainer is not None else 0
        return ShuffledBatches(s.train_inputs, s.train_targets, self.batch_size,
                               steps=self.train_steps, seed=self.shuffle_seed, start=start)

    def val_dataloader(self) -> list[OrderedBatches]:
        """Two loaders: the training set in eval mode (`train_eval`), then the held-out set."""
        s = self._resident()
        return [OrderedBatches(s.train_inputs, s.train_targets, self.eval_batch_size),
                OrderedBatches(s.val_inputs, s.val_targets, self.eval_batch_size)]
