"""Which runs a configuration is compared with, read from what each experiment declares
(`meta:` in conf/experiment/*.yaml, copied into every record), never from recipe names:

- a main recipe's control: the baseline-method runs of its `meta.control` recipe;
- a method run's baseline: the baseline-method runs of its `meta.baseline` recipe when it
  declares one (a paper's method recipe, e.g. grokfast2024_ema -> grokfast2024_baseline), else
  of its own recipe (a methods-suite run `experiment=R method=M` keeps the recipe name R).
"""

from __future__ import annotations

import pandas as pd

from grokbench.board.frame import BASELINE, CONFIG_KEYS, present


def declared(group: pd.DataFrame, column: str) -> str | None:
    """The first value a group of runs declares in a meta column (None when none does)."""
    return next((str(v) for v in group[column] if present(v) and v != ""), None)


def recipe_runs(runs: pd.DataFrame, recipe: str | None) -> pd.DataFrame:
    """The baseline-method runs of a recipe (empty for None)."""
    return runs[(runs["recipe"] == recipe) & (runs["method"] == BASELINE)] if recipe else runs.iloc[0:0]


def control_recipe(group: pd.DataFrame) -> str | None:
    return declared(group, "control")


def control_runs(runs: pd.DataFrame, group: pd.DataFrame) -> tuple[str | None, pd.DataFrame]:
    """(declared control recipe, its runs) of a main configuration."""
    name = control_recipe(group)
    return name, recipe_runs(runs, name)


def baseline_recipe(group: pd.DataFrame) -> str:
    return declared(group, "baseline") or str(group["recipe"].iloc[0])


def baseline_runs(runs: pd.DataFrame, group: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """(baseline recipe, its runs) of a method configuration."""
    name = baseline_recipe(group)
    return name, recipe_runs(runs, name)


def configurations(runs: pd.DataFrame, role: str | None = None) -> list[tuple[dict, pd.DataFrame]]:
    """(configuration keys, its runs) in board order, optionally only those of one role."""
    selected = runs if role is None else runs[runs["role"] == role]
    return [(dict(zip(CONFIG_KEYS, keys)), group)
            for keys, group in selected.groupby(CONFIG_KEYS, sort=False, dropna=False)]
