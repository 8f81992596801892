"""The grokking profile (v3): a pure function of a run's evaluation history.

Progress, not raw metrics. The held-out metric becomes G(t) = (val(t) - chance) / (reference
- chance): 0 at chance, 1 at the reference (1.0 for exact tasks, otherwise the converged
held-out level of the paired control). The train metric becomes M(t) the same way with
reference 1.0. Levels and their reasons: `levels.ProfileSettings`.

Definitions and the papers they follow:
- chance band: G within +-w of 0, w = band_sigmas standard errors of the held-out metric at
  chance on the n held-out examples it is computed on (`levels.ProfileSettings`), in units of
  G. Two-sided, so "near chance" cannot be met by a metric far below it.
- memorization step t_mem (Power et al. 2022 §1: the training set is fit): the first
  evaluation with M >= memorize_level after which M stays there at most evaluations (more
  than half, and at least `sustain` of them): Adam's slingshot spikes (Thilak et al. 2022)
  are brief excursions from a fitted state and do not undo memorization.
- G at memorization, G_mem, and where it lies: `inside`, `above` or `below` the band
  (Power et al. §1: held-out accuracy at chance when the training set is fit).
- leaving the band: the first evaluation from which G stays above the band at every later
  evaluation (for good: a single excursion above and back is noise, not progress).
- plateau, in decades (flatness, not time to half): with G_mem inside the band, log10 of the
  last evaluation not yet above the band for good over t_mem: how long the held-out metric
  was observed flat at chance after memorization. Undefined when G_mem is outside the band.
- delay (continuous): t_leave / t_mem, in decades; censored at the last step when G never
  leaves the band for good; negative when it left before memorization (Omnigrok's delay,
  read on the log-step axis of Power et al.'s Fig. 1).
- first crossing and sustained step for G = 0.5 and G = 0.9 (sustained: `sustain`
  evaluations in a row, as Power et al. §3.1 read "steps to 99% validation accuracy").
- transition width, in decades: log10 of the steps from 10% to 90% of the held-out gain after
  memorization (Nanda et al. 2023: the "cleanup" phase is short against the plateau).
- gap area, in decades: the area between M and G on a log10-step axis (Humayun et al. 2024).
- held-out loss bump: max held-out loss after memorization over its value at memorization
  (Power et al. Fig. 1, Nanda et al. Fig. 2: the validation loss rises before it falls).
- stability: fraction of evaluations after the sustained G = 0.9 step that stay at G >= 0.9.
- censored: not generalized, and either memorized within the last doubling of steps or G
  still moving by more than `settle_tolerance` per doubling at the end (least squares on
  log10 steps over the last doubling).

Verdicts: `diverged` (a non-finite loss), `unfit` (never memorized), `grokked` (G_mem inside
the band, flat for at least `min_plateau_decades`, then sustained G >= 0.9 that holds to the
end), `generalized` (sustained G >= 0.9 that holds, without that: no plateau, or G_mem above
or below the band), `ungrokked` (sustained G >= 0.9, then the last `sustain` evaluations all
below it; Varma et al. 2023 use the word for a network that loses generalization on a smaller
training set, here it is a property of one run's curve), `censored`, and `memorized` (held-out
metric settled below G = 0.9).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from grokbench.errors import require
from grokbench.profile.levels import PROFILE_VERSION, ProfileSettings

VERDICTS = ("grokked", "generalized", "memorized", "censored", "unfit", "ungrokked", "diverged")
BAND_STATES = ("inside", "above", "below")
HALF, GENERALIZED = 0.5, 0.9
FINAL_EVALUATIONS = 3  # the final level of a curve: the mean of its last three evaluations


@dataclass
class Profile:
    """The grokking profile of one run (see the module docstring for each definition)."""

    verdict: str
    chance: float
    reference: float
    band: float | None = None                  # half-width of the chance band, in G
    memorized_step: int | None = None
    progress_at_memorization: float | None = None
    memorized_in_band: str | None = None       # inside | above | below
    plateau_decades: float | None = None
    leave_step: int | None = None              # G above the band from here on
    delay_decades: float | None = None         # log10(leave / t_mem); with delay_censored: a lower bound
    delay_censored: bool | None = None
    half_step_first: int | None = None
    half_step: int | None = None
    generalized_step_first: int | None = None
    generalized_step: int | None = None
    transition_decades: float | None = None
    gap_area_decades: float | None = None
    val_loss_bump: float | None = None
    stability: float | None = None
    final_progress: float | None = None
    settle_rise: float | None = None
    censored: bool = False
    last_step: int | None = None
    version: int = PROFILE_VERSION

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def progress(values, chance: float, reference: float) -> np.ndarray:
    """(value - chance) / (reference - chance): 0 at chance, 1 at the reference."""
    return (np.asarray(values, dtype=float) - chance) / (reference - chance)


def band_halfwidth(s: ProfileSettings) -> float:
    """Half-width of the chance band in units of G: band_sigmas standard errors of the held-out
    metric at chance on heldout_size examples (`levels.ProfileSettings`, noise models)."""
    require(s.heldout_size is not None, "the chance band needs detector.heldout_size (the number of "
                                        "held-out examples the metric is computed on); allowed: an integer >= 1")
    n = int(s.heldout_size)
    if s.noise == "binomial":
        c = min(max(s.chance, 0.0), 1.0)
        error = math.sqrt(c * (1 - c) / n)
    else:
        error = math.sqrt(2.0 / n)
    return s.band_sigmas * error / abs(s.reference - s.chance)


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


def stays_above(values: np.ndarray, level: float) -> int | None:
    """First index from which every value is above `level` (None if the last one is not)."""
    above = values > level
    if not above.size or not above[-1]:
        return None
    below = np.flatnonzero(~above)
    return int(below[-1] + 1) if below.size else 0


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


def band_state(value: float, band: float) -> str:
    return "inside" if abs(value) <= band else "above" if value > band else "below"


def _rows(history: list[dict[str, Any]], s: ProfileSettings) -> list[dict[str, Any]]:
    return [r for r in history if r.get("step", 0) > 0 and s.train_metric in r and s.val_metric in r]


def analyze(history: list[dict[str, Any]], s: ProfileSettings) -> Profile:
    """The profile of rows `{"step": int, <metric>: float, ...}` in step order."""
    last_step = history[-1]["step"] if history else None
    base = {"chance": s.chance, "reference": s.reference, "last_step": last_step,
            "band": _rounded(band_halfwidth(s))}
    if any(not r.get("finite", True) for r in history):
        return Profile("diverged", **base)
    rows = _rows(history, s)
    if not rows:
        return Profile("unfit", **base)
    steps = np.array([r["step"] for r in rows], dtype=float)
    m = progress([r[s.train_metric] for r in rows], s.chance, s.train_reference)
    g = progress([r[s.val_metric] for r in rows], s.chance, s.reference)
    band = band_halfwidth(s)
    p = Profile("unfit", final_progress=_rounded(g[-FINAL_EVALUATIONS:].mean()),
                gap_area_decades=_rounded(gap_area(steps, m, g)), **base)
    mem = held_start(m, s.memorize_level, s.sustain)
    if mem is None:
        return p

    def step(i: int | None) -> int | None:
        return None if i is None else int(steps[i])

    t_mem = steps[mem]
    p.memorized_step, p.progress_at_memorization = step(mem), _rounded(g[mem])
    p.memorized_in_band = band_state(float(g[mem]), band)
    leave = stays_above(g, band)
    p.leave_step, p.delay_censored = step(leave), leave is None
    p.delay_decades = _rounded(math.log10((steps[-1] if leave is None else steps[leave]) / t_mem))
    if p.memorized_in_band == "inside":
        flat_until = steps[-1] if leave is None else steps[max(leave - 1, mem)]
        p.plateau_decades = _rounded(math.log10(max(flat_until, t_mem) / t_mem))
    p.half_step_first, p.generalized_step_first = step(first_crossing(g, HALF)), step(first_crossing(g, GENERALIZED))
    half, gen = first_run(g, HALF, s.sustain), first_run(g, GENERALIZED, s.sustain)
    p.half_step, p.generalized_step = step(half), step(gen)
    p.transition_decades = _rounded(transition(steps, g, mem))
    losses = [r.get(s.val_loss) for r in rows[mem:]]
    if all(isinstance(v, (int, float)) for v in losses) and losses[0] > 0:
        p.val_loss_bump = _rounded(max(losses) / losses[0])
    p.settle_rise = _rounded(settle_rise(steps, g))
    if gen is not None:
        after = g[gen:]
        p.stability = _rounded(float((after >= GENERALIZED).mean()))
        fell_back = len(after) >= 2 * s.sustain and bool((g[-s.sustain:] < GENERALIZED).all())
        flat = p.memorized_in_band == "inside" and p.plateau_decades >= s.min_plateau_decades
        p.verdict = "ungrokked" if fell_back else "grokked" if flat else "generalized"
        return p
    p.censored = bool(t_mem > steps[-1] / 2 or abs(p.settle_rise) > s.settle_tolerance)
    p.verdict = "censored" if p.censored else "memorized"
    return p


def _g(value: float) -> str:
    return f"{value:.2f}".replace("-0.00", "0.00")  # a hair below chance reads as chance


def describe(p: Profile) -> str:
    """One console line, e.g. `grokked: memorized at step 1,600 with held-out progress 0.00
    (inside the chance band +-0.01), flat 0.30 decades; generalized (G=0.9) at step 3,700,
    0.36 decades later, transition 0.12 decades`."""
    if p.memorized_step is None:
        return f"{p.verdict}: never memorized in {p.last_step or 0:,} steps"
    text = (f"{p.verdict}: memorized at step {p.memorized_step:,} with held-out progress "
            f"{_g(p.progress_at_memorization)} ({p.memorized_in_band} the chance band +-{p.band:.2f})")
    if p.plateau_decades is not None:
        text += f", flat {p.plateau_decades:.2f} decades"
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
