"""Shared test helpers: compose the real Hydra config with overrides, run it in tmp_path."""

from __future__ import annotations

import pytest
import torch

from grokbench.config import compose_config

torch.set_num_threads(2)

__all__ = ["compose_config"]


@pytest.fixture
def run_config(tmp_path):
    """`run_config([...overrides])` -> a composed config whose run_dir is a temp dir."""
    return lambda overrides: compose_config(overrides, tmp_path / "run")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Tests never read or write the user's decoded-data cache."""
    monkeypatch.setenv("GROKBENCH_CACHE", str(tmp_path / "cache"))
