"""Shared test helpers: compose the real Hydra config with overrides, run it in tmp_path."""

from __future__ import annotations

import os

import pytest
import torch

from grokbench.config import compose_config

# The tests run on two pytest-xdist workers (pyproject addopts): one torch thread each, and for
# the runs they spawn, so two workers never oversubscribe the 2 cores (torch's OpenMP threads
# spin-wait badly when they share one); alone, a test process takes both cores.
IN_WORKER = bool(os.environ.get("PYTEST_XDIST_WORKER"))
WORKER_THREADS = 1 if IN_WORKER else 2
torch.set_num_threads(WORKER_THREADS)
if IN_WORKER:
    os.environ.setdefault("OMP_NUM_THREADS", str(WORKER_THREADS))

__all__ = ["compose_config"]


@pytest.fixture
def run_config(tmp_path):
    """`run_config([...overrides])` -> a composed config whose run_dir is a temp dir."""
    return lambda overrides: compose_config(overrides, tmp_path / "run")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Tests never read or write the user's decoded-data cache."""
    monkeypatch.setenv("GROKBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def tiny_mnist(tmp_path):
    """A folder of Hub-schema MNIST Parquet files: 6 training and 2 test digits per class."""
    import datasets
    from PIL import Image

    root = tmp_path / "mnist"
    root.mkdir()
    features = datasets.Features({"image": datasets.Image(),
                                  "label": datasets.ClassLabel(names=[str(c) for c in range(10)])})
    for split, per_class in (("train", 6), ("test", 2)):
        labels = [c for c in range(10) for _ in range(per_class)]
        images = [Image.new("L", (28, 28), color=20 * c + 5) for c in labels]
        datasets.Dataset.from_dict({"image": images, "label": labels}, features=features) \
            .to_parquet(str(root / f"{split}.parquet"))
    return root


@pytest.fixture(scope="session")
def uninterrupted(tmp_path_factory):
    """The record and metrics.csv rows of tests/resumable.py's tiny run, never interrupted."""
    from resumable import TINY, metrics_rows

    from grokbench import run

    run_dir = tmp_path_factory.mktemp("uninterrupted")
    return run.train(compose_config(TINY, run_dir)), metrics_rows(run_dir)
