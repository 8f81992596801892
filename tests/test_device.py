"""CUDA readiness, checked without a GPU (issue 28).

The `meta` device stands in for an accelerator: its tensors have shapes but no data, so any
host sync (`.item()`, `float()`, `bool()`, `.cpu()`) raises, and so does an operation between a
meta tensor and a CPU tensor that is not a 0-dim scalar, i.e. a tensor made without `device=`
somewhere in the step. Every method's training step, the evaluation step and the batch iterator
run on it here. A real CPU fit then counts the host reads our code, Lightning and torchmetrics make:
they must not grow with the number of training steps.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
import torch
from conftest import compose_config

from grokbench import record as rec
from grokbench import run
from grokbench.callbacks.adversarial import pgd_attack
from grokbench.data import ShuffledBatches
from grokbench.methods.base import build_method
from grokbench.methods.catalog import method_names

META = torch.device("meta")
TINY_MODULAR = ["task.p=7", "task.train_fraction=0.6", "task.batch_size=4", "module.warmup_steps=2",
                "module.gradient_clip_val=1.0", "eval.batch_size=16"]
MODELS = {"token_mlp": ["model=token_mlp", "model.d_embed=8", "model.width=16"],
          "transformer": ["model=transformer_small"]}
HOST_READS = ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__")


class HookedOptimizer:
    """What Lightning's optimizer wrapper does around `step()`: the callbacks' and the module's
    `on_before_optimizer_step` first (the methods' gradient changes), then the step."""

    def __init__(self, optimizer, callbacks, module):
        self.optimizer, self.callbacks, self.module = optimizer, callbacks, module

    def zero_grad(self, set_to_none=True):
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self):
        for callback in self.callbacks:
            callback.on_before_optimizer_step(None, self.module, self.optimizer)
        self.module.on_before_optimizer_step(self.optimizer)
        self.optimizer.step()


def on_meta(method: str, model: str):
    """(module, task, callbacks, optimizer) of a tiny run, the task's splits and the module on meta;
    the module's Lightning accessors answer as they would in a fit."""
    cfg = compose_config([*TINY_MODULAR, *MODELS[model], f"method={method}"])
    task = run.build_task(cfg)
    task.trainer = SimpleNamespace(strategy=SimpleNamespace(root_device=META), global_step=0)
    model_ = run.build_model(cfg, task)
    built = build_method(cfg.method, task.name)
    module = run.build_module(cfg, task, model_, built).to(META)
    callbacks = built.callbacks(cfg)
    configured = module.configure_optimizers()
    optimizer = configured["optimizer"] if isinstance(configured, dict) else configured
    scheduler = configured["lr_scheduler"]["scheduler"] if isinstance(configured, dict) else None
    hooked = HookedOptimizer(optimizer, callbacks, module)
    module.optimizers = lambda: hooked
    module.lr_schedulers = lambda: scheduler
    module.manual_backward = lambda loss: loss.backward()
    return module, task, callbacks, optimizer


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("method", ["baseline", *method_names()])
def test_every_method_trains_on_an_accelerator_stand_in(method, model):
    """Three training steps (method hooks, loss, clipping, optimizer, warmup) on meta: no
    host sync, no tensor made on the CPU."""
    module, task, callbacks, optimizer = on_meta(method, model)
    for callback in callbacks:
        callback.on_train_start(None, module)
    batches = iter(task.train_dataloader())  # moves the splits to the run's device once
    assert task.splits.train_targets.device == META
    for step in range(3):
        batch = next(batches)
        assert all(t.device == META for t in batch)
        loss = module.training_step(batch, step)
        assert loss.device == META
        for callback in callbacks:
            callback.on_train_batch_end(None, module, loss, batch, step)
    assert all(p.device == META for p in module.parameters())
    assert all(t.device == META for s in optimizer.state.values() for k, t in s.items()
               if torch.is_tensor(t) and k != "step")  # torch keeps Adam's step count on the CPU


def test_the_evaluation_runs_on_an_accelerator_stand_in():
    module, task, _, _ = on_meta("baseline", "transformer")
    for index, loader in enumerate(task.val_dataloader()):
        for batch in loader:
            module.validation_step(batch, 0, index)
    for split in module.eval_splits:
        assert module.eval_losses[split].compute().device == META
        assert all(v.device == META for v in module.eval_metrics[split].compute().values())


def test_shuffled_batches_copy_their_order_to_the_device_once_per_block(monkeypatch):
    """Many passes over a small set (per pass: 3 batches): one host-to-device copy for 300 steps."""
    copies = []
    original = torch.Tensor.to

    def counting_to(self, *args, **kwargs):
        moved = original(self, *args, **kwargs)
        if moved.device != self.device:
            copies.append(moved.device)
        return moved

    inputs = torch.zeros(10, 3, device=META)
    monkeypatch.setattr(torch.Tensor, "to", counting_to)
    batches = list(ShuffledBatches(inputs, torch.zeros(10, device=META), 3, steps=300, seed=0))
    assert len(batches) == 300 and copies == [META]


def count_host_reads(monkeypatch) -> dict[str, int]:
    """Counts the host reads (HOST_READS) that grokbench, Lightning or torchmetrics make
    themselves (torch.optim reads its own CPU step counters, which is no device sync)."""
    counts = {"n": 0}
    callers = ("grokbench", "lightning", "torchmetrics")
    for name in HOST_READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, **kwargs):
            if sys._getframe(1).f_globals.get("__name__", "").startswith(callers):
                counts["n"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return counts


@pytest.mark.parametrize("method", ["baseline", "weight_norm_constraint", "grokfast_ma"])
def test_a_fit_reads_nothing_back_per_training_step(tmp_path, monkeypatch, method):
    """The same run for 8 and for 24 steps, evaluated only at its last step: the host reads are
    the evaluation's, the same number in both."""
    reads = []
    for steps in (8, 24):
        cfg = compose_config([*TINY_MODULAR, *MODELS["token_mlp"], f"method={method}", f"trainer.max_steps={steps}",
                              f"eval.every={steps}"], tmp_path / f"{method}{steps}")
        with monkeypatch.context() as patch:
            counts = count_host_reads(patch)
            record = run.train(cfg)
        assert record["status"] == "completed", record["error"]
        reads.append(counts["n"])
    assert reads[0] > 0  # the evaluation's reads are counted: the counter works
    assert reads[0] == reads[1], f"host reads grow with steps: {reads[0]} in 8 steps, {reads[1]} in 24"


def test_the_record_says_where_and_in_what_precision_a_run_ran(tmp_path):
    cfg = compose_config([*TINY_MODULAR, *MODELS["token_mlp"], "trainer.max_steps=4", "eval.every=4",
                          "matmul_precision=high"], tmp_path / "run")
    try:
        record = run.train(cfg)
    finally:
        run.set_float32_precision("highest")  # torch's setting is process-wide
    hardware = record["hardware"]
    assert hardware["accelerator"] == "cpu" and hardware["device_type"] == "cpu"
    assert hardware["matmul_precision"] == "high" and hardware["cudnn_allow_tf32"] is True
    assert hardware["precision"] == "32-true"
    assert hardware["torch_version"] == torch.__version__ and hardware["cuda_version"] == torch.version.cuda
    assert set(rec.hardware()) == set(hardware)  # a run that fails early records the same keys
    assert record["stopped_by"] == "max_steps"


def test_a_wall_time_budget_ends_a_run_censored_not_failed(tmp_path):
    cfg = compose_config([*TINY_MODULAR, *MODELS["token_mlp"], "trainer.max_steps=100000", "eval.every=10",
                          "++trainer.max_time={seconds:1}"], tmp_path / "run")
    record = run.train(cfg)
    assert record["status"] == "completed" and record["stopped_by"] == "max_time"
    assert 0 < record["steps"] < 100000


def test_a_bad_matmul_precision_is_one_line(tmp_path):
    record = run.train(compose_config(["matmul_precision=fast"], tmp_path / "run"))
    assert record["status"] == "failed"
    assert record["error"] == "matmul_precision='fast' is invalid; allowed: highest, high, medium"


def test_the_adversarial_attack_runs_on_an_accelerator_stand_in():
    """PGD (CIFAR-10's robustness evaluation): the random start is drawn on the CPU by design
    (the same on every device) and moved; nothing else leaves the device."""
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.LazyLinear(10))
    model(torch.zeros(1, 3, 8, 8))  # materialize the lazy layer, then move
    model.to(META)
    images, targets = torch.zeros(4, 3, 8, 8, device=META), torch.zeros(4, dtype=torch.long, device=META)
    adversarial = pgd_attack(model, images, targets, eps=0.1, step_size=0.05, steps=2, random_start=True,
                             generator=torch.Generator().manual_seed(0))
    assert adversarial.device == META and adversarial.shape == images.shape
