"""Every experiment file composes, names itself, and points at importable classes."""

from pathlib import Path

import pytest
from hydra.utils import get_object
from omegaconf import OmegaConf

from grokbench.cli import CONF_DIR, options
from grokbench.config import compose_config

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
