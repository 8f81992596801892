"""What does grokbench cost over a plain PyTorch loop? Step-time ratio, same everything.

Both sides train the same model (same seed, so the same initial weights) on the same
resident data with the same optimizer and warmup schedule for the same number of steps.
The rounds are interleaved in one process so machine load hits both alike; the first
`--warmup` steps of every round are not timed. Evaluation is excluded on both sides (the
one grokbench evaluation at the end of a round falls after the last timed step).

    python benchmarks/overhead.py                  # batch 512 and full batch
    python benchmarks/overhead.py --steps 300 --rounds 5 experiment=nanda2023_addition
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from grokbench.config import compose_config
from grokbench.run import build_model, build_module, build_task, build_trainer, quiet_lightning


class StepClock(Callback):
    """Times training steps from the end of step `warmup` to the end of the last step."""

    def __init__(self, warmup: int):
        self.warmup, self.start, self.end, self.timed = warmup, None, None, 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        now = time.perf_counter()
        if trainer.global_step == self.warmup:
            self.start = now
        elif trainer.global_step > self.warmup:
            self.end, self.timed = now, trainer.global_step - self.warmup


def grokbench_step_seconds(cfg, warmup: int) -> float:
    L.seed_everything(int(cfg.seed), verbose=False)
    task = build_task(cfg)
    module = build_module(cfg, task, build_model(cfg, task))
    clock = StepClock(warmup)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = build_trainer(cfg, Path(run_dir), [clock])
        trainer.fit(module, datamodule=task)
    return (clock.end - clock.start) / clock.timed


@dataclass
class PlainRun:
    seconds_per_step: float   # the steps after `warmup`
    first_step_seconds: float  # step 1 alone: any one-time cost (e.g. compilation) shows here


class LoopClock:
    """Times a hand-written loop from its creation: step 1 alone, then the steps after `warmup`;
    `on_step(step, loss)` runs after each step."""

    def __init__(self, warmup: int, on_step=None):
        self.warmup, self.on_step, self.steps = warmup, on_step, 0
        self.start = time.perf_counter()
        self.first = 0.0

    def tick(self, step: int, loss) -> None:
        if self.on_step is not None:
            self.on_step(step, loss)
        if step == 1:
            self.first = time.perf_counter() - self.start
        if step == self.warmup:
            self.start = time.perf_counter()
        self.steps = step

    def result(self) -> PlainRun:
        return PlainRun((time.perf_counter() - self.start) / (self.steps - self.warmup), self.first)


def plain_pieces(cfg):
    """Task, model, loss, optimizer and scheduler as grokbench builds them (same seed, so the same
    initial weights, init scale, loss and optimizer)."""
    L.seed_everything(int(cfg.seed), verbose=False)
    task = build_task(cfg)
    module = build_module(cfg, task, build_model(cfg, task))
    optimizer_config = module.configure_optimizers()
    if isinstance(optimizer_config, dict):
        optimizer, scheduler = optimizer_config["optimizer"], optimizer_config["lr_scheduler"]["scheduler"]
    else:
        optimizer, scheduler = optimizer_config, None
    return task, module, optimizer, scheduler


def plain_run(cfg, warmup: int, wrap=None, on_step=None) -> PlainRun:
    """The loop a researcher would write by hand around the same pieces. `wrap(model)` is the
    forward to train through (default: the model); `on_step(step, loss)` runs after each step."""
    task, module, optimizer, scheduler = plain_pieces(cfg)
    model, loss_fn = module.model, module.loss_fn
    forward = model if wrap is None else wrap(model)
    model.train()
    clock = LoopClock(warmup, on_step)
    for step, (inputs, targets) in enumerate(task.train_dataloader(), start=1):
        loss = loss_fn(forward(inputs), targets, task.kind)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        clock.tick(step, loss)
    return clock.result()


def plain_step_seconds(cfg, warmup: int) -> float:
    return plain_run(cfg, warmup).seconds_per_step


def timing_config(overrides: list[str], steps: int):
    """The recipe for `steps` timed steps: one evaluation (after the last step), no early stop,
    no checkpoint."""
    return compose_config([*overrides, f"trainer.max_steps={steps}", f"eval.every={steps}",
                           "detector.stop_after_steps=null", "checkpoint.every_n_steps=null"])


def measure(overrides: list[str], steps: int, warmup: int, rounds: int) -> dict:
    cfg = timing_config(overrides, steps)
    plain, ours = [], []
    for _ in range(rounds):  # interleaved, so a load spike hits both sides
        plain.append(plain_step_seconds(cfg, warmup))
        ours.append(grokbench_step_seconds(cfg, warmup))
    ratios = [o / p for o, p in zip(ours, plain)]
    return {"plain_ms": 1e3 * statistics.median(plain), "grokbench_ms": 1e3 * statistics.median(ours),
            "ratio": statistics.median(ratios), "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. experiment=nanda2023_addition")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    quiet_lightning()
    print(f"{'setting':<28} {'plain ms/step':>14} {'grokbench ms/step':>18} {'ratio':>7}   per-round ratios")
    for label, batch in (("batch 512", "task.batch_size=512"), ("full batch", "task.batch_size=null")):
        result = measure([*args.overrides, batch], args.steps, args.warmup, args.rounds)
        rounds = " ".join(f"{r:.3f}" for r in result["ratios"])
        print(f"{label:<28} {result['plain_ms']:>14.2f} {result['grokbench_ms']:>18.2f} "
              f"{result['ratio']:>7.3f}   {rounds}")


if __name__ == "__main__":
    main()
