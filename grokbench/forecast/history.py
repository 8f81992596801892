"""One run as a forecaster sees it: its history up to the cut, its settings, and (for scoring
and calibration only) what happened after. Built from a row of the board's frame (profiles
already recomputed against the control's level); imports nothing of the board."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from grokbench.profile import ProfileSettings, held_start, progress
from grokbench.record import number

CUT_FACTOR = 1.5  # the cut: first evaluation at or after 1.5 x t_mem (package docstring)
SCORED = "scored"
# why a run is not scored (the table counts them)
NEVER_MEMORIZED = "never memorized"
CUT_PAST_END = "cut past its last step"
DECIDED_BEFORE_CUT = "G = 0.9 before the cut"


@dataclass(frozen=True)
class RunHistory:
    recipe: str
    domain: str
    seed: Any
    state: str                       # SCORED or why not
    memorized: float | None = None   # t_mem as seen online at the cut
    cut: float | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)  # curve rows up to the cut
    after: list[dict[str, Any]] = field(default_factory=list)  # the rest: calibration and scoring only
    budget: float | None = None      # trainer.max_steps
    decay_rate: float = 0.0          # lr x weight decay of a decoupled (AdamW) step; 0 without decay
    metrics: dict[str, Any] = field(default_factory=dict)  # logged keys' declarations
    generalized: float | None = None  # the outcome: sustained G = 0.9 (board profile); never read to predict

    @property
    def reached(self) -> bool:
        return self.generalized is not None and (self.budget is None or self.generalized <= self.budget)


def online_cut(curve: list[dict[str, Any]], row: pd.Series, factor: float) -> tuple[float, float] | None:
    """(t_mem, t_cut): the first evaluation at or after factor x t_mem, t_mem from the history
    up to that evaluation only (the profile's spike-tolerant memorization rule)."""
    s = ProfileSettings.from_facts(row["settings"], number(row["profile.reference"]))  # the board's levels
    rows = [r for r in curve if r.get("step", 0) > 0 and s.train_metric in r and s.val_metric in r]
    steps = np.array([r["step"] for r in rows], dtype=float)
    m = progress([r[s.train_metric] for r in rows], s.chance, s.train_reference)
    for k in range(len(rows)):
        mem = held_start(m[: k + 1], s.memorize_level, s.sustain)
        if mem is not None and steps[k] >= factor * steps[mem]:
            return float(steps[mem]), float(steps[k])
    return None


def decay_rate(config: dict[str, Any]) -> float:
    """eta x lambda of the optimizer's decoupled weight decay (AdamW-style: every step multiplies
    the weights by 1 - lr x weight_decay); 0 when the run has none."""
    optim = config.get("optim") or {}
    lr, wd = number(optim.get("lr")), number(optim.get("weight_decay"))
    return float(lr * wd) if lr and wd else 0.0


def history_of(row: pd.Series, factor: float = CUT_FACTOR) -> RunHistory:
    base = {"recipe": row["recipe"], "domain": row["domain"], "seed": row["seed"], "budget": number(row["step_budget"]),
            "decay_rate": decay_rate(row["config"]), "metrics": row["metrics"] or {},
            "generalized": number(row["profile.generalized_step"])}
    cut = online_cut(row["curve"], row, factor) if row["curve"] and row["settings"] else None
    if cut is None:  # a run that ended at G = 0.9 before its cut (a detector stop) was decided before it
        memorized = number(row["profile.memorized_step"])
        why = DECIDED_BEFORE_CUT if base["generalized"] is not None else CUT_PAST_END
        return RunHistory(**base, state=NEVER_MEMORIZED if memorized is None else why)
    t_mem, t_cut = cut
    seen = [number(r.get("step")) is not None and r["step"] <= t_cut for r in row["curve"]]
    rows = [r for r, before in zip(row["curve"], seen) if before]
    after = [r for r, before in zip(row["curve"], seen) if not before]
    state = DECIDED_BEFORE_CUT if base["generalized"] is not None and base["generalized"] <= t_cut else SCORED
    return RunHistory(**base, state=state, memorized=t_mem, cut=t_cut, rows=rows, after=after)


def histories(runs: pd.DataFrame, factor: float = CUT_FACTOR) -> list[RunHistory]:
    """The forecast's view of every completed recipe run (main and control roles, the recipe's
    own optimizer: method runs are the methods grid's, not recipes)."""
    chosen = runs[runs["role"].isin(["main", "control"]) & (runs["status"] == "completed")]
    return [history_of(row, factor) for _, row in chosen.iterrows()]
