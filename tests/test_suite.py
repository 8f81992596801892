"""Suites compose from real experiment configs; a killed run resumes to the same detector steps."""

import os

import lightning as L
import pytest
import torch
from conftest import compose_config

from grokbench import run
from grokbench.cli import CONF_DIR, options
from grokbench.data import ShuffledBatches
from grokbench.suite import default_threads, expected_runs, load_suite, sweep_commands

SUITES = options("suite")


def test_ci_and_paper_suites_exist():
    assert {"ci", "paper"} <= set(SUITES)


@pytest.mark.parametrize("name", SUITES)
def test_every_suite_experiment_composes_and_records_under_its_own_name(name):
    suite = load_suite(name)  # raises on an experiment that does not exist
    for sweep in suite.sweeps.values():
        for recipe in sweep.experiments:
            for method in sweep.get("methods") or ["baseline"]:
                cfg = compose_config([f"experiment={recipe}", f"method={method}"])
                assert cfg.name == recipe, f"{recipe}.yaml sets name={cfg.name}: its records would land elsewhere"
                assert cfg.method.name == method


def test_ci_suite_runs_every_quick_preset_and_its_control_and_three_algorithmic_seeds():
    suite = load_suite("ci")
    runs = expected_runs(suite, None)
    recipes = {recipe for recipe, _ in runs}
    presets = {r for r in options("experiment") if r.startswith("quick_") and not r.endswith("_control")}
    assert presets <= recipes  # every CPU quick preset runs ...
    assert all(f"{r}_control" in recipes for r in presets if f"{r}_control" in options("experiment"))
    assert {seed for recipe, seed in runs if recipe == "default"} >= {0, 1, 2}


def test_sweep_command_is_a_hydra_multirun_into_recipe_seed_dirs():
    suite = load_suite("ci")
    commands = sweep_commands(suite, "out/records", [3, 4], ["launcher=joblib", "trainer.max_steps=20"],
                              data="../shared/data")
    assert "++task.source=../shared/data/mnist" in next(c for c in commands if "quick_mnist" in c[5])
    for command in commands:
        assert command[3:5] == ["run", "-m"]
        assert "seed=3,4" in command and "hydra.sweep.dir=out/records" in command
        assert "hydra.sweep.subdir=${name}/seed${seed}" in command
        assert command[-2:] == ["launcher=joblib", "trainer.max_steps=20"]  # user overrides win


def test_method_sweeps_run_each_method_into_its_own_recipe_method_dirs():
    suite = load_suite("methods")
    commands = sweep_commands(suite, "out", None, [])
    assert all("hydra.sweep.subdir=${name}_${method.name}/seed${seed}" in c for c in commands)
    assert any(c[6] == "method=grokfast_ema,grokfast_ma,stablemax,orthograd,weight_norm_constraint"
               for c in commands)
    runs = expected_runs(suite, None)
    assert ("default_orthograd", 2) in runs and ("quick_mnist_stablemax", 0) in runs
    assert not any(recipe in ("default", "quick_s5", "quick_mnist") for recipe, _ in runs)  # baselines: ci suite


def test_joblib_workers_divide_the_cores_unless_threads_are_given():
    cores = os.cpu_count() or 1
    assert default_threads(["launcher=joblib", "workers=2"]) == [f"threads={max(1, cores // 2)}"]
    assert default_threads(["launcher=joblib", "threads=1"]) == []
    assert default_threads([]) == [f"threads={cores}"]


def test_launchers_compose():
    cfg = compose_config(["launcher=joblib", "workers=3"])
    assert cfg.workers == 3
    if (CONF_DIR / "launcher" / "slurm.yaml").exists():
        pytest.importorskip("hydra_plugins.hydra_submitit_launcher")  # the optional `slurm` extra
        cfg = compose_config(["launcher=slurm"])
        assert cfg.checkpoint.every_n_steps and cfg.threads


def test_batches_resumed_at_a_step_continue_the_same_order():
    inputs, targets = torch.arange(50), torch.arange(50)
    full = [b[1].tolist() for b in ShuffledBatches(inputs, targets, 8, steps=20, seed=3)]
    for start in (0, 5, 6, 13, 20):
        resumed = [b[1].tolist() for b in ShuffledBatches(inputs, targets, 8, steps=20, seed=3, start=start)]
        assert resumed == full[start:]


TINY = ["~experiment", "task.p=23", "task.train_fraction=0.6", "task.batch_size=128", "model=token_mlp",
        "model.d_embed=32", "model.width=64", "optim.lr=1e-2", "trainer.max_steps=240", "eval.every=20",
        "checkpoint.every_n_steps=60", "threads=1"]


class KillAt(L.Callback):
    """Stands in for a preemption: the process dies at `step`, after the last checkpoint."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer, *args):
        if trainer.global_step == self.step:
            raise RuntimeError(f"killed at step {self.step}")


def test_killed_run_resumes_from_its_checkpoint_with_the_same_detector_state(tmp_path, monkeypatch):
    uninterrupted = run.train(compose_config(TINY, tmp_path / "full"))
    build = run.build_trainer
    monkeypatch.setattr(run, "build_trainer", lambda cfg, d, cbs: build(cfg, d, [*cbs, KillAt(130)]))
    killed = run.train(compose_config(TINY, tmp_path / "cut"))
    assert killed["status"] == "failed" and (tmp_path / "cut" / "checkpoints" / "last.ckpt").exists()
    monkeypatch.setattr(run, "build_trainer", build)
    resumed = run.train(compose_config(TINY, tmp_path / "cut"))
    assert resumed["status"] == "completed" and resumed["resumed_from_step"] == 120
    assert uninterrupted["memorized_step"] is not None  # the detector has something to carry over
    for key in ("verdict", "memorized_step", "generalized_step", "steps"):
        assert resumed[key] == uninterrupted[key], key
    assert resumed["curve"] == uninterrupted["curve"]  # every evaluation, before and after the kill
