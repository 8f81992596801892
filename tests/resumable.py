"""A tiny run that checkpoints (tests/test_interrupts.py, tests/test_slurm.py): its overrides, and
what "ends as an uninterrupted run" compares."""

from __future__ import annotations

import csv
import os
from pathlib import Path

TESTS = Path(__file__).resolve().parent
TINY = ["~experiment", "task.p=23", "task.train_fraction=0.6", "task.batch_size=128", "model=token_mlp",
        "model.d_embed=32", "model.width=64", "optim.lr=1e-2", "trainer.max_steps=240", "eval.every=20",
        "checkpoint.every_n_steps=60", "threads=1", "progress_bar=false"]
SAME = ("steps", "curve", "profile", "verdict", "final", "best", "memorized_step", "generalized_step")


def metrics_rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "metrics.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def assert_same_run(record: dict, run_dir: Path, uninterrupted: tuple[dict, list[dict]]) -> None:
    reference, rows = uninterrupted
    assert record["status"] == "completed"
    for key in SAME:
        assert record[key] == reference[key], key
    assert metrics_rows(run_dir) == rows  # every evaluation once, none lost


def subprocess_env() -> dict[str, str]:
    """The environment of a `grokbench` subprocess that can load tests/injected.py's callbacks."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
