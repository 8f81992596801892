"""Shared test helpers: compose the real Hydra config with overrides, run it in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from grokbench.cli import CONF_DIR

torch.set_num_threads(2)


def compose_config(overrides: list[str], run_dir: Path | None = None) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    with open_dict(cfg):
        cfg.run_dir = str(run_dir) if run_dir else "unused"
        cfg.progress_bar = False
    return cfg


@pytest.fixture
def run_config(tmp_path):
    """`run_config([...overrides])` -> a composed config whose run_dir is a temp dir."""
    return lambda overrides: compose_config(overrides, tmp_path / "run")
