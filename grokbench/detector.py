"""GrokkingDetector: finds the memorization and generalization steps of a run.

The analysis is a pure function of the evaluation history (`analyze`), so it can be tested
on scripted sequences and recomputed from a run record; the callback only collects the
history, keeps it in checkpoints, and can stop a run once generalization has lasted.

Definitions (k = `sustain`):
- memorization step: first evaluation from which the train metric passes its threshold
  for k consecutive evaluations;
- generalization step: the same for the held-out metric;
- verdict: `diverged` (a non-finite loss), `unfit` (never memorized), `memorized` (never
  generalized), `ungrokked` (generalized, but the last k evaluations fail again),
  `grokked` (generalization step >= min_delay_ratio x memorization step), else `generalized`.
Thresholds are absolute metric values, or with `threshold_kind="relative"` a fraction q of
the way from a reference value to the best value seen: the first evaluation for the train
metric, the held-out value at memorization for the held-out metric.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from lightning.pytorch.callbacks import Callback

from grokbench.errors import require

VERDICTS = ("grokked", "generalized", "memorized", "unfit", "ungrokked", "diverged")


@dataclass
class DetectorSettings:
    train_metric: str = "train_eval/acc"
    val_metric: str = "val/acc"
    mode: str = "max"
    memorize_threshold: float = 0.99
    generalize_threshold: float = 0.99
    threshold_kind: str = "absolute"
    sustain: int = 3
    min_delay_ratio: float = 2.0
    min_gain: float = 0.0  # relative val threshold: least improvement that counts
    stop_after_steps: int | None = None

    def __post_init__(self):
        require(self.mode in ("max", "min"), f"detector.mode={self.mode!r} is invalid; allowed: max, min")
        require(self.threshold_kind in ("absolute", "relative"),
                f"detector.threshold_kind={self.threshold_kind!r} is invalid; allowed: absolute, relative")
        require(int(self.sustain) >= 1, f"detector.sustain={self.sustain} is invalid; allowed: an integer >= 1")
        if self.threshold_kind == "relative":
            for name in ("memorize_threshold", "generalize_threshold"):
                q = getattr(self, name)
                require(0 < q <= 1, f"detector.{name}={q} is invalid for relative thresholds; allowed: (0, 1]")


@dataclass
class DetectionResult:
    verdict: str
    memorized_step: int | None
    generalized_step: int | None
    delay_steps: int | None
    delay_ratio: float | None
    memorize_value: float | None  # the threshold values actually used
    generalize_value: float | None
    last_step: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _better(mode: str):
    return max if mode == "max" else min


def _passes(value: float, threshold: float, mode: str) -> bool:
    return value >= threshold if mode == "max" else value <= threshold


def first_sustained(values: list[float], threshold: float, mode: str, sustain: int) -> int | None:
    """Index where the first run of `sustain` consecutive passing values starts."""
    run = 0
    for i, value in enumerate(values):
        run = run + 1 if _passes(value, threshold, mode) else 0
        if run == sustain:
            return i - sustain + 1
    return None


def _relative(reference: float, best: float, q: float) -> float:
    return reference + q * (best - reference)


def analyze(history: list[dict[str, Any]], settings: DetectorSettings) -> DetectionResult:
    """Detector verdict from rows `{"step": int, <metric>: float, ...}` in step order."""
    s = settings
    rows = [r for r in history if s.train_metric in r and s.val_metric in r]
    last_step = history[-1]["step"] if history else None
    empty = DetectionResult("unfit", None, None, None, None, None, None, last_step)
    if any(not r.get("finite", True) for r in history):
        return DetectionResult(**{**empty.as_dict(), "verdict": "diverged"})
    if not rows:
        return empty
    steps = [r["step"] for r in rows]
    train = [float(r[s.train_metric]) for r in rows]
    val = [float(r[s.val_metric]) for r in rows]
    best = _better(s.mode)

    mem_value = s.memorize_threshold
    if s.threshold_kind == "relative":
        mem_value = _relative(train[0], best(train), s.memorize_threshold)
    mem = first_sustained(train, mem_value, s.mode, s.sustain)
    if mem is None:
        return DetectionResult("unfit", None, None, None, None, mem_value, None, last_step)

    gen_value = s.generalize_threshold
    gen = None
    if s.threshold_kind == "relative":
        gain = abs(best(val) - val[mem])
        gen_value = _relative(val[mem], best(val), s.generalize_threshold)
        if gain > s.min_gain:  # no real improvement after memorization is no generalization
            gen = first_sustained(val, gen_value, s.mode, s.sustain)
    else:
        gen = first_sustained(val, gen_value, s.mode, s.sustain)
    mem_step = steps[mem]
    if gen is None:
        return DetectionResult("memorized", mem_step, None, None, None, mem_value, gen_value, last_step)

    gen_step = steps[gen]
    ratio = gen_step / mem_step if mem_step > 0 else math.inf
    tail = val[-s.sustain:]
    lost = len(val) - gen >= 2 * s.sustain and not any(_passes(v, gen_value, s.mode) for v in tail)
    if lost:
        verdict = "ungrokked"
    elif ratio >= s.min_delay_ratio:
        verdict = "grokked"
    else:
        verdict = "generalized"
    return DetectionResult(verdict, mem_step, gen_step, gen_step - mem_step, ratio,
                           mem_value, gen_value, last_step)


class GrokkingDetector(Callback):
    """Collects every evaluation's scalar metrics and reports `analyze` on them."""

    def __init__(self, settings: DetectorSettings | None = None, **kwargs):
        self.settings = settings or DetectorSettings(**kwargs)
        self.history: list[dict[str, Any]] = []

    @property
    def state_key(self) -> str:
        return "GrokkingDetector"

    def result(self) -> DetectionResult:
        return analyze(self.history, self.settings)

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        row: dict[str, Any] = {"step": int(trainer.global_step)}
        for name, value in trainer.callback_metrics.items():
            if getattr(value, "numel", lambda: 1)() == 1:
                row[name] = float(value)
        losses = [v for k, v in row.items() if k.endswith("/loss")]
        row["finite"] = all(math.isfinite(v) for v in losses)
        if self.history and self.history[-1]["step"] == row["step"]:
            self.history[-1] = row  # a resumed run re-evaluates the step it stopped at
        else:
            self.history.append(row)
        if not row["finite"]:
            trainer.should_stop = True
        elif self.settings.stop_after_steps is not None:
            result = self.result()
            if (result.generalized_step is not None and result.verdict != "ungrokked"
                    and row["step"] - result.generalized_step >= self.settings.stop_after_steps):
                trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        return {"history": [dict(r) for r in self.history]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = [dict(r) for r in state_dict["history"]]
