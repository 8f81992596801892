"""Hidden progress: does a progress measure move while held-out progress G is still flat at
chance, and how long before the jump?

Per domain (its universality row's main recipe, `tables.universality_groups`) and per logged key
whose declaration in the records (`record["metrics"]`) has role `measure`; `weights/l2` (role
`weights`, every run) is not a declared measure and is left out. Definitions, fixed before any
real record was read:

- runs: a run counts when it memorized (profile `memorized_step`, t_mem) and logged the key. A
  plateau run has G inside the chance band at memorization and at least one evaluation after
  t_mem before G leaves the band for good (profile `leave_step`, t_leave; a run whose G never
  left has its plateau to its last step). Memorized runs without a plateau (G above or below
  the band at memorization, or leaving at the next evaluation) are counted apart: their
  held-out metric was not flat, so nothing there is hidden.
- a run's value at a step: the key's last logged value at or before that step (a measure with
  `every` > 1 is not logged at every evaluation; this is always an observed value).
- seed spread: max - min over the memorized runs of the value at t_mem (the same min-max band
  the figures draw). Undefined with fewer than two such runs: one seed has no spread.
- plateau change of a run: its value at the last evaluation before t_leave minus its value at
  t_mem, in the measure's units.
- moves: |median plateau change over the plateau runs| > the seed spread. The test is two-sided
  and the table says which way: a measure that moves against its declared direction during the
  plateau (a complexity that still rises, a norm that grows) is hidden change too, and reporting
  only progress would hide it. A key declared `none` (no progress direction, e.g. the logit
  scale) is reported the same way, rising or falling, with no progress sense attached.
- first move of a run: the first evaluation after t_mem at which the value has moved past the
  seed spread from its own value at t_mem, in the direction the row moved (its declared
  direction when it moved that way). A first crossing, not a held one: a measure that moves
  and comes back (a loss bump) has still announced something.
- lead: log10(t_gen / first move) per plateau run that reached G = 0.9 (profile
  `generalized_step`, t_gen); negative when it moved only after the jump; a run that never
  moved ranks below every lead (no lead). The row shows the median over those runs, or "none"
  when the median run never moved, with how many moved before t_gen; plateau runs that never
  reached G = 0.9 cannot say how early the measure was, and are counted as left out. Rows that
  do not move get no lead. Beside it, how many of those runs moved before G left the band: the
  lead to G = 0.9 includes the visible rise, the count says whether the move was hidden.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from grokbench.board.formatting import MISSING, fmt_float
from grokbench.board.frame import number
from grokbench.board.tables import OK, universality_groups, with_setting
from grokbench.record import curve_series, lower_median, value_at

MEASURE_ROLE = "measure"
SIGN = {"up": 1, "down": -1}

HIDDEN_NOTE = (
    "For each domain's main recipe (its universality row) and each declared progress measure its runs "
    "logged: the seed spread of the measure at memorization (max − min over the memorized runs), the "
    "median change from memorization to the last evaluation before G leaves the chance band (the "
    "plateau; runs whose G was not inside the band at memorization have no plateau and are counted "
    "apart), whether that change is larger than the spread and which way it goes against the measure's "
    "declared progress direction (a measure declared `none` is reported rising or falling), and how "
    "many decades before G = 0.9 it first moved past the spread (median over the plateau runs that "
    "reached G = 0.9, log10(t_gen / t_first_move); a run that never moved counts as no lead), with how many of "
    "those runs moved before G left the band (the hidden part of the lead). "
    "Definitions: grokbench/board/hidden_progress.py. The figures draw each measure's median over "
    "seeds (band: min–max), scaled to its own range, aligned at memorization and at G = 0.9.")


@dataclass(frozen=True)
class Window:
    """One run's plateau: t_mem, the last evaluation before t_leave, t_gen (None: never)."""

    memorized: float
    plateau_end: float | None  # None: no plateau
    generalized: float | None
    left: float | None = None      # t_leave; None: G never left the band
    no_plateau: str | None = None  # why not: G above or below the band at memorization, or left at once


def measure_directions(group: pd.DataFrame) -> dict[str, str]:
    """Declared measure key -> direction, from the runs' records; keys declared differently by
    different runs get `none` (no progress sense can be read from them)."""
    found: dict[str, set[str]] = {}
    for declared in group["metrics"]:
        for key, d in (declared or {}).items():
            if isinstance(d, dict) and d.get("role") == MEASURE_ROLE:
                found.setdefault(key, set()).add(str(d.get("direction") or "none"))
    return {key: (next(iter(ds)) if len(ds) == 1 else "none") for key, ds in sorted(found.items())}


def window(row: pd.Series) -> Window | None:
    """The run's plateau from its recomputed profile (reference.py); None if it never memorized."""
    t_mem = number(row["profile.memorized_step"])
    if t_mem is None:
        return None
    t_gen = number(row["profile.generalized_step"])
    if row["profile.memorized_in_band"] != "inside":
        return Window(t_mem, None, t_gen, no_plateau=f"{row['profile.memorized_in_band']} the band")
    t_leave = number(row["profile.leave_step"])
    steps = [number(r.get("step")) for r in row["curve"]]
    inside = [s for s in steps if s is not None and s > t_mem and (t_leave is None or s < t_leave)]
    return Window(t_mem, max(inside) if inside else None, t_gen, t_leave, None if inside else "left at once")


@dataclass(frozen=True)
class Hidden:
    """One (recipe, measure key): the numbers behind its table row."""

    plateau_runs: int
    no_plateau: Counter    # why, for the memorized runs without a plateau
    spread: float | None
    change: float | None        # median plateau change, in the measure's units
    moves: int                  # +1 rises, -1 falls, 0 within the spread (or undefined)
    leads: list[float]          # per plateau run that reached G = 0.9; -inf: never moved
    before_leaving: int         # of those, runs that moved before G left the band
    never_generalized: int      # plateau runs left out of the lead


def first_move(steps: np.ndarray, values: np.ndarray, w: Window, start: float, sign: int,
               spread: float) -> float | None:
    """The first evaluation after t_mem where the value moved past `spread` in `sign`'s way."""
    after = steps > w.memorized
    moved = np.flatnonzero(after & (sign * (values - start) > spread))
    return float(steps[moved[0]]) if moved.size else None


def hidden_progress(group: pd.DataFrame, key: str) -> Hidden:
    runs = []  # (window, steps, values, value at t_mem) of memorized runs that logged the key
    for _, row in group.iterrows():
        w = window(row)
        steps, values = curve_series(row["curve"], key, log_axis=False)
        start = value_at(steps, values, w.memorized) if w and steps.size else None
        if start is not None:
            runs.append((w, steps, values, start))
    starts = [start for _, _, _, start in runs]
    spread = float(max(starts) - min(starts)) if len(starts) >= 2 else None
    plateau = [r for r in runs if r[0].plateau_end is not None]
    changes = [value_at(s, v, w.plateau_end) - start for w, s, v, start in plateau]
    change = float(np.median(changes)) if changes else None
    moves = 0 if spread is None or change is None or abs(change) <= spread else int(np.sign(change))
    leads, never, before_leaving = [], 0, 0
    for w, steps, values, start in plateau if moves else []:
        if w.generalized is None:
            never += 1
            continue
        moved = first_move(steps, values, w, start, moves, spread)
        leads.append(-math.inf if moved is None else math.log10(w.generalized / moved))
        before_leaving += moved is not None and (w.left is None or moved < w.left)
    no_plateau = Counter(r[0].no_plateau for r in runs if r[0].plateau_end is None)
    return Hidden(len(plateau), no_plateau, spread, change, moves, sorted(leads), before_leaving, never)


def fmt_plateau_runs(h: Hidden) -> str:
    """e.g. `6 (4 without plateau: above the band 2, below the band 2)`."""
    if not h.no_plateau:
        return str(h.plateau_runs)
    why = ", ".join(f"{reason} {n}" for reason, n in sorted(h.no_plateau.items()))
    return f"{h.plateau_runs} ({sum(h.no_plateau.values())} without plateau: {why})"


def fmt_moves(h: Hidden, direction: str) -> str:
    if h.spread is None:
        return f"{MISSING} (fewer than two runs: no seed spread)"
    if h.change is None:
        return f"{MISSING} (no plateau run)"
    if not h.moves:
        return "no (within the seed spread)"
    way = "rises" if h.moves > 0 else "falls"
    if direction not in SIGN:
        return f"{OK} {way} (no declared progress direction)"
    return f"{OK} {way} ({'toward' if SIGN[direction] == h.moves else 'against'} its progress direction)"


def fmt_lead(h: Hidden) -> str:
    if not h.moves:
        return MISSING
    left_out = f"; {h.never_generalized} never reached G = 0.9" if h.never_generalized else ""
    if not h.leads:
        return f"{MISSING} (no plateau run reached G = 0.9{left_out})"
    ahead = sum(1 for lead in h.leads if lead > 0)
    lead = lower_median(h.leads)
    text = "none" if lead == -math.inf else f"{fmt_float(lead, 2)} decades"
    return (f"{text} ({ahead}/{len(h.leads)} moved before G = 0.9, {h.before_leaving}/{len(h.leads)} before G "
            f"left the band{left_out})")


def hidden_rows(runs: pd.DataFrame) -> list[dict[str, str]]:
    """One row per (domain, measure key) of each universality row's main recipe."""
    rows = []
    for domain, config, group, _control, _controls in universality_groups(runs):
        for key, direction in measure_directions(group).items():
            h = hidden_progress(group, key)
            rows.append({
                "domain": domain, "recipe": with_setting(config["recipe"], config["setting"]), "measure": key,
                "progress direction": direction,
                "plateau runs": fmt_plateau_runs(h),
                "seed spread at t_mem": fmt_float(h.spread, 3),
                "median change over the plateau": fmt_float(h.change, 3),
                "moves during the plateau": fmt_moves(h, direction),
                "first move before G = 0.9 (median)": fmt_lead(h)})
    return rows
