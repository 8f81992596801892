"""The profile's settings: what it reads (run facts) and its levels (declared choices).

Every level is fixed here, with its reason, before any run it is applied to (profile v3,
written before the confirmation-seed suite). None sits on a spacing of the evaluation grid:
evaluations are 20 per decade (0.05 decades apart) or denser, and the thinned schedule the
board checks is 10 per decade (0.1 apart).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from itertools import product

from grokbench.errors import require

PROFILE_VERSION = 3
NOISE_MODELS = ("binomial", "r2")

# Run facts: read off the task and the run, not chosen. The board takes them from the record.
FACTS = ("train_metric", "val_metric", "val_loss", "chance", "reference", "train_reference",
         "heldout_size", "noise")


@dataclass(frozen=True)
class ProfileSettings:
    """Facts of the run and the declared levels.

    Facts: the metrics read, chance (1/classes, or R^2 = 0), the reference (1.0 for exact
    tasks, else the paired control's converged level, set by the board), the size n of the
    held-out set the metric is computed on, and the noise model of that metric at chance:
    `binomial` (accuracy: a predictor whose true accuracy is chance scores c +- sqrt(c(1-c)/n)
    on n examples) or `r2` (a predictor with true R^2 = 0 and Gaussian residuals: R^2 = 1 -
    MSE/Var with MSE a mean of n squared residuals, standard error ~ sqrt(2/n)).

    Levels:
    band_sigmas 3: the chance band is chance +- 3 standard errors of the metric at chance.
      Two-sided: G below it at memorization is "below chance", not "low progress" (an
      alpha-scaled regression output at R^2 = -13 is far from chance, not near it). Three
      standard errors: a predictor at chance lands outside with probability ~0.003 per
      evaluation (normal approximation), so a flat plateau of ~30 evaluations shows an
      excursion in under one run in ten, and a single excursion does not end it (leaving the
      band counts only for good).
    memorize_level 0.99: Power et al. 2022 fit the training set to ~100%; 0.99 of the
      chance-to-perfect range leaves room for one mislabelled example in a hundred.
    min_plateau_decades 0.225: the held-out metric stays inside the chance band after
      memorization for at least 10^0.225 = 1.68x the steps memorization took. Grokking in
      Power et al. and Omnigrok is generalization "long after" fitting (decades on their
      budgets); a CPU preset has at most ~0.7 decades after memorization at ~2,000 of
      10,000 steps, and the threshold is a third of that room. It lies halfway between
      lines of the 20-per-decade grid (multiples of 0.05) and of the thinned 10-per-decade
      grid, so no plateau measured between two grid points sits on it.
    sustain 3: consecutive evaluations a held-out level must hold (a one-evaluation excursion
      is not a level); the train level tolerates spikes instead (Adam's slingshot, Thilak et
      al. 2022).
    settle_tolerance 0.03: G may drift at most 0.03 per doubling of steps at the end of a run
      for its level to count as settled: at that rate it would gain at most 0.1 of the
      chance-to-reference range over a further decade of steps (3.3 doublings). A faster
      drift is "censored": the budget ended first.
    """

    train_metric: str = "train_eval/acc"
    val_metric: str = "val/acc"
    val_loss: str = "val/loss"
    chance: float = 0.0
    reference: float = 1.0
    train_reference: float = 1.0
    heldout_size: int | None = None
    noise: str = "binomial"
    band_sigmas: float = 3.0
    memorize_level: float = 0.99
    min_plateau_decades: float = 0.225
    sustain: int = 3
    settle_tolerance: float = 0.03

    def __post_init__(self):
        require(int(self.sustain) >= 1, f"detector.sustain={self.sustain} is invalid; allowed: an integer >= 1")
        require(self.reference != self.chance,
                f"detector.reference={self.reference} equals the chance level; allowed: any other value")
        require(0 < self.memorize_level <= 1,
                f"detector.memorize_level={self.memorize_level} is invalid; allowed: a number in (0, 1]")
        require(self.noise in NOISE_MODELS, f"detector.noise={self.noise!r} is unknown; allowed: "
                                            f"{', '.join(NOISE_MODELS)}")
        require(self.heldout_size is None or int(self.heldout_size) >= 1,
                f"detector.heldout_size={self.heldout_size} is invalid; allowed: an integer >= 1")
        for name in ("band_sigmas", "min_plateau_decades", "settle_tolerance"):
            value = getattr(self, name)
            require(value >= 0, f"detector.{name}={value} is invalid; allowed: a number >= 0")

    @classmethod
    def from_facts(cls, values: dict, reference: float | None = None) -> ProfileSettings:
        """Settings from a record's facts and given levels (unknown keys ignored), the declared
        levels for the rest, and `reference` where the board sets one."""
        names = set(cls.keys())
        known = {k: v for k, v in values.items() if k in names}
        return cls(**(known if reference is None else {**known, "reference": reference}))

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def levels(cls) -> tuple[str, ...]:
        return tuple(name for name in cls.keys() if name not in FACTS)  # noqa: SIM118 - a classmethod, not a dict


# The declared neighbourhood the board re-scores every recipe over (the sensitivity table): the
# band halved and doubled, the plateau one grid spacing (0.05 decades) either way, the train
# level of Power et al.'s "fit" read three ways, and the evaluation schedule thinned to every
# other point (both phases). A recipe is robust when its majority verdict holds at every point.
# R^2 of a finite regression network never reaches 1.0 on its training set, so for the `r2`
# noise model the top of the train level is 0.995, half way from 0.99 to 1.
NEIGHBOURHOOD = {
    "band_sigmas": (1.5, 3.0, 6.0),
    "min_plateau_decades": (0.175, 0.225, 0.275),
    "memorize_level": (0.95, 0.99, 1.0),
}
TOP_TRAIN_LEVEL = {"binomial": 1.0, "r2": 0.995}
SCHEDULES = ("all", "even", "odd")  # every evaluation; every other one from the first; from the second


def neighbourhood(settings: ProfileSettings) -> list[tuple[dict, ProfileSettings]]:
    """(the changed levels, the settings) for every point of the declared neighbourhood."""
    names = list(NEIGHBOURHOOD)
    values_of = {**NEIGHBOURHOOD, "memorize_level": (*NEIGHBOURHOOD["memorize_level"][:-1],
                                                     TOP_TRAIN_LEVEL[settings.noise])}
    points = []
    for values in product(*(values_of[n] for n in names)):
        change = dict(zip(names, values))
        points.append((change, replace(settings, **change)))
    return points
