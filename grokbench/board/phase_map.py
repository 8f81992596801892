"""Omnigrok's four phases, read off each run's grokking profile (fixed before any run of the
phase suites, conf/suite/phase_*.yaml).

Liu, Kitouni, Nolte, Michaud, Tegmark & Williams 2022 ("Towards understanding grokking: an
effective theory of representation learning") name four phases by when the training and
held-out metrics reach their threshold within a fixed budget, and Omnigrok (Liu, Michaud &
Tegmark 2022) draws its phase diagrams with the same four:
- comprehension: the held-out metric reaches the threshold soon after the training set is fit;
- grokking: it reaches it, but long after the training set is fit;
- memorization: the training set is fit, the held-out metric never reaches it in the budget;
- confusion: the training set is never fit.
Here, per run, from the profile (grokbench/profile; thresholds are the profile's own):
- `unfit` (training progress never held 0.99): confusion;
- `grokked` or `generalized` (G = 0.9 sustained and held to the end): grokking when G = 0.9 came
  at least `min_plateau_decades` (0.225, levels.py) after memorization, log10(t_0.9 / t_mem),
  else comprehension. "Long after" is measured in decades like the profile's plateau, with its
  threshold. So every `grokked` run is grokking, and so is a `generalized` run whose G was
  above the chance band at memorization but reached 0.9 much later (Omnigrok's MNIST: held-out
  accuracy already above chance when the training set is fit); the verdict `grokked` is
  stricter (a flat plateau at chance first), and the board's grok rate keeps counting it;
- `memorized`, `censored` and `ungrokked`: memorization. Phases are read at the end of the
  budget, as Liu et al.'s: a run still rising when the budget ended (`censored`) or one that
  reached G = 0.9 and fell back (`ungrokked`) ends without held-out generalization;
- `diverged` and failed runs: no phase (they say nothing about where the run would settle).
A cell's phase is the phase of more than half of its runs; a cell without such a majority is
`mixed` (with 3 seeds a cell is mixed only when its runs fall in three phases, or one failed
and the other two differ): near a boundary seeds disagree, and a tie broken by an order would
draw the boundary somewhere the data do not put it.
A cell's phase must survive the perturbations a verdict must (grokbench/profile/sensitivity.py):
every run is re-read at every point of the declared neighbourhood of the profile's levels and on
both thinned schedules, and the points where the cell's phase differs from its phase at the
declared levels are reported (`phase_flips`); the diagram hatches such a cell.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pandas as pd

from grokbench.board.frame import number
from grokbench.board.reference import settings_of
from grokbench.board.sensitivity import filled_at_points, run_profiles
from grokbench.profile.sensitivity import Point

PHASES = ("comprehension", "grokking", "memorization", "confusion")
MIXED = "mixed"      # no phase holds more than half of a cell's runs
NO_PHASE = "none"    # every run of the cell failed or diverged
REACHED = "reached"  # G = 0.9 held: comprehension or grokking, by how late
# every profile verdict (grokbench/profile VERDICTS) and its phase: a new verdict must be placed here
VERDICT_PHASE: dict[str, str | None] = {
    "grokked": REACHED, "generalized": REACHED, "memorized": "memorization", "censored": "memorization",
    "ungrokked": "memorization", "unfit": "confusion", "diverged": None}


def run_phase(status: Any, verdict: Any, memorized_step: Any, generalized_step: Any,
              min_plateau_decades: float) -> str | None:
    """One run's phase (the module docstring); None for a failed or diverged run."""
    if status == "failed" or verdict not in VERDICT_PHASE:
        return None
    phase = VERDICT_PHASE[verdict]
    if phase != REACHED:
        return phase
    t_mem, t_gen = number(memorized_step), number(generalized_step)
    late = t_mem and t_gen and math.log10(t_gen / t_mem) >= min_plateau_decades
    return "grokking" if late else "comprehension"


def run_phases(runs: pd.DataFrame) -> list[str | None]:
    """The phase of every run, with its own plateau level (a recipe may set one)."""
    return [run_phase(row["status"], row["profile.verdict"], row["profile.memorized_step"],
                      row["profile.generalized_step"], settings_of(row).min_plateau_decades)
            for _, row in runs.iterrows()]


def cell_phase(phases: list[str | None]) -> tuple[str, int]:
    """(the cell's phase, how many of its runs are in it): a strict majority of all its runs
    (failed ones counted), else `mixed`; `none` when no run has a phase."""
    counts = Counter(p for p in phases if p is not None)
    if not counts:
        return NO_PHASE, 0
    phase, count = max(counts.items(), key=lambda pc: (pc[1], -PHASES.index(pc[0])))
    return (phase, count) if count * 2 > len(phases) else (MIXED, count)


def phases_at_points(row: pd.Series) -> dict[Point, str | None] | None:
    """One run's phase at every point of the neighbourhood and schedules, each read with that
    point's plateau level; None for a run without a curve (it keeps its phase everywhere)."""
    scored = run_profiles(row)
    if scored is None:
        return None
    return {point: run_phase(row["status"], profile.verdict, profile.memorized_step, profile.generalized_step,
                             settings.min_plateau_decades) for point, (profile, settings) in scored.items()}


def phase_flips(runs: pd.DataFrame) -> tuple[list[Point], list[Point]]:
    """(the points where the cell's phase is not its phase at the declared levels, every point)."""
    declared = run_phases(runs)
    scored = [phases_at_points(row) for _, row in runs.iterrows()]
    filled, points = filled_at_points(scored, declared)
    phase = cell_phase(declared)[0]
    return [p for p in points if cell_phase([run[p] for run in filled])[0] != phase], points
