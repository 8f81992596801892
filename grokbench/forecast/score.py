"""Leave-one-out scoring of the predictors: each recipe (or domain) in turn is held out, the
predictors are calibrated on the scored runs of all the others, and predict the held-out
recipe's scored runs from their histories up to the cut (package docstring: outcomes, errors,
lead time)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from grokbench.forecast.history import SCORED, RunHistory
from grokbench.forecast.predictors import PREDICTORS, Prediction, Predictor

HOLD_OUT: dict[str, Callable[[RunHistory], str]] = {
    "recipe": lambda h: h.recipe,  # the unit: a recipe's control of the same domain stays in training
    "domain": lambda h: h.domain,  # stricter: nothing of the held-out domain is seen
}
HIT, FALSE_ALARM, MISS, REJECTION = "hit", "false alarm", "miss", "correct rejection"


@dataclass(frozen=True)
class Scored:
    run: RunHistory
    predictor: str
    prediction: Prediction

    @property
    def outcome(self) -> str:
        said = self.prediction.reaches(self.run.budget)
        if self.run.reached:
            return HIT if said else MISS
        return FALSE_ALARM if said else REJECTION

    @property
    def step_error(self) -> float | None:
        """|predicted - actual| / actual step, on hits."""
        if self.outcome != HIT:
            return None
        return abs(self.prediction.step - self.run.generalized) / self.run.generalized

    @property
    def delay_error(self) -> float | None:
        """The same on the delay after memorization (the quantity of Khanh et al.'s MAPE)."""
        delay = self.run.generalized - self.run.memorized if self.outcome == HIT else 0
        if delay <= 0:
            return None
        return abs(self.prediction.step - self.run.generalized) / delay

    @property
    def lead(self) -> float | None:
        """Decades between the forecast (the cut) and the jump, on hits."""
        return math.log10(self.run.generalized / self.run.cut) if self.outcome == HIT else None


def score_leave_out(hists: list[RunHistory], hold_out: str = "recipe",
                    predictors: tuple[Predictor, ...] = PREDICTORS) -> list[Scored]:
    key = HOLD_OUT[hold_out]
    scored = [h for h in hists if h.state == SCORED]
    out = []
    for group in dict.fromkeys(key(h) for h in scored):  # board order (the frame's)
        training = [h for h in scored if key(h) != group]
        held = [h for h in scored if key(h) == group]
        for p in predictors:
            fitted = p.fit(training)
            out += [Scored(h, p.name, p.predict(fitted, h)) for h in held]
    return out


@dataclass(frozen=True)
class Summary:
    runs: int
    reached: int
    hits: int
    false_alarms: int
    misses: int
    abstained: int
    mape_step: float | None   # mean absolute percentage error on hits, as a fraction
    mape_delay: float | None
    lead: float | None        # median decades of lead on hits


def _mean(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None]
    return float(np.mean(finite)) if finite else None


def summarize(items: list[Scored]) -> Summary:
    outcomes = [s.outcome for s in items]
    leads = [s.lead for s in items if s.lead is not None]
    return Summary(len(items), sum(s.run.reached for s in items), outcomes.count(HIT), outcomes.count(FALSE_ALARM),
                   outcomes.count(MISS), sum(s.prediction.abstained is not None for s in items),
                   _mean([s.step_error for s in items]), _mean([s.delay_error for s in items]),
                   float(np.median(leads)) if leads else None)
