"""Continue from a run: `grokbench run init_from=<run dir> [init_step=N] task.<size key>=...`.

A child run starts from its parent's weights and optimizer state, at the parent's final step
(checkpoints/last.ckpt of a run made with `checkpoint.at_end=true`) or at a step its checkpoints
hold (`init_step`), and trains on a subset of the parent's training set. Decisions (issue 27):

- Task: the child's `task` is its parent's in every key but the one that sizes the training set
  (the task's `train_size_key`: task.train_fraction for tables, task.n_train for drawn sets),
  which is at most the parent's. The task is built with the parent's value, so the held-out
  sets are the parent's exactly (and so are the split, the vocabulary, the normalization), and
  the child keeps value / parent's value of the parent's training set, a subset drawn with
  task.split_seed (GrokTask.keep_training): the children of one parent at several sizes get
  nested subsets, so the size is all that differs between them. The model, method and
  optimizer are the parent's (its weights and optimizer state must fit them); anything else
  (learning rate, weight decay, steps, seed, evaluation) may change, and the record lists what
  did (`changed`).
- Steps restart at 0, with the parent's step in the record (`parent.step`): trainer.max_steps
  is the child's own k steps, its batch order starts on its own training set, and its
  evaluation schedule counts from its own start. The learning-rate warmup, a function of the
  step, continues from the parent's step rather than running again; the optimizer's moments
  and step counts are the parent's, its settings (lr, weight decay, betas) the child's.
- The child evaluates once at step 0, before its first step, and is read by the fall analysis
  (grokbench/profile/fall.py), not the grokking profile, whose reading of a run that starts
  generalized ("memorized and generalized at once") would be wrong; detector.stop_after_steps,
  a rule for runs from initialization, does not apply.
- A method's state kept in a callback (Grokfast's gradient filter) starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.utils import get_class
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from grokbench.callbacks.checkpoint import checkpoint_step
from grokbench.errors import GrokbenchError, require
from grokbench.record import RECORD_NAME, read_record

NOT_COMPARED = ("run_dir", "dims", "init_from", "init_step", "progress_bar")  # where and how, not what


@dataclass
class Parent:
    """The run a child starts from: its directory, record, and the checkpoint it starts at."""

    run_dir: Path
    record: dict[str, Any]
    checkpoint: Path
    step: int

    @property
    def config(self) -> DictConfig:
        return OmegaConf.create(self.record.get("config") or {})

    @property
    def named(self) -> str:
        return f"init_from={self.run_dir}"


def find_parent(init_from: str, init_step: Any = None) -> Parent:
    """The parent run and its checkpoint; one line naming what is missing when there is none."""
    run_dir = Path(str(init_from))
    where = f"init_from={init_from}"
    require(run_dir.is_dir(), f"{where} is not a directory; allowed: the directory of a finished run")
    require((run_dir / RECORD_NAME).is_file(), f"{where} holds no {RECORD_NAME}; allowed: the directory of a run")
    record = read_record(run_dir / RECORD_NAME)
    found = {checkpoint_step(p): p for p in sorted((run_dir / "checkpoints").glob("*.ckpt"))}
    steps = ", ".join(f"{s}" for s in sorted(found))
    require(bool(found), f"{where} holds no checkpoint (checkpoints/*.ckpt); allowed: a run made with "
                         "checkpoint.at_end=true (its final state) or checkpoint.every_n_steps=N")
    if init_step is None:
        final = record.get("steps")
        require(record.get("status") == "completed", f"{where}: its run is {record.get('status')}, so it has no "
                                                     f"final state; allowed: init_step= one of {steps}")
        require(final in found, f"{where}: no checkpoint at its final step {final} (its checkpoints: steps "
                                f"{steps}); allowed: init_step= one of those, or a parent run made with "
                                "checkpoint.at_end=true")
        step = int(final)
    else:
        require(isinstance(init_step, int) and not isinstance(init_step, bool) and init_step in found,
                f"init_step={init_step}: {run_dir} has no checkpoint at that step; allowed: {steps}")
        step = init_step
    return Parent(run_dir, record, found[step], step)


def resolved(cfg: DictConfig, key: str) -> Any:
    """`cfg.<key>` as plain values, interpolations resolved against the root; raw where they do
    not resolve (a record's config was written before the run's dims were known)."""
    try:
        node = OmegaConf.select(cfg, key, throw_on_resolution_failure=True)
        return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
    except OmegaConfBaseException:
        return (OmegaConf.to_container(cfg, resolve=False) or {}).get(key)


def flat(value: Any, prefix: str) -> dict[str, Any]:
    """{"task.p": 97, ...}: every leaf of a nested config under its dotted key."""
    if not isinstance(value, dict) or not value:
        return {prefix: value}
    return {k: v for key, item in value.items() for k, v in flat(item, f"{prefix}.{key}").items()}


def differences(mine: dict, theirs: dict, skip: tuple[str, ...] = ()) -> list[str]:
    return [k for k in sorted(set(mine) | set(theirs)) if k not in skip and mine.get(k) != theirs.get(k)]


@dataclass
class Kept:
    """What a child keeps of its parent's training set: `key` (the task's size key, None when
    the task has none) at `mine` where the parent had `theirs`, the fraction mine / theirs."""

    key: str | None
    mine: Any
    theirs: Any
    fraction: float

    def apply(self, task) -> None:
        """Train on the kept subset; the task then reports the child's size (`task_params`)."""
        if self.fraction < 1:
            task.keep_training(self.fraction, int(task.split_seed))
        if self.key is not None:
            setattr(task, self.key, self.mine)

    def as_record(self, task, parent: Parent) -> dict[str, Any]:
        return {"key": None if self.key is None else f"task.{self.key}", "parent": self.theirs, "child": self.mine,
                "fraction": round(self.fraction, 6), "seed": int(task.split_seed),
                "num_train": task.num_train, "parent_num_train": parent.record.get("num_train")}


def sized_like_parent(cfg: DictConfig, parent: Parent) -> tuple[DictConfig, Kept]:
    """The task config to build (the parent's size, so the held-out sets are the parent's) and
    what the child keeps; one line when the child's task is not its parent's."""
    mine, theirs = resolved(cfg, "task") or {}, resolved(parent.config, "task") or {}
    recipe = parent.record.get("recipe")
    require(mine.get("_target_") == theirs.get("_target_"),
            f"{parent.named}: its run trained task {parent.record.get('task')}, this one "
            f"{get_class(cfg.task._target_).name}; allowed: the parent's recipe (experiment={recipe}) and task")
    key = get_class(cfg.task._target_).train_size_key
    changed = differences(flat(mine, "task"), flat(theirs, "task"), skip=(f"task.{key}",))
    if changed:
        first = changed[0].split(".", 1)[1]
        raise GrokbenchError(
            f"{parent.named}: {changed[0]}={mine.get(first)!r} differs from its run's ({theirs.get(first)!r})"
            f"{f' and {len(changed) - 1} more task keys' if len(changed) > 1 else ''}; allowed: the parent's "
            f"task settings (its recipe {recipe}), with only {f'task.{key}' if key else 'no task key'} changed")
    if key is None or mine.get(key) == theirs.get(key):
        return cfg.task, Kept(key, theirs.get(key) if key else None, theirs.get(key) if key else None, 1.0)
    size, parents = mine.get(key), theirs.get(key)
    require(None not in (size, parents) and 0 < size <= parents,
            f"task.{key}={size} is invalid for a run continued from {parent.run_dir}; allowed: above 0 and at "
            f"most its parent's {parents} (a continued run trains on a subset of its parent's training set)")
    task = OmegaConf.create(OmegaConf.to_container(cfg.task, resolve=True))
    task[key] = parents
    return task, Kept(key, size, parents, size / parents)


def check_same_model(cfg: DictConfig, parent: Parent, method: str) -> None:
    """The parent's model (with this run's dims: the tasks are the same), method and optimizer."""
    config = parent.config
    with open_dict(config):
        config.dims = OmegaConf.to_container(cfg.dims)
    changed = differences(flat(resolved(cfg, "model"), "model"), flat(resolved(config, "model"), "model"))
    require(not changed, f"{parent.named}: {changed[0] if changed else ''} differs from its run's model "
                         f"({parent.record.get('model')}); allowed: the parent's model (its weights are what continues)")
    theirs = parent.record.get("method")
    require(method == theirs, f"{parent.named}: its run used method {theirs}, this one {method}; allowed: "
                              f"method={theirs} (its optimizer state is what continues)")
    mine, other = resolved(cfg, "optim._target_"), resolved(config, "optim._target_")
    require(mine == other, f"{parent.named}: its run's optimizer is {other}, this one's {mine}; allowed: "
                           f"the parent's optimizer (its state is what continues)")


def changes(cfg: DictConfig, parent: Parent) -> dict[str, dict[str, Any]]:
    """Every setting of this run that differs from its parent's: {key: {parent, child}}."""
    config = parent.config
    keys = [k for k in cfg if k not in NOT_COMPARED]
    mine = {k: v for key in keys for k, v in flat(resolved(cfg, key), key).items()}
    theirs = {k: v for key in keys for k, v in flat(resolved(config, key), key).items()}
    return {k: {"parent": theirs.get(k), "child": mine.get(k)} for k in differences(mine, theirs)}


def parent_entry(parent: Parent) -> dict[str, Any]:
    """The record's `parent`: where the run started from."""
    r = parent.record
    return {"run_dir": str(parent.run_dir), "recipe": r.get("recipe"), "seed": r.get("seed"), "step": parent.step,
            "commit": r.get("git_commit"), "dirty": r.get("git_dirty"), "verdict": r.get("verdict"),
            "checkpoint": str(parent.checkpoint)}


def continue_optimizer(optimizer: torch.optim.Optimizer, saved: dict, step: int, scheduler=None) -> None:
    """The parent's optimizer state (moments, step counts) with this run's settings, and the
    warmup where the parent's step puts it."""
    own = [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups]
    try:
        optimizer.load_state_dict(saved)
    except (ValueError, KeyError) as error:
        raise GrokbenchError(f"the parent's optimizer state does not fit this run's optimizer: {error}") from None
    for group, settings in zip(optimizer.param_groups, own):
        group.update(settings)
    if scheduler is not None:  # LambdaLR (GrokModule's warmup): the factor at the parent's step
        scheduler.last_epoch = step
        for group, base, factor in zip(optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas):
            group["lr"] = base * factor(step)


class ContinueOptimizer(Callback):
    """Loads the parent's optimizer state as the fit starts: the optimizer exists only then."""

    def __init__(self, saved: dict, step: int):
        self.saved, self.step = saved, step

    def on_train_start(self, trainer, pl_module) -> None:
        schedulers = trainer.lr_scheduler_configs
        continue_optimizer(trainer.optimizers[0], self.saved, self.step,
                           schedulers[0].scheduler if schedulers else None)


def start_from(parent: Parent, module: torch.nn.Module) -> ContinueOptimizer:
    """Load the parent's weights into the module; the callback that loads its optimizer state."""
    state = torch.load(parent.checkpoint, map_location="cpu", weights_only=False)
    try:
        module.load_state_dict(state["state_dict"])
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        raise GrokbenchError(f"{parent.named}: its weights do not fit this run's model "
                             f"({first[-1].strip() if first else error})") from None
    require(bool(state.get("optimizer_states")), f"{parent.named}: {parent.checkpoint} holds no optimizer state; "
                                                 "allowed: a checkpoint saved by grokbench run")
    return ContinueOptimizer(state["optimizer_states"][0], parent.step)
