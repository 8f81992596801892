"""Compose the suite's Hydra config outside the CLI (tests, benchmarks, notebooks)."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


def compose_config(overrides: list[str], run_dir: str | Path | None = None) -> DictConfig:
    """The config `grokbench run OVERRIDES` would use, with run_dir set and no progress bar."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    with open_dict(cfg):
        cfg.run_dir = str(run_dir) if run_dir else "unused"
        cfg.progress_bar = False
    return cfg
