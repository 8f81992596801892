"""How far a recipe's verdict moves: every run re-scored over the declared neighbourhood of the
profile's levels and on the thinned schedules (grokbench/profile/sensitivity.py), per
configuration. The universality table flags a row robust only when its majority verdict holds
at every point; the sensitivity table says where it flips.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from grokbench.board.frame import number
from grokbench.board.reference import settings_of
from grokbench.profile import Profile, ProfileSettings
from grokbench.profile.sensitivity import Point, Robustness, rescored, robustness


def run_profiles(row: pd.Series) -> dict[Point, tuple[Profile, ProfileSettings]] | None:
    """A run's profile, and its settings, at every point, against the reference the board
    measured it with; None for a run without a curve or the facts of its profile."""
    if not row["curve"] or not row["settings"] or row["settings"].get("heldout_size") is None:
        return None
    return rescored(row["curve"], settings_of(row, number(row["profile.reference"])))


def run_verdicts(row: pd.Series) -> dict[Point, str] | None:
    """A run's verdict at every point (`run_profiles`)."""
    scored = run_profiles(row)
    return None if scored is None else {point: profile.verdict for point, (profile, _) in scored.items()}


def group_robustness(group: pd.DataFrame) -> tuple[Robustness, list[Point]]:
    """Robustness of one configuration, and the points it was scored at; a run without a curve
    keeps its own verdict (or `failed`) at every point."""
    per_run, declared = [], []
    for _, row in group.iterrows():
        verdict = str(row["profile.verdict"]) if row["status"] != "failed" else "failed"
        scored = run_verdicts(row)
        declared.append(verdict)
        per_run.append(scored)
    filled, points = filled_at_points(per_run, declared)
    return robustness(filled, declared), points


def filled_at_points(per_run: list[dict[Point, Any] | None],
                     declared: list) -> tuple[list[dict[Point, Any]], list[Point]]:
    """Each run's value at every point, a run that could not be re-read (None) keeping its
    declared value everywhere; and the points, from the first run that was re-read."""
    points = next((list(s) for s in per_run if s), [])
    return [s if s else dict.fromkeys(points, v) for s, v in zip(per_run, declared)], points


def coordinates(point: Point) -> list[str]:
    """What sets a point apart from the declared levels on every schedule, e.g.
    ["thinned (odd)", "band_sigmas=1.5"]."""
    moved = [f"{name}={value:g}" for name, value in point.change if value != getattr(ProfileSettings, name)]
    return ([f"thinned ({point.schedule})"] if point.schedule != "all" else []) + moved


def describe_flips(flips: list[Point] | tuple[Point, ...], points: list[Point]) -> str:
    """Where a group's majority changes (`flips`, of `points`): each point that moves one level
    or the schedule alone, then how many of the points that move several at once, e.g.
    `band_sigmas=6; thinned (odd); 9 of 56 combined points`."""
    if not flips:
        return "nowhere"
    single = [" ".join(coordinates(p)) for p in flips if len(coordinates(p)) == 1]
    combined = [p for p in points if len(coordinates(p)) > 1]
    flipped = sum(len(coordinates(p)) > 1 for p in flips)
    parts = sorted(single) + ([f"{flipped} of {len(combined)} combined points"] if flipped else [])
    return "; ".join(parts)
