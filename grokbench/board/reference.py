"""The reference level of tasks that are not exact, and every profile recomputed with it.

Natural data has no attainable 100%, so a run records a provisional profile against a stand-in
(the perfect score; the record says so) and the board sets the real level: the median over the
control's runs of its final held-out value (the mean of its last three evaluations, as the
profile's final progress). A control whose level does not clear the chance band (on its own
held-out size) gives no usable level: its runs and those that lean on it are flagged
"reference unreachable" and keep the stand-in.
Every run's profile is then recomputed from its curve by the one profile function, with the
levels declared now (grokbench/profile/levels.py) and the run's facts (frame.profile_facts):
exact and inexact tasks alike, so a record's run-time verdict and the board's differ only where
the record says its verdict was provisional, or where a record predates the current levels.
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
from grokbench.profile import FINAL_EVALUATIONS, ProfileSettings, analyze, band_halfwidth

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


def settings_of(row: pd.Series, reference: float | None = None) -> ProfileSettings:
    """The run's profile settings: its facts and given levels (frame.record_row), the declared
    levels for the rest, and `reference` where the board sets one."""
    return ProfileSettings.from_facts(row["settings"], reference)


def control_level(name: str, controls: pd.DataFrame) -> Level | None:
    finals = [final_value(c, m) for c, m in zip(controls["curve"], controls["val_metric"])]
    finals = [v for v in finals if v is not None]
    if not finals or not controls["settings"].iloc[0]:
        return None
    reference = float(np.median(finals))
    settings = settings_of(controls.iloc[0])  # the stand-in reference: the band in metric units
    band = band_halfwidth(settings) * abs(settings.reference - settings.chance)
    if reference - settings.chance <= band:
        return Level(name, len(finals), None, f"reference unreachable: control {name} stayed inside the chance "
                                              f"band ({reference:.4g}; chance {settings.chance:.4g} ± {band:.3g})")
    return Level(name, len(finals), reference,
                 f"reference {reference:.4g} from control {name} ({len(finals)} runs)")


def recompute(row: pd.Series, reference: float | None = None) -> dict:
    profile = analyze(row["curve"], settings_of(row, reference)).as_dict()
    return {column: profile.get(name) for column, name in zip(PROFILE_COLUMNS, PROFILE_FIELDS)}


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
        level = control_level(control_label(name, controls), controls) if name and len(controls) else None
        if level is None:
            continue
        levels[(config["recipe"], config["setting"])] = level
        for setting, own in controls.groupby("setting", sort=False):
            mine = level if len(own) == len(controls) else control_level(control_label(name, own), own)
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


def apply_control_references(runs: pd.DataFrame, others: pd.DataFrame | None = None) -> pd.DataFrame:
    """The runs with every profile recomputed from its curve, against its control's level where
    its task is not exact (the module docstring). With `others` (runs the board does not show:
    the tuning runs, grokbench/methods/tuning.py), those instead, each measured against the level
    `runs` set for its recipe: the scale the board reports `runs` on."""
    levels = control_levels(runs)
    if others is None:
        runs, targets = runs.copy(), runs.index
    else:
        runs, targets = pd.concat([runs, others], ignore_index=True), range(len(runs), len(runs) + len(others))
    for index in targets:
        row = runs.loc[index]
        if not row["settings"] or not row["curve"] or row["settings"].get("heldout_size") is None:
            continue  # failed before its first evaluation, or a record without the facts
        level = None
        if row["reference_source"] not in SET_AT_RUN_TIME and levels:
            level = level_of(runs, index, levels)
            if level is not None:
                runs.at[index, "reference_note"] = level.note
                runs.at[index, "reference_unreachable"] = level.reference is None
        reference = level.reference if level is not None else None
        for column, value in recompute(row, reference).items():
            runs.at[index, column] = value
    return runs.loc[targets]
