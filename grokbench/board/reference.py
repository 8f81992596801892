"""The reference level of tasks that are not exact, taken from their declared control.

Natural data has no attainable 100%, so a run records its profile against a stand-in (the
perfect score, `detector.reference_source` says so) and the board sets the real level: the
median over the control's runs of its final held-out value (the mean of its last three
evaluations, as the profile's final progress). Every run that leans on that level, the main
recipe's, the control's own and the method runs paired with the main recipe, gets its profile
recomputed from its curve with it. A control that never left chance gives no usable level:
those runs keep their run-time profile and are flagged "reference unreachable". "Left chance"
uses the profile's own "near chance" band: the control's level must lie more than
`low_progress` (0.2) of the way from chance to the perfect score, or G_mem <= low_progress
would no longer tell memorization without generalization apart from the control's own level.
Levels belong to configurations (recipe and setting): a swept main recipe takes each setting's
level from the control runs of the agreeing setting when the control was swept too, else from
all the control's runs (pairing.same_setting); each control setting is measured against its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from grokbench.board.frame import BASELINE, PROFILE_COLUMNS, PROFILE_FIELDS, number
from grokbench.board.pairing import baseline_recipe, baseline_runs, configurations, control_runs
from grokbench.callbacks.profile import FINAL_EVALUATIONS, ProfileSettings, analyze

SET_AT_RUN_TIME = ("exact", "given")  # reference sources the board leaves alone
Key = tuple[str, str]  # (recipe, setting)


@dataclass(frozen=True)
class Level:
    control: str
    runs: int
    reference: float | None  # None: unreachable (not above chance)
    note: str


def final_value(curve: list[dict], metric: str | None, last: int = FINAL_EVALUATIONS) -> float | None:
    """Mean of the last `last` finite values of `metric` in a curve."""
    values = [number(r.get(metric)) for r in curve if metric in r] if metric else []
    finite = [v for v in values if v is not None and np.isfinite(v)][-last:]
    return float(np.mean(finite)) if finite else None


def control_level(name: str, controls: pd.DataFrame, settings: dict) -> Level | None:
    finals = [final_value(c, m) for c, m in zip(controls["curve"], controls["val_metric"])]
    finals = [v for v in finals if v is not None]
    if not finals:
        return None
    reference = float(np.median(finals))
    defaults = ProfileSettings()
    chance = float(settings.get("chance", defaults.chance))
    perfect = float(settings.get("reference", defaults.reference))  # the run-time stand-in
    low = float(settings.get("low_progress", defaults.low_progress))
    if (reference - chance) / (perfect - chance) <= low:
        return Level(name, len(finals), None, f"reference unreachable: control {name} stayed near chance "
                                              f"({reference:.4g}; chance {chance:.4g})")
    return Level(name, len(finals), reference,
                 f"reference {reference:.4g} from control {name} ({len(finals)} runs)")


def recompute(row: pd.Series, reference: float) -> dict:
    known = set(ProfileSettings.keys())
    settings = ProfileSettings(**{**{k: v for k, v in row["settings"].items() if k in known},
                                  "reference": reference})
    profile = analyze(row["curve"], settings).as_dict()
    return {column: profile[name] for column, name in zip(PROFILE_COLUMNS, PROFILE_FIELDS)}


def control_label(name: str, controls: pd.DataFrame) -> str:
    """The control as the reference note names it: with its setting when it was swept."""
    settings = sorted(set(controls["setting"]))
    if settings in ([], [""]):
        return name
    return f"{name} at {settings[0]}" if len(settings) == 1 else f"{name} pooled over {len(settings)} settings"


def control_levels(runs: pd.DataFrame) -> dict[Key, Level]:
    """(recipe, setting) -> the level its runs are measured against, for main configurations
    and the configurations of their controls."""
    levels: dict[Key, Level] = {}
    for config, group in configurations(runs, "main"):
        if set(group["reference_source"].dropna()) <= set(SET_AT_RUN_TIME):
            continue
        name, controls = control_runs(runs, group)
        settings = next((s for s in group["settings"] if s), {})
        level = control_level(control_label(name, controls), controls, settings) if name else None
        if level is None:
            continue
        levels[(config["recipe"], config["setting"])] = level
        for setting, own in controls.groupby("setting", sort=False):
            mine = level if len(own) == len(controls) else control_level(control_label(name, own), own, settings)
            levels.setdefault((name, setting), mine or level)
    return levels


def level_of(runs: pd.DataFrame, index, levels: dict[Key, Level]) -> Level | None:
    """The level a run is measured against: its own configuration's, or for a method run its
    baseline's (the first agreeing baseline setting that has one)."""
    row = runs.loc[index]
    if row["method"] == BASELINE and row["role"] != "method":
        return levels.get((row["recipe"], row["setting"]))
    name, baselines = baseline_recipe(runs.loc[[index]]), baseline_runs(runs, runs.loc[[index]])[1]
    keys = [(name, s) for s in dict.fromkeys(baselines["setting"])] + [(name, row["setting"]), (name, "")]
    return next((levels[k] for k in keys if k in levels), None)


def apply_control_references(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs with every profile that leans on a control's level recomputed against it."""
    runs = runs.copy()
    levels = control_levels(runs)
    for index, row in runs.iterrows():
        level = level_of(runs, index, levels) if levels else None
        if level is None or row["reference_source"] in SET_AT_RUN_TIME or not row["settings"]:
            continue
        runs.at[index, "reference_note"] = level.note
        if level.reference is not None and row["curve"]:
            for column, value in recompute(row, level.reference).items():
                runs.at[index, column] = value
    return runs
