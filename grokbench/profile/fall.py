"""The fall of a continued run: how much of its start's generalization a run started from
another run's weights (`init_from`, grokbench/continuation.py) keeps on its own training set.

Ungrokking (Varma et al. 2023, "Explaining grokking through circuit efficiency"): a network
that has grokked, trained further with weight decay on a training set smaller than the critical
size D_crit, loses its held-out accuracy, because there memorization is the more efficient
circuit. The profile's `ungrokked` verdict is a different thing: one run's curve reaching
G = 0.9 and falling back under the same data. A continued run starts generalized, so its
grokking profile would read "memorized and generalized at the first evaluation"; it gets this
analysis instead, and its record's verdict is one of FALL_VERDICTS. Every level below was
fixed before any continued run:

- start: the held-out metric v0 at the run's step 0, evaluated by the run itself before its
  first step (the parent's weights on the parent's held-out set: the parent's own value).
- the run's own reference is its start: kept = (v - chance) / (v0 - chance), 1 at the start, 0
  at chance. Reason: the question is how much of the start's generalization survives, and the
  start is measured on the same held-out set, so no control level is needed (the grokking
  profile's G needs one for inexact tasks) and the verdict is final at run time.
- noise: the chance band's half-width in metric units, band_sigmas (3) standard errors of the
  held-out metric at chance on its n examples (levels.ProfileSettings): the profile's one
  declared resolution of the metric. A fall (v0 - end) within it is not told from noise.
- end: the final level, the mean of the last FINAL_EVALUATIONS (3) evaluations, as the profile's
  final_progress.
- fell: the last `sustain` (3) evaluations all keep less than GENERALIZED (0.9) of the start,
  the profile's level for "generalized" read against the start, as `ungrokked` reads it
  against the reference, and the fall is beyond the noise band.
- fell_to_chance: fell, and the end lies inside (or below) the chance band: all of the start's
  generalization is gone (Varma et al.: a network
  "regresses from perfect to low test accuracy").
- not_generalized_at_start: v0 inside the chance band; there is nothing to lose.
- fell_step: the first evaluation from which `kept` stays below 0.9 for good.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from grokbench.errors import require
from grokbench.profile.analyze import FINAL_EVALUATIONS, GENERALIZED, band_halfwidth
from grokbench.profile.levels import ProfileSettings

FALL_VERDICTS = ("held", "fell", "fell_to_chance", "not_generalized_at_start", "diverged")
FELL = ("fell", "fell_to_chance")  # the verdicts that count as a fall


@dataclass
class Fall:
    """One continued run's fall (see the module docstring for each definition)."""

    verdict: str
    val_metric: str
    chance: float
    band: float                       # noise band half-width, in metric units
    start: float | None = None        # v0: the held-out metric at step 0
    end: float | None = None          # mean of the last three evaluations
    fall: float | None = None         # v0 - end, in metric units
    kept: float | None = None         # (end - chance) / (v0 - chance)
    fell_step: int | None = None
    last_step: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def analyze_fall(history: list[dict[str, Any]], s: ProfileSettings) -> Fall:
    """The fall of rows `{"step": int, <metric>: float, ...}` in step order, the first at step 0."""
    band = band_halfwidth(s) * abs(s.reference - s.chance)  # in metric units: no reference enters
    rows = [r for r in history if s.val_metric in r]
    base = {"val_metric": s.val_metric, "chance": s.chance, "band": _rounded(band),
            "last_step": history[-1]["step"] if history else None}
    if any(not r.get("finite", True) for r in history):
        return Fall("diverged", **base)
    require(bool(rows) and rows[0]["step"] == 0, "a continued run's history has no evaluation at step 0; "
                                                 "allowed: the history of a run started with init_from")
    v0 = float(rows[0][s.val_metric])
    later = np.array([r[s.val_metric] for r in rows[1:]], dtype=float)
    f = Fall("held", start=_rounded(v0), **base)
    if not later.size:
        return f
    end = float(later[-FINAL_EVALUATIONS:].mean())
    f.end, f.fall = _rounded(end), _rounded(v0 - end)
    if v0 - s.chance <= band:
        f.verdict = "not_generalized_at_start"
        return f
    kept = (later - s.chance) / (v0 - s.chance)
    f.kept = _rounded((end - s.chance) / (v0 - s.chance))
    below = kept < GENERALIZED
    if len(below) >= s.sustain and below[-s.sustain:].all() and v0 - end > band:
        f.verdict = "fell_to_chance" if end - s.chance <= band else "fell"
        stays = np.flatnonzero(~below)
        f.fell_step = int(rows[1 + (stays[-1] + 1 if stays.size else 0)]["step"])
    return f


def describe_fall(f: Fall) -> str:
    """One console line, e.g. `fell: val/acc 1.000 at the start, 0.312 after 3,000 steps (kept 0.30 of
    the start above chance; noise band +-0.005), below 0.9 of the start from step 1,200`."""
    if f.end is None:
        return f"{f.verdict}: no evaluation after the start ({f.val_metric} {f.start} at step 0)"
    text = (f"{f.verdict}: {f.val_metric} {f.start:.3f} at the start, {f.end:.3f} after {f.last_step:,} steps")
    if f.kept is not None and math.isfinite(f.kept):
        text += f" (kept {f.kept:.2f} of the start above chance; noise band +-{f.band:.3f})"
    if f.fell_step is not None:
        text += f", below {GENERALIZED} of the start from step {f.fell_step:,}"
    return text
