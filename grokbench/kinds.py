"""What each kind of task logs, declared once: its metrics, which way each is better, and which
one is the score (the metric the profile reads and the progress bar shows).

Nothing downstream decides these from a metric's name: the module builds its metrics from here,
the run record carries the declaration of every logged key (`record["metrics"]`), and "best",
the progress bar and the curve figure read that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from torchmetrics import MeanSquaredError, Metric, R2Score
from torchmetrics.classification import MulticlassAccuracy

DIRECTIONS = ("up", "down", "none")  # which way is better (for a measure: which way is progress)
ROLES = ("score", "loss", "metric", "weights", "measure")
KINDS = ("classification", "regression")
DEFAULT_EVAL_SPLITS = ("train_eval", "val")  # a task's `eval_splits` unless it declares more
WEIGHT_NORM_KEY = "weights/l2"  # the module's one number about the weights (Omnigrok's variable)


@dataclass(frozen=True)
class MetricDeclaration:
    """One logged key: where it comes from and how to read it."""

    direction: str            # up | down | none ("best" is undefined for none)
    role: str                 # score (the kind's score) | loss | metric (another metric) | weights | measure
    split: str | None = None  # the evaluation set (train_eval, val, ...); None for weights and measures
    metric: str | None = None  # the metric's own name (acc, loss, ...), or the measure's name
    shown: bool = False       # on the progress bar, and first in the plain progress line

    def as_record(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class KindMetric:
    name: str
    direction: str
    score: bool                            # the kind's score: the profile's default metric
    build: Callable[[int], Metric]         # num_outputs -> a torchmetrics metric


# The evaluation loss comes first for every kind: it is what the module minimizes.
KIND_METRICS: dict[str, tuple[KindMetric, ...]] = {
    "classification": (KindMetric("acc", "up", True, lambda n: MulticlassAccuracy(n, average="micro", validate_args=False)),),
    "regression": (KindMetric("mse", "down", False, lambda n: MeanSquaredError()),
                   KindMetric("r2", "up", True, lambda n: R2Score())),
}
LOSS = "loss"
# Each kind's score at chance, as the profile's chance band models it (grokbench/profile/levels.py):
# accuracy of a guess is binomial, R^2 of the mean predictor has its own spread.
NOISE_OF_KIND = {"classification": "binomial", "regression": "r2"}


def kind_metrics(kind: str) -> tuple[KindMetric, ...]:
    if kind not in KIND_METRICS:
        raise ValueError(f"task kind {kind!r} is unknown; allowed: {', '.join(KIND_METRICS)}")
    return KIND_METRICS[kind]


def declare_split(kind: str, split: str) -> dict[str, MetricDeclaration]:
    """The keys the module logs for one evaluation set, `<split>/loss` and `<split>/<metric>`."""
    found = {f"{split}/{LOSS}": MetricDeclaration("down", "loss", split, LOSS)}
    for m in kind_metrics(kind):
        role = "score" if m.score else "metric"
        found[f"{split}/{m.name}"] = MetricDeclaration(m.direction, role, split, m.name, m.score)
    return found


def declare_run(kind: str, splits: Iterable[str]) -> dict[str, MetricDeclaration]:
    """Every key GrokModule logs for a task of this kind with these evaluation sets."""
    found = {WEIGHT_NORM_KEY: MetricDeclaration("none", "weights", None, "l2")}
    for split in splits:
        found.update(declare_split(kind, split))
    return found
