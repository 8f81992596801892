"""Every experiment file composes, names itself, points at importable classes and declares
its role (domain, main | control | method, its control or baseline)."""

from pathlib import Path

import pytest
from hydra.utils import get_object
from omegaconf import OmegaConf

from grokbench.catalog import domain_names
from grokbench.config import CONF_DIR, compose_config, options

EXPERIMENTS = options("experiment")


def test_there_are_experiments():
    assert {"default", "power2022_division", "nanda2023_addition", "s5_composition"} <= set(EXPERIMENTS)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes(experiment):
    cfg = compose_config([f"experiment={experiment}"])
    assert cfg.name == experiment, "an experiment sets `name` to its file name"
    text = (Path(CONF_DIR) / "experiment" / f"{experiment}.yaml").read_text()
    assert text.lstrip().startswith("#"), "an experiment says where its numbers come from"
    for group in ("task", "optim"):
        OmegaConf.to_container(cfg[group], resolve=True)
    get_object(cfg.task._target_)
    get_object(cfg.model._target_)
    get_object(cfg.optim._target_)
    assert cfg.trainer.max_steps > 0 and cfg.eval.every > 0


@pytest.mark.parametrize("group", ["task", "model", "optim", "method"])
def test_every_group_option_composes(group):
    for option in options(group):
        cfg = compose_config([f"{group}={option}"])
        assert cfg[group] is not None


DOMAINS = domain_names()  # the catalog's
ROLES = ("main", "control", "method")


@pytest.fixture(scope="module")
def metas():
    """Each experiment's composed `meta` and the name of the task class it builds."""
    composed = {e: compose_config([f"experiment={e}"]) for e in EXPERIMENTS}
    return {e: (OmegaConf.to_container(cfg.meta), get_object(cfg.task._target_).name)
            for e, cfg in composed.items()}


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_declares_its_role(metas, experiment):
    meta, task = metas[experiment]
    assert set(meta) == {"domain", "role", "control", "baseline"}
    assert meta["domain"] in DOMAINS and meta["domain"] == task, f"{experiment} runs task {task}"
    assert meta["role"] in ROLES
    if meta["control"] is not None:
        assert meta["role"] == "main", "only a main recipe names a control"
        control, _ = metas[meta["control"]]  # KeyError: the control is not an experiment
        assert control["role"] == "control" and control["domain"] == meta["domain"]
    assert (meta["baseline"] is not None) == (meta["role"] == "method"), "a method recipe names its baseline"
    if meta["baseline"] is not None:
        baseline, _ = metas[meta["baseline"]]
        assert baseline["role"] == "main" and baseline["domain"] == meta["domain"]


def test_every_control_is_declared_by_a_main(metas):
    """Inherited meta is easy to get wrong: each control belongs to one main, and a main
    whose `<name>_control` file exists declares it."""
    controls = {e for e, (meta, _) in metas.items() if meta["role"] == "control"}
    declared = [meta["control"] for meta, _ in metas.values() if meta["control"] is not None]
    assert sorted(declared) == sorted(controls)
    for experiment, (meta, _) in metas.items():
        if meta["role"] == "main" and f"{experiment}_control" in metas:
            assert meta["control"] == f"{experiment}_control"
