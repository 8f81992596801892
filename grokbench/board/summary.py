"""The numbers of one configuration across its runs (the tables, the CSV and `compare` read
these), and the speed groups runs are never pooled across."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from grokbench.board.frame import present
from grokbench.board.pairing import declared
from grokbench.board.stats import (
    CHOSEN_ON_SEEDS,
    CONFIRMATION_SEEDS,
    HALFWAY,
    Spread,
    count_reached,
    grok_rate,
    grok_rate_on,
    km_median_delay,
    km_median_or_beyond,
    km_median_time,
    spread,
)

BROKEN_OUTCOMES = ("failed", "diverged", "unfit")


def outcome(status: str, verdict: Any) -> str:
    """A run's verdict; `failed` for a failed run (its profile, if any, stopped with the error)."""
    return "failed" if status == "failed" or not present(verdict) else str(verdict)


def outcomes(group: pd.DataFrame) -> Counter:
    return Counter(outcome(s, v) for s, v in zip(group["status"], group["profile.verdict"]))


def speed_group(accelerator: Any, threads: Any) -> str:
    """Runs on other hardware or with other torch thread counts are timed apart."""
    where = accelerator if present(accelerator) else "?"
    count = int(threads) if present(threads) else "?"
    return f"{where}, {count} thread{'' if count == 1 else 's'}"


def speeds(group: pd.DataFrame) -> dict[str, dict[str, Spread | None]]:
    """Speed group -> wall seconds and steps per second across its runs."""
    labels = [speed_group(a, t) for a, t in zip(group["accelerator"], group["torch_threads"])]
    out = {}
    for label in sorted(set(labels)):
        runs = group[[lab == label for lab in labels]]
        out[label] = {"wall_seconds": spread(runs["wall_seconds"]),
                      "steps_per_second": spread(runs["steps_per_second"])}
    return out


@dataclass(frozen=True)
class Summary:
    """Counts, profile statistics and speeds of one configuration's runs. Where no Kaplan-Meier
    median exists, a `_beyond` field is the last step (second) seen: the median lies beyond it."""

    seeds: list[int]
    runs: int
    completed: int
    failed: int
    diverged: int
    outcomes: Counter            # verdict (or failed) -> runs
    grokked: int
    reached: int                 # runs that reached G = 0.9
    broken: int                  # failed, diverged or unfit
    memorized: int
    generalize_step: float | None
    generalize_seconds: float | None
    generalize_step_beyond: float | None
    generalize_seconds_beyond: float | None
    reached_half: int
    half_step: float | None
    memorize_step: Spread | None
    progress_at_memorization: Spread | None
    plateau: Spread | None
    band: Spread | None
    band_states: Counter
    delay: float | None
    delay_beyond: float | None
    grokked_chosen_on: tuple[int, int]
    grokked_confirmation: tuple[int, int]
    transition: Spread | None
    val_metric: str | None
    final_val: Spread | None
    reference: Spread | None
    reference_source: str | None
    reference_note: str | None
    reference_unreachable: bool  # the declared control stayed inside the chance band
    speeds: dict[str, dict[str, Spread | None]]
    step_budget: int | None
    parameters: int | None
    records: str


def summarize(group: pd.DataFrame) -> Summary:
    """Counts, profile statistics and speeds of one configuration's runs."""
    grokked, runs = grok_rate(group)
    counts = outcomes(group)
    statuses = Counter(group["status"])
    step, step_beyond = km_median_or_beyond(group)
    seconds, seconds_beyond = km_median_or_beyond(group, seconds=True)
    delay, delay_beyond = km_median_delay(group)
    return Summary(
        seeds=sorted(int(s) for s in group["seed"] if present(s)), runs=runs,
        completed=statuses.get("completed", 0), failed=statuses.get("failed", 0),
        diverged=statuses.get("diverged", 0), outcomes=counts, grokked=grokked,
        reached=count_reached(group), broken=sum(counts.get(o, 0) for o in BROKEN_OUTCOMES),
        memorized=sum(present(v) for v in group["profile.memorized_step"]),
        generalize_step=step, generalize_seconds=seconds,
        generalize_step_beyond=step_beyond, generalize_seconds_beyond=seconds_beyond,
        reached_half=count_reached(group, HALFWAY), half_step=km_median_time(group, HALFWAY),
        memorize_step=spread(group["profile.memorized_step"]),
        progress_at_memorization=spread(group["profile.progress_at_memorization"]),
        plateau=spread(group["profile.plateau_decades"]),
        band=spread(group["profile.band"]),
        band_states=Counter(v for v in group["profile.memorized_in_band"] if present(v)),
        delay=delay, delay_beyond=delay_beyond,
        grokked_chosen_on=grok_rate_on(group, CHOSEN_ON_SEEDS),
        grokked_confirmation=grok_rate_on(group, CONFIRMATION_SEEDS),
        transition=spread(group["profile.transition_decades"]),
        val_metric=declared(group, "val_metric"), final_val=spread(group["final_val"]),
        reference=spread(group["profile.reference"]),
        reference_source=declared(group, "reference_source"),
        reference_note=declared(group, "reference_note"),
        reference_unreachable=bool(group["reference_unreachable"].any()),
        speeds=speeds(group),
        step_budget=largest(group["step_budget"]), parameters=largest(group["parameters"]),
        records=records_directory(group),
    )


def largest(values: pd.Series) -> int | None:
    """The largest of a configuration's per-run counts (budget, parameters), None if none."""
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    return int(numbers.max()) if len(numbers) else None


def records_directory(group: pd.DataFrame) -> str:
    """The directory that holds all of a configuration's run directories (e.g. records/<recipe>)."""
    return os.path.commonpath([str(Path(p).parent.parent) for p in group["path"]]) if len(group) else ""
