"""The Python API, for scripts and notebooks: run an experiment as `grokbench run` would, and read
run records into the board's DataFrame.

    import grokbench
    record = grokbench.run_experiment({"optim.weight_decay": 0.1}, seed=1, threads=1)
    runs = grokbench.load_records("runs")   # one row per run, profile.* and config.* columns
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

Overrides = Iterable[str] | Mapping[str, Any] | None
PLAIN_VALUE = re.compile(r"[\w/\-+.:%*@?|]+")  # what Hydra's grammar reads unquoted
RUNS_DIR = "runs"


def hydra_value(value: Any) -> str:
    """A Python value as Hydra override syntax: None -> null, True -> true, [1, 2] -> [1,2];
    a string Hydra would read itself (x^y, a space) is quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if PLAIN_VALUE.fullmatch(text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def as_overrides(overrides: Overrides, settings: Mapping[str, Any]) -> list[str]:
    """Command-line overrides from a list (["task.p=113"]), a dict ({"task.p": 113}) and keyword
    settings (seed=3), in that order: a later one wins, as on the command line."""
    if overrides is None:
        listed: list[str] = []
    elif isinstance(overrides, Mapping):
        listed = [f"{key}={hydra_value(value)}" for key, value in overrides.items()]
    elif isinstance(overrides, str):
        listed = [overrides]  # one override, not its characters
    else:
        listed = list(overrides)
    return listed + [f"{key}={hydra_value(value)}" for key, value in settings.items()]


def new_run_dir(name: str, seed: Any, root: str | Path = RUNS_DIR) -> Path:
    """runs/<recipe>/<time>_seed<seed>, as `grokbench run` names it (conf/config.yaml hydra.run.dir);
    a suffix keeps two runs started in the same second apart."""
    stem = f"{dt.datetime.now():%Y-%m-%d_%H-%M-%S}_seed{seed}"
    path, n = Path(root) / str(name) / stem, 1
    while path.exists():
        path, n = Path(root) / str(name) / f"{stem}_{n}", n + 1
    return path


def run_experiment(overrides: Overrides = None, *, run_dir: str | Path | None = None,
                   **settings: Any) -> dict[str, Any]:
    """Train one experiment and return its run record (also written to <run_dir>/record.json).

    `overrides` are `grokbench run`'s: a list of "key=value" strings or a dict {key: value};
    keyword settings are top-level keys (seed=1, threads=1, task="mnist"). Bad input raises
    GrokbenchError with the CLI's one line, wherever it is found: before the run starts, or
    during it (a value a task refuses), then after the failed record is written, as the CLI
    writes it. Any other failure returns the record, status "failed", with its error and
    traceback. An interrupted run (SIGINT, SIGTERM) raises SystemExit with the CLI's exit code.
    run_dir: default runs/<recipe>/<time>_seed<seed> under the working directory.
    """
    from grokbench.callbacks.interrupt import exit_code
    from grokbench.config import compose_config, recipe_rule
    from grokbench.errors import GrokbenchError
    from grokbench.preflight import preflight
    from grokbench.run import train

    listed = recipe_rule(as_overrides(overrides, settings))
    preflight(listed, multirun=False)
    cfg = compose_config(listed)
    cfg.run_dir = str(run_dir or new_run_dir(cfg.name, cfg.seed))
    record = train(cfg, overrides=listed)  # outside `grokbench run` there are no Hydra overrides to read
    if record.get("interrupted"):
        raise SystemExit(exit_code(record["interrupted"]))
    if record["status"] == "failed" and record.get("traceback") is None:  # bad input: one line, no traceback
        raise GrokbenchError(record["error"])
    return record


def config_columns(records: list[tuple[Path, dict[str, Any]]]) -> pd.DataFrame:
    """Each run's overrides and resolved config as columns (config.optim.weight_decay, ...),
    indexed by record path: what a sweep varied."""
    columns = pd.json_normalize([record.get("config") or {} for _, record in records], sep=".")
    columns = columns.add_prefix("config.").set_axis([str(path) for path, _ in records])
    columns.insert(0, "overrides", [record.get("overrides") or [] for _, record in records])
    return columns


def load_records(path: str | Path | Iterable[str | Path] = RUNS_DIR) -> pd.DataFrame:
    """Every run record (record.json) under one directory or several, as the board reads them:
    one row per run with the board's columns (task, recipe, model, method, seed, status,
    profile.verdict and the other profile.* columns, final_val, steps, curve, ...; profiles of
    inexact tasks measured against their control's level), plus `overrides` and the run's
    config as config.* columns. Runs continued from another (init_from) are left out, as on the
    board: they have a fall, not a grokking profile (grokbench/board/ungrokking.py)."""
    from grokbench.board.frame import load_records as read_records
    from grokbench.board.frame import runs_frame
    from grokbench.board.reference import apply_control_references
    from grokbench.board.ungrokking import started_afresh

    paths = [path] if isinstance(path, (str, Path)) else list(path)
    records = started_afresh(read_records(paths))
    runs = apply_control_references(runs_frame(records))
    return runs.join(config_columns(records), on="path").reset_index(drop=True)
