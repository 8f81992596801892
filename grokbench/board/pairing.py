"""Which runs a configuration is compared with, read from what each experiment declares
(`meta:` in conf/experiment/*.yaml, copied into every record), never from recipe names:

- a main recipe's control: the baseline-method runs of its `meta.control` recipe;
- a method run's baseline: the baseline-method runs of its `meta.baseline` recipe when it
  declares one (a paper's method recipe, e.g. grokfast2024_ema -> grokfast2024_baseline), else
  of its own recipe (a methods-suite run `experiment=R method=M` keeps the recipe name R); a
  method that names its own baseline method (`baseline:` in conf/method/<m>.yaml, copied into
  the record's `method_settings`, e.g. stablemax -> softmax_float64) pairs with that method's runs.

A swept configuration (settings.py) pairs with the control or baseline runs whose setting
agrees with its own on every key both have (the control swept over the same weight decays
gives each cell its own control); when none agrees, with all of them, pooled.
"""

from __future__ import annotations

import pandas as pd

from grokbench.board.frame import BASELINE, CONFIG_KEYS, present
from grokbench.board.settings import agrees


def declared(group: pd.DataFrame, column: str) -> str | None:
    """The first value a group of runs declares in a meta column (None when none does)."""
    return next((str(v) for v in group[column] if present(v) and v != ""), None)


def recipe_runs(runs: pd.DataFrame, recipe: str | None, method: str = BASELINE) -> pd.DataFrame:
    """The runs of a recipe with a method, the baseline by default (empty for no recipe)."""
    return runs[(runs["recipe"] == recipe) & (runs["method"] == method)] if recipe else runs.iloc[0:0]


def same_setting(candidates: pd.DataFrame, group: pd.DataFrame) -> pd.DataFrame:
    """The candidate runs whose setting agrees with the group's; all of them when none does."""
    if not len(group) or not len(candidates):
        return candidates
    wanted = group["setting_values"].iloc[0]
    agreeing = candidates[[agrees(values, wanted) for values in candidates["setting_values"]]]
    return agreeing if len(agreeing) else candidates


def control_recipe(group: pd.DataFrame) -> str | None:
    return declared(group, "control")


def control_runs(runs: pd.DataFrame, group: pd.DataFrame) -> tuple[str | None, pd.DataFrame]:
    """(declared control recipe, its runs) of a main configuration."""
    name = control_recipe(group)
    return name, same_setting(recipe_runs(runs, name), group)


def baseline_recipe(group: pd.DataFrame) -> str:
    return declared(group, "baseline") or str(group["recipe"].iloc[0])


def baseline_arm(group: pd.DataFrame) -> tuple[str, str]:
    """(baseline recipe, baseline method) of a method configuration."""
    return baseline_recipe(group), declared(group, "method_baseline") or BASELINE


def baseline_label(recipe: str, method: str) -> str:
    """The baseline as tables name it: its recipe, with its method when not `baseline`."""
    return recipe if method == BASELINE else f"{recipe} · {method}"


def baseline_runs(runs: pd.DataFrame, group: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """(baseline label, its runs) of a method configuration."""
    name, method = baseline_arm(group)
    return baseline_label(name, method), same_setting(recipe_runs(runs, name, method), group)


def configurations(runs: pd.DataFrame, role: str | None = None) -> list[tuple[dict, pd.DataFrame]]:
    """(configuration keys, its runs) in board order, optionally only those of one role."""
    selected = runs if role is None else runs[runs["role"] == role]
    return [(dict(zip(CONFIG_KEYS, keys)), group)
            for keys, group in selected.groupby(CONFIG_KEYS, sort=False, dropna=False)]
