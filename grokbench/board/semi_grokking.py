"""Semi-grokking, per run and per cell (fixed before any run of conf/suite/critical_*.yaml).

Varma, Shah, Kenton, Kramár & Kumar 2023 ("Explaining grokking through circuit efficiency",
semi-grokking): with a training set near the critical size D_crit, where memorizing and
generalizing circuits are about equally efficient, a network shows delayed generalization to a
partial rather than a perfect held-out level. Read off the profile (grokbench/profile), a run
semi-groks when
- it is delayed as a grokked run is: G at memorization inside the chance band, flat there for at
  least `min_plateau_decades` (0.225, levels.py), then out of the band for good (the delay is
  not censored: G left the band and stayed above it);
- its final held-out progress G (mean of the last three evaluations) is partial: at least
  SEMI_LOW and below GENERALIZED (0.9, the profile's level for "generalized"). SEMI_LOW 0.2 is
  issue 27's lower end: it lies far above every chance band of these tasks (modular and S5:
  about ±0.01-0.03 of G), so a partial level is progress, not noise;
- that level is settled: the verdict is `memorized` (not `censored`: G moved less than 0.03 per
  doubling of steps over the last doubling, levels.py's settle_tolerance). Varma et al.'s
  semi-grokking is a level the network stays at; a run still rising when the budget ended is a
  late grok or a semi-grok, undecided, and is counted apart as `rising`.
A cell semi-groks when more than half of its runs do: partial generalization is a property of
one network's curve, so a cell where some seeds grok fully and others stay at chance (median G
in between) is not semi-grokking, only a cell split by its seeds.
"""

from __future__ import annotations

import pandas as pd

from grokbench.board.frame import number
from grokbench.board.reference import settings_of
from grokbench.profile import GENERALIZED

SEMI_LOW, SEMI_HIGH = 0.2, GENERALIZED
SEMI, RISING = "semi", "rising"


def partial_state(row: pd.Series) -> str | None:
    """`semi` for a semi-grokking run, `rising` for one that would be but had not settled, None
    otherwise (the module docstring)."""
    final, plateau = number(row["profile.final_progress"]), number(row["profile.plateau_decades"])
    left = number(row["profile.leave_step"]) is not None  # out of the band for good: the delay is not censored
    delayed = (row["profile.memorized_in_band"] == "inside" and left and plateau is not None
               and plateau >= settings_of(row).min_plateau_decades)
    if row["status"] == "failed" or not delayed or final is None or not SEMI_LOW <= final < SEMI_HIGH:
        return None
    return {"memorized": SEMI, "censored": RISING}.get(row["profile.verdict"])


def partial_states(runs: pd.DataFrame) -> list[str | None]:
    return [partial_state(row) for _, row in runs.iterrows()]


def semi_cell(states: list[str | None]) -> bool:
    """More than half of the cell's runs semi-grok."""
    return states.count(SEMI) * 2 > len(states)
