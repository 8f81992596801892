"""Suites compose from real experiment configs; a killed run resumes to the same detector steps."""

import inspect
import os
import subprocess

import lightning as L
import pytest
import torch
from conftest import compose_config
from hydra.utils import get_class
from omegaconf import OmegaConf

from grokbench import run
from grokbench.cli import CONF_DIR, options
from grokbench.data import ShuffledBatches
from grokbench.errors import GrokbenchError
from grokbench.methods.catalog import applies, method_names, tuning_plan
from grokbench.record import RECORD_NAME, read_record
from grokbench.suite import (
    default_threads,
    expected_runs,
    load_suite,
    multiruns,
    only_sweeps,
    suite_command,
    sweep_commands,
)
from grokbench.tasks.base import GrokTask

SUITES = options("suite")


def test_ci_and_paper_suites_exist():
    assert {"ci", "paper"} <= set(SUITES)


def first_values(overrides: list[str]) -> list[str]:
    """A sweep's overrides with each swept key at its first value."""
    return [o.split(",")[0] for o in overrides]


@pytest.mark.parametrize("name", SUITES)
def test_every_suite_experiment_composes_and_records_under_its_own_name(name):
    suite = load_suite(name)  # raises on an experiment that does not exist
    for sweep in suite.sweeps.values():
        for experiments, method_overrides, _, _ in multiruns(sweep):
            methods = method_overrides[0].split("=", 1)[1].split(",") if method_overrides else ["baseline"]
            for recipe in experiments:
                for method in methods:
                    overrides = [f"experiment={recipe}", f"method={method}", *first_values(method_overrides[1:])]
                    cfg = compose_config(overrides)
                    assert cfg.name == recipe, f"{recipe}.yaml sets name={cfg.name}: its records would land elsewhere"
                    assert cfg.method.name == method


ADDED_AFTER_CONFIRMATION = {"s6_token_mlp", "s6_token_mlp_control"}


def test_ci_suite_runs_every_quick_preset_and_its_control_with_ten_seeds():
    suite = load_suite("ci")
    runs = expected_runs(suite, None)
    recipes = {recipe for recipe, _ in runs}
    presets = {r for r in options("experiment") if r.startswith("quick_") and not r.endswith("_control")}
    assert presets <= recipes  # every CPU quick preset runs ...
    assert all(f"{r}_control" in recipes for r in presets if f"{r}_control" in options("experiment"))
    # seeds 0-4 (presets were chosen on them) and 5-9 (confirmation seeds, never looked at before);
    # a domain added after the 10-seed confirmation run takes 5 seeds (issue 25: S6)
    for recipe in recipes:
        seeds = {seed for r, seed in runs if r == recipe}
        assert seeds == set(range(5 if recipe in ADDED_AFTER_CONFIRMATION else 10)), recipe


@pytest.mark.parametrize("name", SUITES)
def test_every_suite_varies_the_split_with_the_seed_over_five_seeds(name):
    """Tuning sweeps excepted: they run one seed that no grid uses, so a pick is not judged on
    the runs it was made on; a sweep with a `seeds_note` (why 5 would not fit) may run 3."""
    suite = load_suite(name)
    grid_seeds = {s for other in SUITES for sweep in load_suite(other).sweeps.values() if not sweep.get("tune")
                  for s in sweep.seeds}
    for sweep in suite.sweeps.values():
        (command, *_) = sweep_commands(OmegaConf.create({"sweeps": {"one": sweep}}), "out", None, []) or [None]
        if sweep.get("tune"):
            assert len(sweep.seeds) == 1 and not set(sweep.seeds) & grid_seeds
        elif not sweep.get("seeds_note"):  # issue 27's grids: 3 seeds a cell where 5 would not fit, said why
            assert len(set(sweep.seeds)) >= 5, "the board's statistics need at least 5 seeds"
        else:
            assert len(set(sweep.seeds)) >= 3, "even a sweep that says why needs 3 seeds"
        if command is None:  # a tuning sweep of a domain where every setting is published
            continue
        seeds = next(c for c in command if c.startswith("seed="))
        assert len(seeds.split("=", 1)[1].split(",")) == len(sweep.seeds)
        assert "task.split_seed=${seed}" in command


def test_a_sweep_may_fix_the_split_and_the_command_line_wins():
    suite = OmegaConf.create({"sweeps": {"varied": {"experiments": ["default"], "seeds": [0, 1]},
                                         "fixed": {"experiments": ["default"], "seeds": [0, 1], "fixed_split": True}}})
    varied, fixed = sweep_commands(suite, "out", None, ["task.split_seed=7"])
    assert "task.split_seed=${seed}" in varied and "task.split_seed=${seed}" not in fixed
    assert varied.index("task.split_seed=${seed}") < varied.index("task.split_seed=7")  # the user's comes last
    assert compose_config(["seed=3", "task.split_seed=${seed}", "task.split_seed=7"]).task.split_seed == 7


@pytest.mark.parametrize("task", options("task"))
def test_every_task_takes_the_seed_as_its_split_seed(task):
    """The suites' `task.split_seed=${seed}` must reach every domain's subset draw."""
    cfg = compose_config([f"task={task}", "seed=3", "task.split_seed=${seed}"])
    assert cfg.task.split_seed == 3
    assert "split_seed" in inspect.signature(GrokTask.__init__).parameters
    assert issubclass(get_class(cfg.task._target_), GrokTask)  # so its __init__ passes split_seed on


@pytest.mark.slow
def test_tiny_two_seed_suite_gives_records_with_different_splits(tmp_path):
    suite = OmegaConf.create({"overrides": ["progress_bar=false"],
                              "sweeps": {"tiny": {"experiments": ["default"], "seeds": [0, 1]}}})
    tiny = ["task.p=7", "model=token_mlp", "trainer.max_steps=10", "eval.every=5", "threads=1"]
    (command,) = sweep_commands(suite, str(tmp_path / "records"), None, tiny)
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    records = [read_record(tmp_path / "records" / "default" / f"seed{s}" / RECORD_NAME) for s in (0, 1)]
    assert [r["status"] for r in records] == ["completed", "completed"], [r["error"] for r in records]
    assert [(r["seed"], r["split_seed"], r["task_params"]["split_seed"]) for r in records] == [(0, 0, 0), (1, 1, 1)]


def test_sweep_command_is_a_hydra_multirun_into_recipe_seed_dirs():
    suite = load_suite("ci")
    commands = sweep_commands(suite, "out/records", [3, 4], ["launcher=joblib", "trainer.max_steps=20"],
                              data="data")
    assert "++task.source=data/mnist" in next(c for c in commands if "quick_mnist" in c[5])
    for command in commands:
        assert command[3:5] == ["run", "-m"]
        assert "seed=3,4" in command and "hydra.sweep.dir=out/records" in command
        assert "hydra.sweep.subdir=${name}/seed${seed}" in command
        assert command[-2:] == ["launcher=joblib", "trainer.max_steps=20"]  # user overrides win


def test_method_sweeps_find_every_method_that_applies_and_run_it_into_recipe_method_dirs():
    suite = load_suite("methods")
    commands = sweep_commands(suite, "out", None, [])
    assert all("hydra.sweep.subdir=${name}_${method.name}/seed${seed}" in c for c in commands)
    swept = {c[5].split("=")[1]: c[6].split("=")[1].split(",") for c in commands}
    domains = {"default": "modular", "s5_token_mlp": "s5", "quick_mnist": "mnist", "imdb_bow_largeinit": "imdb",
               "quick_qm9": "qm9", "quick_cifar10": "cifar10"}
    assert set(swept) == set(domains)  # every domain's CPU recipe of the ci suite
    for recipe, methods in swept.items():
        assert methods == [m for m in method_names() if applies(m, domains[recipe])], recipe
    assert {"muon", "adamw_strong_wd", "grokfast_lr_matched", "softmax_float64"} <= set(swept["default"])
    assert "stablemax" not in swept["quick_qm9"] and "muon" not in swept["quick_cifar10"]
    runs = expected_runs(suite, None)
    assert ("default_orthograd", 2) in runs and ("quick_mnist_stablemax", 0) in runs
    assert not any(recipe in domains for recipe, _ in runs)  # baselines: ci suite


def test_tuning_suite_runs_each_candidate_once_apart_from_the_grid(capsys):
    suite = load_suite("method_tuning")
    commands = sweep_commands(suite, "results/tuning", None, [])
    s5 = next(c for c in commands if c[5] == "experiment=s5_token_mlp" and c[6] == "method=grokfast_ema")
    assert s5[7] == f"++method.lamb={','.join(map(str, tuning_plan('grokfast_ema', 's5')['lamb']))}"
    assert "seed=100" in s5 and "hydra.sweep.subdir=${name}_${method.name}_lamb${method.lamb}/seed${seed}" in s5
    runs = expected_runs(suite, None)
    assert ("s5_token_mlp_grokfast_ema_lamb0.1", 100) in runs
    assert ("quick_cifar10_adamw_strong_wd_optim_weight_decay0.2", 100) in runs
    assert not any("_stablemax_" in name or "orthograd" in name for name, _ in runs)  # nothing to tune
    assert suite_command(["method_tuning", "--dry-run"]) == 0
    assert "hydra.sweep.dir=results/tuning " in capsys.readouterr().out  # kept apart from the grid's records


def test_sweeps_option_runs_part_of_a_suite(capsys):
    assert suite_command(["methods", "--sweeps", "modular,s5", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "experiment=default " in out and "experiment=s5_token_mlp " in out and "quick_mnist" not in out
    with pytest.raises(GrokbenchError, match="--sweeps mnist,cifar: cifar is not a sweep of suite methods; "
                                              "allowed: modular, s5, mnist, imdb, qm9, cifar10"):
        suite_command(["methods", "--sweeps", "mnist,cifar", "--dry-run"])

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


@pytest.mark.slow
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


def test_a_tuning_sweep_that_lists_its_methods_runs_only_their_sweeps():
    suite = only_sweeps(load_suite("method_tuning"), "method_tuning", "modular_strong_wd")
    assert [name for name, _ in expected_runs(suite, None)] == [
        f"default_adamw_strong_wd_optim_weight_decay{v}" for v in tuning_plan("adamw_strong_wd", "modular")["optim.weight_decay"]]
    everything = {name for name, _ in expected_runs(only_sweeps(load_suite("method_tuning"), "method_tuning", "modular"), None)}
    assert any(name.startswith("default_weight_norm_constraint_") for name in everything)
