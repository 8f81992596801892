"""The task contract every domain implements (grokbench/catalog.py reads its declarations).

A task is a LightningDataModule that, after `setup()`, holds its train and held-out splits
as resident tensors. It declares its kind, the sizes a model needs (`dims`), its evaluation
sets (`eval_splits`: train_eval, val and any extra held-out set, one val dataloader each) and
how the grokking detector should read it by default (`detection`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightning as L
import torch

from grokbench.data import Inputs, OrderedBatches, ShuffledBatches, index_inputs, inputs_to, num_examples
from grokbench.errors import require

TRAIN_EVAL, VAL = "train_eval", "val"  # the evaluation sets every task has


@dataclass
class Splits:
    """The training and held-out sets, plus any further held-out sets a task evaluates
    (`extra_eval`, name -> (inputs, targets), e.g. `val_novel`: usually a subset of val)."""

    train_inputs: Inputs
    train_targets: torch.Tensor
    val_inputs: Inputs
    val_targets: torch.Tensor
    extra_eval: dict[str, tuple[Inputs, torch.Tensor]] = field(default_factory=dict)

    def to(self, device: torch.device) -> Splits:
        extra = {name: (inputs_to(x, device), y.to(device)) for name, (x, y) in self.extra_eval.items()}
        return Splits(inputs_to(self.train_inputs, device), self.train_targets.to(device),
                      inputs_to(self.val_inputs, device), self.val_targets.to(device), extra)

    def eval_sets(self) -> dict[str, tuple[Inputs, torch.Tensor]]:
        """Every evaluation set by name, in evaluation order."""
        return {TRAIN_EVAL: (self.train_inputs, self.train_targets),
                VAL: (self.val_inputs, self.val_targets), **self.extra_eval}


@dataclass
class Detection:
    """Which metric the grokking profile reads, and what its held-out reference is.

    `metric` is logged as `train_eval/<metric>` and `<val_split>/<metric>`; `val_metric` may
    name a different held-out metric (e.g. adversarial accuracy `adv_acc`). Progress is
    measured from the task's chance level (`GrokTask.chance`) to a reference: 1.0 for an exact
    task (every held-out answer is determined by the training rule, as in Power et al.'s
    tables), or, when `exact` is false, the converged held-out value of the paired control run
    (natural data has no attainable 100%). No thresholds live here: the profile's levels are
    fractions of that range, so a task pointed at other data needs no new numbers.
    """

    metric: str = "acc"
    val_metric: str | None = None
    val_split: str = "val"
    exact: bool = False


class GrokTask(L.LightningDataModule):
    """Base class: subclasses set the class attributes and implement `build_splits`."""

    name: str = "task"
    version: str = "1"
    kind: str = "classification"  # or "regression"
    title: str = "task"           # how prose names the domain (grokbench/catalog.py)
    board_order: int = 1000       # the domain's place on the board, smallest first
    detection: Detection = Detection()
    # The `task.*` key that sizes the training set (a fraction of a table, a number of examples
    # drawn): a run continued from another (grokbench/continuation.py) may set it lower than its
    # parent's and trains on a subset of the parent's training set. None: no such key.
    train_size_key: str | None = None

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

    def train_groups(self) -> torch.Tensor:
        """One id per training example; examples that share an id are kept or dropped together
        when a subset of the training set is drawn (`keep_training`). Default: each on its own."""
        return torch.arange(self.num_train)

    # --- shared -------------------------------------------------------------------------
    def keep_training(self, fraction: float, seed: int) -> None:
        """Train on a seeded subset of this task's training set: round(fraction x groups) of its
        groups (`train_groups`), the first of one random permutation drawn from `seed`, so a
        smaller fraction keeps a subset of what a larger one keeps. The held-out sets stay."""
        require(0 < fraction <= 1, f"a kept fraction of the training set of {fraction} is invalid; allowed: (0, 1]")
        ids, group_of = torch.unique(self.train_groups(), return_inverse=True)
        kept = round(fraction * len(ids))
        require(kept >= 1, f"keeping {fraction:.4g} of the {len(ids)} training groups of task {self.name} "
                           "keeps none; allowed: a larger training size")
        order = torch.randperm(len(ids), generator=torch.Generator().manual_seed(seed))
        keep = torch.isin(group_of, order[:kept]).nonzero().flatten()
        s = self.splits
        self.splits = Splits(index_inputs(s.train_inputs, keep), s.train_targets[keep], s.val_inputs,
                             s.val_targets, s.extra_eval)

    @property
    def chance(self) -> float:
        """The held-out metric of a predictor that ignores its input: 1/classes for accuracy
        (uniform guessing), 0 for R^2 (the mean predictor)."""
        return 1.0 / self.num_outputs if self.kind == "classification" else 0.0

    @property
    def eval_splits(self) -> tuple[str, ...]:
        """The evaluation sets' names in `val_dataloader()` order, known after `setup()`:
        ("train_eval", "val") and any extra held-out set the task built (e.g. "val_novel").
        GrokModule logs `<name>/loss` and `<name>/<metric>` for each."""
        if self.splits is None:
            raise RuntimeError(f"task {self.name}: eval_splits is known after setup()")
        return tuple(self.splits.eval_sets())

    def heldout_sizes(self) -> dict[str, int]:
        """Held-out metric the profile may read -> how many examples it is computed on (the
        chance band's n): the detection metrics on every held-out set, known after `setup()`."""
        metrics = {self.detection.metric, self.detection.val_metric or self.detection.metric}
        return {f"{split}/{metric}": num_examples(inputs) for split, (inputs, _) in self.splits.eval_sets().items()
                if split != TRAIN_EVAL for metric in sorted(metrics)}

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
        """One loader per name in `eval_splits`: the training set in eval mode (`train_eval`),
        the held-out set (`val`), then the task's extra held-out sets."""
        return [OrderedBatches(inputs, targets, self.eval_batch_size)
                for inputs, targets in self._resident().eval_sets().values()]
