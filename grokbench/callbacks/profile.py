"""The grokking profile: a pure function of a run's evaluation history.

Progress, not raw metrics. The held-out metric becomes G(t) = (val(t) - chance) / (reference
- chance): 0 at chance (1/classes, or R^2 = 0 for the mean predictor), 1 at the reference (1.0
for exact tasks, otherwise the converged held-out value of the paired control). The train
metric becomes M(t) the same way with reference 1.0. Every level below is a fraction of that
range, so a task pointed at other data needs no new thresholds.

Definitions and the papers they follow:
- memorization step t_mem (Power et al. 2022 §1: the training set is fit): the first
  evaluation with M >= `memorize_level` after which M stays there at most evaluations (more
  than half, and at least `sustain` of them). Adam's slingshot spikes (Thilak et al. 2022)
  are brief excursions from a fitted state and do not undo memorization.
- G at memorization, G_mem (Power et al. §1: held-out accuracy near chance when the training
  set is fit; the grokking verdict needs G_mem <= `low_progress`).
- first crossing and sustained step for G = 0.5 and G = 0.9 (sustained: `sustain` evaluations
  in a row, as Power et al. §3.1 read "steps to 99% validation accuracy" off smoothed curves).
- plateau, in decades: log10(t_0.5 / t_mem), the delay of Liu et al. 2022 (Omnigrok) read on
  the log-step axis of Power et al.'s Fig. 1.
- transition width, in decades: log10 of the steps from 10% to 90% of the held-out gain after
  memorization (Nanda et al. 2023: the "cleanup" phase is short against the plateau).
- gap area, in decades: the area between M and G on a log10-step axis, how long and how wide
  train and held-out were apart (the memorization gap of Humayun et al. 2024's figures).
- held-out loss bump: max held-out loss after memorization over its value at memorization
  (Power et al. Fig. 1 and Nanda et al. Fig. 2: the validation loss rises before it falls).
- stability: fraction of evaluations after the sustained G = 0.9 step that stay at G >= 0.9.
- censored: the budget ended before the held-out metric settled: not generalized and either
  memorized within the last doubling of steps or G still moving by more than
  `settle_tolerance` per doubling at the end (a least-squares slope on log10 steps).

Verdicts: `diverged` (a non-finite loss), `unfit` (never memorized), `grokked` (memorized with
G_mem <= `low_progress`, then sustained G >= 0.9 after a plateau of at least
`min_plateau_decades`), `generalized` (sustained G >= 0.9 without that delay), `ungrokked`
(sustained G >= 0.9, then the last `sustain` evaluations all below it: generalized and fell
back. Varma et al. 2023 use the word for a grokked network that loses generalization when
trained on a smaller data set; here it is a property of one run's curve), `censored`, and
`memorized` (held-out metric settled below G = 0.9).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from grokbench.errors import require

VERDICTS = ("grokked", "generalized", "memorized", "censored", "unfit", "ungrokked", "diverged")
HALF, GENERALIZED = 0.5, 0.9
FINAL_EVALUATIONS = 3  # the final level of a curve: the mean of its last three evaluations


@dataclass
class ProfileSettings:
    """What the profile reads and its levels; every default is chosen before any result.

    memorize_level 0.99: Power et al. fit the training set to ~100% accuracy; 0.99 of the
      chance-to-perfect range leaves room for one mislabelled example in a hundred.
    low_progress 0.2: the issue's default and Power et al.'s "from chance": at most a fifth of
      the way from chance to the reference when the training set is fit.
    min_plateau_decades 0.3: t_0.5 at least twice t_mem (log10 2), i.e. generalization takes as
      long again as memorization did, three log-spaced evaluations (ten per decade) after it.
      Shorter delays are within the evaluation grid and are called `generalized`.
    sustain 3: consecutive evaluations a held-out level must hold (the detector's rule since
      the first release); the train level tolerates spikes instead (see the module docstring).
    settle_tolerance 0.1: a tenth of the chance-to-reference range per doubling of steps, the
      same 10% that bounds the transition width: a smaller drift is not a transition.
    """

    train_metric: str = "train_eval/acc"
    val_metric: str = "val/acc"
    val_loss: str = "val/loss"
    chance: float = 0.0
    reference: float = 1.0
    train_reference: float = 1.0
    memorize_level: float = 0.99
    low_progress: float = 0.2
    min_plateau_decades: float = 0.3
    sustain: int = 3
    settle_tolerance: float = 0.1

    def __post_init__(self):
        require(int(self.sustain) >= 1, f"detector.sustain={self.sustain} is invalid; allowed: an integer >= 1")
        require(self.reference != self.chance,
                f"detector.reference={self.reference} equals the chance level; allowed: any other value")
        for name in ("memorize_level", "low_progress"):
            value = getattr(self, name)
            require(0 < value <= 1, f"detector.{name}={value} is invalid; allowed: a number in (0, 1]")
        for name in ("min_plateau_decades", "settle_tolerance"):
            value = getattr(self, name)
            require(value >= 0, f"detector.{name}={value} is invalid; allowed: a number >= 0")

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass
class Profile:
    """The grokking profile of one run (see the module docstring for each definition)."""

    verdict: str
    chance: float
    reference: float
    memorized_step: int | None = None
    progress_at_memorization: float | None = None
    half_step_first: int | None = None
    half_step: int | None = None
    generalized_step_first: int | None = None
    generalized_step: int | None = None
    plateau_decades: float | None = None
    transition_decades: float | None = None
    gap_area_decades: float | None = None
    val_loss_bump: float | None = None
    stability: float | None = None
    final_progress: float | None = None
    settle_rise: float | None = None
    censored: bool = False
    last_step: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def progress(values, chance: float, reference: float) -> np.ndarray:
    """(value - chance) / (reference - chance): 0 at chance, 1 at the reference."""
    return (np.asarray(values, dtype=float) - chance) / (reference - chance)


def held_start(values: np.ndarray, level: float, sustain: int) -> int | None:
    """Spike-tolerant start: first i with values[i] >= level that holds at more than half of
    the evaluations from i on, and at least `sustain` of them."""
    passing = values >= level
    remaining = np.cumsum(passing[::-1])[::-1]  # passing evaluations from i to the end
    for i in np.flatnonzero(passing):
        count = len(values) - i
        if remaining[i] >= sustain and remaining[i] * 2 > count:
            return int(i)
    return None


def first_run(values: np.ndarray, level: float, length: int, start: int = 0) -> int | None:
    """First index >= start that begins `length` consecutive values >= level."""
    run = 0
    for i in range(start, len(values)):
        run = run + 1 if values[i] >= level else 0
        if run == length:
            return i - length + 1
    return None


def first_crossing(values: np.ndarray, level: float, start: int = 0) -> int | None:
    hits = np.flatnonzero(values[start:] >= level)
    return int(start + hits[0]) if hits.size else None


def settle_rise(steps: np.ndarray, g: np.ndarray) -> float:
    """Change of G per doubling of steps over the last doubling of the run (least squares on
    log10 steps; the last two evaluations when the last doubling holds fewer)."""
    window = steps >= steps[-1] / 2
    if window.sum() < 2:
        window = np.arange(len(steps)) >= len(steps) - 2
    x, y = np.log10(steps[window]), g[window]
    if len(x) < 2 or np.ptp(x) == 0:
        return 0.0
    slope = np.polyfit(x, y, 1)[0]
    return float(slope * math.log10(2))


def gap_area(steps: np.ndarray, m: np.ndarray, g: np.ndarray) -> float | None:
    """Area between train and held-out progress on a log10-step axis (trapezoids)."""
    if len(steps) < 2:
        return None
    return float(np.trapezoid(m - g, np.log10(steps)))


def _rows(history: list[dict[str, Any]], s: ProfileSettings) -> list[dict[str, Any]]:
    return [r for r in history if r.get("step", 0) > 0 and s.train_metric in r and s.val_metric in r]


def analyze(history: list[dict[str, Any]], s: ProfileSettings) -> Profile:
    """The profile of rows `{"step": int, <metric>: float, ...}` in step order."""
    last_step = history[-1]["step"] if history else None
    base = {"chance": s.chance, "reference": s.reference, "last_step": last_step}
    if any(not r.get("finite", True) for r in history):
        return Profile("diverged", **base)
    rows = _rows(history, s)
    if not rows:
        return Profile("unfit", **base)
    steps = np.array([r["step"] for r in rows], dtype=float)
    m = progress([r[s.train_metric] for r in rows], s.chance, s.train_reference)
    g = progress([r[s.val_metric] for r in rows], s.chance, s.reference)
    final = float(g[-FINAL_EVALUATIONS:].mean())
    mem = held_start(m, s.memorize_level, s.sustain)
    p = Profile("unfit", final_progress=_rounded(final), gap_area_decades=_rounded(gap_area(steps, m, g)), **base)
    if mem is None:
        return p

    def step(i: int | None) -> int | None:
        return None if i is None else int(steps[i])

    p.memorized_step, p.progress_at_memorization = step(mem), _rounded(g[mem])
    p.half_step_first, p.generalized_step_first = step(first_crossing(g, HALF)), step(first_crossing(g, GENERALIZED))
    half, gen = first_run(g, HALF, s.sustain), first_run(g, GENERALIZED, s.sustain)
    p.half_step, p.generalized_step = step(half), step(gen)
    if half is not None:
        p.plateau_decades = _rounded(math.log10(max(steps[half], steps[mem]) / steps[mem]))
    p.transition_decades = _rounded(transition(steps, g, mem))
    losses = [r.get(s.val_loss) for r in rows[mem:]]
    if all(isinstance(v, (int, float)) for v in losses) and losses[0] > 0:
        p.val_loss_bump = _rounded(max(losses) / losses[0])
    p.settle_rise = _rounded(settle_rise(steps, g))
    if gen is not None:
        after = g[gen:]
        p.stability = _rounded(float((after >= GENERALIZED).mean()))
        fell_back = len(after) >= 2 * s.sustain and bool((g[-s.sustain:] < GENERALIZED).all())
        delayed = (p.progress_at_memorization <= s.low_progress
                   and (p.plateau_decades or 0.0) >= s.min_plateau_decades)
        p.verdict = "ungrokked" if fell_back else "grokked" if delayed else "generalized"
        return p
    p.censored = bool(steps[mem] > steps[-1] / 2 or abs(p.settle_rise) > s.settle_tolerance)
    p.verdict = "censored" if p.censored else "memorized"
    return p


def transition(steps: np.ndarray, g: np.ndarray, mem: int) -> float | None:
    """Decades from 10% to 90% of the held-out gain after memorization (the gain: from G at
    memorization to the final level, the mean of the last three evaluations)."""
    start, end = g[mem], float(g[-FINAL_EVALUATIONS:].mean())
    gain = end - start
    if gain <= 0:
        return None
    lo = first_crossing(g, start + 0.1 * gain, mem)
    hi = first_crossing(g, start + 0.9 * gain, mem)
    if lo is None or hi is None:
        return None
    return math.log10(steps[hi] / steps[lo])


def _g(value: float) -> str:
    return f"{value:.2f}".replace("-0.00", "0.00")  # a hair below chance reads as chance


def describe(p: Profile) -> str:
    """One console line, e.g. `grokked: memorized at step 1,600 with held-out progress 0.03;
    generalized (G=0.9) at step 3,700, 0.36 decades later, transition 0.12 decades`."""
    if p.memorized_step is None:
        return f"{p.verdict}: never memorized in {p.last_step or 0:,} steps"
    text = f"{p.verdict}: memorized at step {p.memorized_step:,} with held-out progress {_g(p.progress_at_memorization)}"
    if p.generalized_step is not None:
        later = math.log10(p.generalized_step / p.memorized_step) if p.generalized_step > p.memorized_step else 0.0
        text += f"; generalized (G=0.9) at step {p.generalized_step:,}, {later:.2f} decades later"
        if p.transition_decades is not None:
            text += f", transition {p.transition_decades:.2f} decades"
        return text
    text += f"; held-out progress {_g(p.final_progress)} at step {p.last_step:,}"
    if p.censored:
        text += f" (budget ended before it settled: {p.settle_rise:+.2f} per doubling)"
    return text
