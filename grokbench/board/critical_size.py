"""The critical training fraction D_crit per weight decay, with a bootstrap interval (fixed
before any run of conf/suite/critical_*.yaml).

Varma et al. 2023 ("Explaining grokking through circuit efficiency"): below a critical dataset
size D_crit memorization is the more efficient circuit and a network settles there; above it,
generalization wins. Issue 27 reads D_crit off a sweep of the training fraction as the fraction
where the final held-out progress G crosses HALF (0.5, the profile's halfway level).

Estimate: the median final G of each cell (one training fraction at one weight decay), and
linear interpolation between the two neighbouring fractions where the medians cross 0.5 upward
for the last time: D_crit is the lowest fraction above which every cell's median is at least
0.5. Why this and not a logistic fit: near D_crit the seeds of a cell split (some grok, some
stay at chance) and semi-grokking adds partial levels, so G against the fraction need not be a
symmetric sigmoid; interpolation assumes no shape, a median is not moved by one odd seed, and
only the cells around the crossing decide it (the grids are fine there for that reason).
Interval: 95% percentile bootstrap (scipy.stats.bootstrap, seeded) resampling the runs of each
cell apart (seeds are independent within a cell; cells are not pooled), the estimate recomputed
on every resample. It shows how far the crossing moves with the seeds; it does not include the
error of interpolating between grid points. No interval with fewer than MIN_RUNS runs in a cell.
A crossing below the lowest swept fraction (every median >= 0.5) or above the highest (the
highest is below 0.5) is reported as a bound, `< f_min` or `> f_max`; a resample that lands there
is encoded just outside the grid, so an interval end outside the grid reads as that bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from grokbench.board.stats import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from grokbench.profile import HALF

MIN_RUNS = 3          # runs a cell needs for the bootstrap (scipy needs 2; 3 is what a cell has)
CONFIDENCE = 0.95


@dataclass(frozen=True)
class CriticalSize:
    """D_crit of one weight decay: the estimate (None when it lies outside the grid, then `bound`
    says which way), the interval ends (None without one; an end outside the grid is a bound)."""

    estimate: float | None
    bound: str | None                 # "below" | "above" the swept fractions, or None
    low: float | None
    high: float | None
    fractions: tuple[float, ...]
    runs: int


def crossing(fractions: np.ndarray, medians: np.ndarray) -> float:
    """Where the medians (sorted by fraction) cross HALF upward for the last time, interpolated
    linearly; one spacing below the grid when every median is at least HALF, one above when
    the highest is below it."""
    above = medians >= HALF
    span = float(fractions[-1] - fractions[0]) or 1.0
    if above.all():
        return float(fractions[0] - span)
    if not above[-1]:
        return float(fractions[-1] + span)
    i = int(np.flatnonzero(~above)[-1])
    f0, f1, m0, m1 = fractions[i], fractions[i + 1], medians[i], medians[i + 1]
    return float(f0 + (HALF - m0) * (f1 - f0) / (m1 - m0))


def critical_size(cells: dict[float, list[float]]) -> CriticalSize | None:
    """D_crit from {training fraction: the final G of each run}; None with fewer than 2 fractions."""
    fractions = np.array(sorted(f for f, finals in cells.items() if finals), dtype=float)
    if fractions.size < 2:
        return None
    samples = [np.asarray(cells[f], dtype=float) for f in fractions]

    def statistic(*resampled):
        return crossing(fractions, np.array([np.median(s) for s in resampled]))

    def read(value: float) -> tuple[float | None, str | None]:
        if value < fractions[0]:
            return None, "below"
        return (None, "above") if value > fractions[-1] else (value, None)

    estimate, bound = read(statistic(*samples))
    low = high = None
    if min(s.size for s in samples) >= MIN_RUNS:
        result = stats.bootstrap(samples, statistic, vectorized=False, paired=False, method="percentile",
                                 confidence_level=CONFIDENCE, n_resamples=BOOTSTRAP_RESAMPLES,
                                 rng=np.random.default_rng(BOOTSTRAP_SEED))
        low, high = (float(v) for v in result.confidence_interval)
    return CriticalSize(estimate, bound, low, high, tuple(float(f) for f in fractions),
                        sum(s.size for s in samples))


def fmt_fraction(value: float, fractions: tuple[float, ...]) -> str:
    """A fraction, or the bound it stands for outside the swept ones."""
    if value < fractions[0]:
        return f"< {fractions[0]:g}"
    return f"> {fractions[-1]:g}" if value > fractions[-1] else f"{value:.3f}"


def fmt_critical(c: CriticalSize) -> tuple[str, str]:
    """(D_crit, its interval) as the board prints them."""
    estimate = (f"{c.estimate:.3f}" if c.estimate is not None else
                f"< {c.fractions[0]:g}" if c.bound == "below" else f"> {c.fractions[-1]:g}")
    if c.low is None or c.high is None:
        return estimate, f"— (a cell has fewer than {MIN_RUNS} runs)"
    return estimate, f"[{fmt_fraction(c.low, c.fractions)}, {fmt_fraction(c.high, c.fractions)}]"
