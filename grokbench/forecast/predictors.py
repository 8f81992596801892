"""Predictors of the step of sustained G = 0.9 from a run's history up to its cut.

Each is calibrated on training runs (other recipes' scored runs: the same situation, memorized
and not yet at G = 0.9 at their cut; calibration may read their whole curve) and then predicts
from a held-out run's rows up to its cut only. A prediction is a step (reach within the budget
when <= budget) or None: never, or no prediction (abstained, with the reason).

- naive: the median over the training runs of t_0.9 / t_mem (a run that never reached counts as
  infinite), times the run's t_mem. The issue's baseline: "the median delay of the training
  recipes".
- norm_law: the weight-norm first-passage law of Khanh et al. 2026 (arXiv:2605.18845),
  T_grok - T_mem = ln(V_mem / V*) / (2 kappa eta lambda), V = squared parameter norm (the key
  declared with role `weights`), eta lambda the decoupled weight decay per step. Calibrated on
  the training runs: kappa = median of ln(V_mem / V_0.9) / (2 eta lambda (t_0.9 - t_mem)) over
  the reached runs whose norm fell, and V* as a ratio rho = median V_0.9 / V_mem (the paper finds
  V*/V_mem the stable invariant within an architecture; an absolute V* has no meaning across
  architectures). Deviation: the paper calibrates on one hyperparameter cell of one architecture;
  here the training runs are every other recipe. No decay (eta lambda = 0) or rho >= 1: never.
- measures: a first passage on every declared progress measure (role `measure`, direction up or
  down). Progress of a measure since memorization d(t) = s ln(m(t) / m(t_mem)), s = +1 (up) or
  -1 (down). Calibrated target per key: D* = median of d(t_0.9) over the reached training runs
  (at least MIN_CALIBRATION of them; keys with D* <= 0 are no signal and skipped). The run's own
  rate from memorization to its cut extrapolates linearly in steps, as the law's contraction does:
  t = t_mem + (D* / d(t_cut)) (t_cut - t_mem), at least t_cut; d(t_cut) <= 0 predicts never. The
  prediction is the median over the usable keys (never = infinite); no usable key: abstain.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from grokbench.forecast.history import RunHistory
from grokbench.record import curve_series, lower_median, value_at

MIN_CALIBRATION = 3  # a median of fewer training runs is not a calibration
WEIGHTS_ROLE, MEASURE_ROLE = "weights", "measure"
SIGN = {"up": 1.0, "down": -1.0}


@dataclass(frozen=True)
class Prediction:
    step: float | None      # None: never (or abstained)
    abstained: str | None = None  # why no prediction was made

    def reaches(self, budget: float | None) -> bool:
        return self.step is not None and (budget is None or self.step <= budget)


def logged_at(rows: list[dict], key: str, step: float) -> float | None:
    """The key's last finite value at or before `step` in a run's history rows."""
    return value_at(*curve_series(rows, key, log_axis=False), step)


def keys_with_role(run: RunHistory, role: str) -> list[str]:
    return sorted(k for k, d in run.metrics.items() if isinstance(d, dict) and d.get("role") == role)


def reached(training: list[RunHistory]) -> list[RunHistory]:
    return [t for t in training if t.reached]


# naive ------------------------------------------------------------------------------------------

def fit_naive(training: list[RunHistory]) -> float | None:
    ratios = [t.generalized / t.memorized if t.reached else math.inf for t in training]
    return lower_median(ratios) if len(ratios) >= MIN_CALIBRATION else None


def predict_naive(ratio: float | None, run: RunHistory) -> Prediction:
    if ratio is None:
        return Prediction(None, f"fewer than {MIN_CALIBRATION} training runs")
    return Prediction(None if math.isinf(ratio) else max(ratio * run.memorized, run.cut))


# weight-norm first-passage law ---------------------------------------------------------------

@dataclass(frozen=True)
class NormLaw:
    kappa: float
    rho: float  # V* / V_mem


def squared_norm(run: RunHistory, rows: list[dict], step: float) -> float | None:
    keys = keys_with_role(run, WEIGHTS_ROLE)
    value = logged_at(rows, keys[0], step) if len(keys) == 1 else None
    return None if value is None else value * value


def fit_norm_law(training: list[RunHistory]) -> NormLaw | None:
    kappas, rhos = [], []
    for t in reached(training):
        rows = t.rows + t.after
        v_mem, v_g = squared_norm(t, rows, t.memorized), squared_norm(t, rows, t.generalized)
        if not t.decay_rate or not v_mem or v_g is None:
            continue
        rhos.append(v_g / v_mem)
        if v_g < v_mem and t.generalized > t.memorized:
            kappas.append(math.log(v_mem / v_g) / (2 * t.decay_rate * (t.generalized - t.memorized)))
    if len(kappas) < MIN_CALIBRATION:
        return None
    return NormLaw(float(np.median(kappas)), float(np.median(rhos)))


def predict_norm_law(law: NormLaw | None, run: RunHistory) -> Prediction:
    if law is None:
        return Prediction(None, f"fewer than {MIN_CALIBRATION} training runs with decay whose norm fell")
    if not run.decay_rate or law.rho >= 1:
        return Prediction(None)  # no contraction, or a target norm above the memorizing one
    delay = math.log(1 / law.rho) / (2 * law.kappa * run.decay_rate)
    return Prediction(max(run.memorized + delay, run.cut))


# measures first passage ----------------------------------------------------------------------

def measure_keys(run: RunHistory) -> dict[str, float]:
    """Declared progress measures of the run -> +1 (up) / -1 (down)."""
    return {k: SIGN[d.get("direction")] for k, d in run.metrics.items()
            if isinstance(d, dict) and d.get("role") == MEASURE_ROLE and d.get("direction") in SIGN}


def measure_progress(rows: list[dict], key: str, sign: float, start: float, step: float) -> float | None:
    """s ln(m(step) / m(start)); None where the measure is not positive or not logged."""
    m0, m1 = logged_at(rows, key, start), logged_at(rows, key, step)
    if m0 is None or m1 is None or m0 <= 0 or m1 <= 0:
        return None
    return sign * math.log(m1 / m0)


def fit_measures(training: list[RunHistory]) -> dict[str, float]:
    """key -> D*, for keys calibrated on at least MIN_CALIBRATION reached runs with D* > 0."""
    found: dict[str, list[float]] = {}
    for t in reached(training):
        rows = t.rows + t.after
        for key, sign in measure_keys(t).items():
            d = measure_progress(rows, key, sign, t.memorized, t.generalized)
            if d is not None:
                found.setdefault(key, []).append(d)
    targets = {k: float(np.median(v)) for k, v in found.items() if len(v) >= MIN_CALIBRATION}
    return {k: v for k, v in targets.items() if v > 0}


def predict_measures(targets: dict[str, float], run: RunHistory) -> Prediction:
    steps = []
    for key, sign in measure_keys(run).items():
        if key not in targets:
            continue
        d = measure_progress(run.rows, key, sign, run.memorized, run.cut)
        if d is None:
            continue
        steps.append(math.inf if d <= 0 else max(run.memorized + targets[key] / d * (run.cut - run.memorized), run.cut))
    if not steps:
        return Prediction(None, "no declared measure of this run was calibrated on the training runs")
    step = lower_median(steps)
    return Prediction(None if math.isinf(step) else step)


@dataclass(frozen=True)
class Predictor:
    name: str
    label: str
    fit: Callable[[list[RunHistory]], object]
    predict: Callable[[object, RunHistory], Prediction]


PREDICTORS = (
    Predictor("naive", "median delay of the training recipes", fit_naive, predict_naive),
    Predictor("norm_law", "weight-norm first-passage law (Khanh et al. 2026)", fit_norm_law, predict_norm_law),
    Predictor("measures", "first passage of the declared progress measures", fit_measures, predict_measures),
)
