"""Statistics across the seeds of one configuration, computed by scipy where they are not
plain counts.

- grok rate: k/n, grokked runs over all runs (failed and diverged ones included in n);
- steps (and wall-clock seconds) to G = 0.9 and to G = 0.5: the Kaplan-Meier median (scipy.stats.ecdf on scipy.stats.CensoredData),
  so a run that never got there (censored, memorized, unfit, diverged, ...) still counts as
  "not before its last step" instead of being dropped or counted as its budget; seconds are
  steps over the run's own steps per second, so a method's cost per step counts;
- medians of per-run quantities (G at memorization, plateau, ...) over the runs that have them,
  always shown with n and the range [min, max]: with a handful of seeds that is what is known,
  and a "95% CI" of 3 values would claim more;
- a bootstrap interval (scipy.stats.bootstrap, fixed seed) only for the method speedup, and
  only with at least MIN_RUNS_FOR_INTERVAL runs in each arm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from grokbench.board.frame import number

MIN_RUNS_FOR_INTERVAL = 5
BOOTSTRAP_RESAMPLES = 999
BOOTSTRAP_SEED = 0
GENERALIZED_VERDICTS = ("grokked", "generalized")
FELL_BACK = "ungrokked"  # sustained G = 0.9, then lost it: with `held`, not a run that reached it


def values_of(column) -> list[float]:
    """The finite numbers of a column (None, NaN and strings dropped)."""
    return [v for v in (number(x) for x in column) if v is not None and math.isfinite(v)]


def grok_rate(group: pd.DataFrame) -> tuple[int, int]:
    """(grokked runs, all runs)."""
    return int((group["profile.verdict"] == "grokked").sum()), len(group)


GENERALIZED = "profile.generalized_step"  # sustained G = 0.9
HALFWAY = "profile.half_step"             # sustained G = 0.5


def held(step, verdict) -> bool:
    """Sustained G = 0.9 and kept it to the end (not `ungrokked`): how the method grid and the
    tuning rule count a run as reaching G = 0.9."""
    return number(step) is not None and verdict != FELL_BACK


def count_reached(group: pd.DataFrame, event: str = GENERALIZED) -> int:
    """Runs that sustained the event's level (G = 0.9 by default)."""
    return len(values_of(group[event]))


def km_median(times, observed) -> float | None:
    """Kaplan-Meier median: the smallest time t with S(t) <= 0.5, S computed by scipy
    (`scipy.stats.ecdf` of `CensoredData`); None when S never drops to 0.5 (fewer than half of
    the runs reached the event by the last censoring time) or there are no times at all.
    `observed[i]` False means run i was right-censored at times[i]."""
    times, observed = np.asarray(times, dtype=float), np.asarray(observed, dtype=bool)
    if not times.size or not observed.any():
        return None
    data = stats.CensoredData(uncensored=times[observed], right=times[~observed])
    sf = stats.ecdf(data).sf
    below = np.flatnonzero(sf.probabilities <= 0.5 + 1e-12)  # products of fractions: allow rounding
    return float(sf.quantiles[below[0]]) if below.size else None


def time_to_generalize(group: pd.DataFrame, event: str = GENERALIZED,
                       seconds: bool = False, held: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(times, observed): the step of the event (sustained G = 0.9 by default), or the last step
    as a censoring time. Runs with neither (failed before their first evaluation) carry no time
    and are left out. `seconds`: wall-clock instead, the step over the run's steps per second
    (its fit time per step, evaluations included); runs without a speed are left out. `held`:
    a run that fell back below G = 0.9 by its end (`ungrokked`) did not reach it: censored at
    its last step."""
    times, observed = [], []
    rates = group["steps_per_second"] if seconds else [1.0] * len(group)
    lost = [v == FELL_BACK for v in group["profile.verdict"]] if held else [False] * len(group)
    for reached, last, rate, fell_back in zip(group[event], group["profile.last_step"], rates, lost):
        step, last, rate = number(reached), number(last), number(rate)
        if not rate or rate <= 0:
            continue
        if step is not None and not fell_back:
            times.append(step / rate), observed.append(True)
        elif last is not None and last > 0:
            times.append(last / rate), observed.append(False)
    return np.array(times, dtype=float), np.array(observed, dtype=bool)


def km_median_time(group: pd.DataFrame, event: str = GENERALIZED, seconds: bool = False) -> float | None:
    """Kaplan-Meier median of the steps (or seconds) to the event over a group of runs."""
    return km_median(*time_to_generalize(group, event, seconds))


def km_median_or_beyond(group: pd.DataFrame, event: str = GENERALIZED, seconds: bool = False,
                        held: bool = False) -> tuple[float | None, float | None]:
    """(median, beyond) from one Kaplan-Meier estimate: the median steps (or seconds) to the
    event, and, where it is undefined (S stays above 0.5 up to the last time seen), that last
    time: the median lies beyond it, so a speedup against it is a bound, not a value. `beyond`
    is None where the median is defined or there are no times."""
    times, observed = time_to_generalize(group, event, seconds, held)
    median = km_median(times, observed)
    return median, (float(times.max()) if median is None and times.size else None)


@dataclass(frozen=True)
class Spread:
    """Median, range and count of a per-run quantity."""

    median: float
    low: float
    high: float
    n: int


def spread(column) -> Spread | None:
    values = values_of(column)
    if not values:
        return None
    return Spread(float(np.median(values)), min(values), max(values), len(values))


def majority(count: int, total: int) -> bool:
    return total > 0 and count * 2 > total


def _encoded(group: pd.DataFrame, seconds: bool, held: bool) -> np.ndarray:
    """Times to G = 0.9 as one array for resampling: censored times negative."""
    times, observed = time_to_generalize(group, seconds=seconds, held=held)
    return np.where(observed, times, -times)


def _median_or_bound(sample: np.ndarray) -> float:
    """KM median of an encoded resample; where it is undefined (fewer than half reached G = 0.9)
    the largest time, a lower bound of it, so every resample has a finite ratio."""
    value = km_median(np.abs(sample), sample > 0)
    return float(np.abs(sample).max()) if value is None else value


def speedup(baseline_time: float | None, method_time: float | None) -> float | None:
    """The baseline's KM median steps (or wall-clock seconds) to G = 0.9 over the method's
    (> 1: the method is faster); None where either is undefined."""
    return baseline_time / method_time if baseline_time and method_time else None


def speedup_interval(baseline: pd.DataFrame, method: pd.DataFrame, seconds: bool = False,
                     held: bool = False) -> tuple[float, float] | None:
    """95% percentile bootstrap interval of the speedup (scipy.stats.bootstrap, seeded), resampling
    the runs of both arms; None with fewer than MIN_RUNS_FOR_INTERVAL runs in an arm or without
    a speedup (see `_median_or_bound` for resamples whose median is undefined)."""
    b, m = _encoded(baseline, seconds, held), _encoded(method, seconds, held)
    if min(b.size, m.size) < MIN_RUNS_FOR_INTERVAL or \
            speedup(km_median(np.abs(b), b > 0), km_median(np.abs(m), m > 0)) is None:
        return None
    def ratio(b_sample, m_sample):
        return _median_or_bound(b_sample) / _median_or_bound(m_sample)

    result = stats.bootstrap((b, m), ratio, vectorized=False, paired=False, method="percentile",
                             n_resamples=BOOTSTRAP_RESAMPLES, rng=np.random.default_rng(BOOTSTRAP_SEED))
    low, high = result.confidence_interval
    return float(low), float(high)


CONFIRMATION_SEEDS = range(5, 10)  # never looked at before the run; presets were chosen on 0-4 or >= 100
CHOSEN_ON_SEEDS = range(5)


def grok_rate_on(group: pd.DataFrame, seeds: range) -> tuple[int, int]:
    """(grokked, runs) over the runs whose seed lies in `seeds`."""
    return grok_rate(group[[s in seeds for s in group["seed"]]])


def km_median_delay(group: pd.DataFrame) -> tuple[float | None, float | None]:
    """(median, beyond) of the delay in decades, log10(t_leave / t_mem), over the memorized runs:
    Kaplan-Meier on the ratio, a run whose G never left the chance band censored at its last
    step; `beyond` as in `km_median_or_beyond`."""
    times, observed = [], []
    for decades, censored in zip(group["profile.delay_decades"], group["profile.delay_censored"]):
        value = number(decades)
        if value is not None:
            times.append(10 ** value), observed.append(not bool(censored))
    times, observed = np.array(times, dtype=float), np.array(observed, dtype=bool)
    median = km_median(times, observed)
    if median is not None:
        return math.log10(median), None
    return None, (math.log10(times.max()) if times.size else None)
