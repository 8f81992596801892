"""A history re-scored over the declared neighbourhood of the levels and on thinned schedules.

A verdict a reviewer can flip by moving a level within reason, or by evaluating half as
often, is not a finding; the board reports, per recipe, whether its majority verdict holds at
every point (`levels.NEIGHBOURHOOD`, `levels.SCHEDULES`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from grokbench.profile.analyze import Profile, analyze
from grokbench.profile.levels import SCHEDULES, ProfileSettings, neighbourhood


def thinned(history: list[dict[str, Any]], schedule: str) -> list[dict[str, Any]]:
    """The history on a schedule: all evaluations, or every other one (`even`: from the first,
    `odd`: from the second). The last evaluation is kept either way, since a run's final
    metrics are its last step's on any schedule."""
    if schedule == "all" or len(history) < 2:
        return history
    kept = history[0::2] if schedule == "even" else history[1::2]
    return kept if kept[-1] is history[-1] else [*kept, history[-1]]


@dataclass(frozen=True)
class Point:
    schedule: str
    change: tuple[tuple[str, float], ...]  # the levels set at this point


def rescored(history: list[dict[str, Any]], settings: ProfileSettings) -> dict[Point, tuple[Profile, ProfileSettings]]:
    """The profile of the history, and the settings it was read with, at every schedule x
    neighbourhood point."""
    out = {}
    for schedule in SCHEDULES:
        rows = thinned(history, schedule)
        for change, point_settings in neighbourhood(settings):
            out[Point(schedule, tuple(change.items()))] = analyze(rows, point_settings), point_settings
    return out


def verdicts(history: list[dict[str, Any]], settings: ProfileSettings) -> dict[Point, str]:
    """Verdict of the history at every schedule x neighbourhood point."""
    return {point: profile.verdict for point, (profile, _) in rescored(history, settings).items()}


@dataclass(frozen=True)
class Robustness:
    """Of one group of runs: the majority verdict at the declared levels, whether it holds (is
    still the verdict of more than half the runs) at every point, the grok-rate range, and the
    points where the majority changes."""

    majority: str | None
    robust: bool
    grokked_low: int
    grokked_high: int
    runs: int
    flips: tuple[Point, ...]


def majority_of(values: list[str]) -> str | None:
    if not values:
        return None
    verdict, count = Counter(values).most_common(1)[0]
    return verdict if count * 2 > len(values) else None


def robustness(per_run: list[dict[Point, str]], declared: list[str]) -> Robustness:
    """Robustness of a group from each run's verdicts over the points (`verdicts`) and its
    verdicts at the declared levels."""
    majority = majority_of(declared)
    points = list(per_run[0]) if per_run else []
    flips, grokked = [], []
    for point in points:
        at_point = [run[point] for run in per_run]
        grokked.append(at_point.count("grokked"))
        if majority is None or at_point.count(majority) * 2 <= len(at_point):
            flips.append(point)
    return Robustness(majority, majority is not None and not flips, min(grokked, default=0),
                      max(grokked, default=0), len(per_run), tuple(flips))
