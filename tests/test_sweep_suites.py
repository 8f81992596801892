"""Issue 27's suites (conf/suite/critical_*.yaml, phase_*.yaml): every grid cell composes with its
values in the run's config, the phase diagrams are at least 5 x 5 with 3 seeds, the critical
sweeps cross the training fraction with the weight decay, and the dry listing names every run."""

from __future__ import annotations

import itertools
import math

import pytest
from omegaconf import OmegaConf

from grokbench.cli import main
from grokbench.config import compose_config
from grokbench.suite import expected_runs, load_suite

CRITICAL = ("critical_modular", "critical_s5", "critical_s6")
PHASES = ("phase_modular", "phase_mnist", "phase_imdb")


def grid_sweeps(name: str):
    return [(key, sweep) for key, sweep in load_suite(name).sweeps.items() if sweep.get("grid")]


def value_at(cfg, key: str):
    return OmegaConf.select(cfg, key)


@pytest.mark.parametrize("name", CRITICAL + PHASES)
def test_every_corner_of_every_grid_composes_with_its_values(name):
    for _, sweep in grid_sweeps(name):
        grid = {k: list(v) for k, v in sweep.grid.items()}
        for corner in itertools.product(*({values[0], values[-1]} for values in grid.values())):
            for experiment in sweep.experiments:
                cfg = compose_config([f"experiment={experiment}", *(f"{k}={v}" for k, v in zip(grid, corner))])
                assert cfg.name == experiment
                assert [float(value_at(cfg, k)) for k in grid] == [float(v) for v in corner]


@pytest.mark.parametrize("name", PHASES)
def test_phase_suites_are_at_least_five_by_five_with_three_seeds(name):
    ((_, sweep),) = grid_sweeps(name)
    assert len(sweep.grid) == 2 and all(len(values) >= 5 for values in sweep.grid.values())
    assert len(set(sweep.seeds)) == 3 and sweep.seeds_note
    assert load_suite(name).out == "results/phases/records"


@pytest.mark.parametrize("name", CRITICAL)
def test_critical_suites_sweep_the_training_fraction_by_weight_decay(name):
    for _, sweep in grid_sweeps(name):
        assert list(sweep.grid) == ["task.train_fraction", "optim.weight_decay"]
        assert len(sweep.grid["task.train_fraction"]) >= 5
    assert load_suite(name).out == "results/critical/records"


@pytest.mark.parametrize("name", CRITICAL + PHASES)
def test_the_dry_listing_names_every_cell_and_seed(name, capsys):
    suite = load_suite(name)
    runs = expected_runs(suite, None)
    cells = sum(len(sweep.seeds) * len(sweep.experiments) *
                (math.prod(len(v) for v in sweep.grid.values()) if sweep.get("grid") else 1)
                for sweep in suite.sweeps.values())
    assert len(runs) == cells == len(set(runs))
    assert main(["suite", name, "--dry-run", "launcher=joblib", "workers=2"]) == 0
    assert f"\n{len(runs)} runs:\n" in capsys.readouterr().out
