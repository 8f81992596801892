"""How numbers appear in the board's tables: the same value always prints the same way."""

from __future__ import annotations

import math
from collections import Counter

import pandas as pd

from grokbench.board.stats import Spread
from grokbench.profile import VERDICTS

MISSING = "—"


def fmt_steps(value: float | None) -> str:
    return MISSING if value is None else f"{value:,.0f}"


def fmt_float(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return MISSING if value is None else str(value)
    return f"{value:.{digits}g}" if abs(value) < 1e4 else f"{value:,.0f}"


def fmt_spread(s: Spread | None, steps: bool = False, digits: int = 3) -> str:
    """Median, range and count, e.g. `0.03 [0.01, 0.05] n=3` (never a confidence interval)."""
    if s is None:
        return MISSING
    number = fmt_steps if steps else (lambda v: fmt_float(v, digits))
    if s.n == 1:
        return f"{number(s.median)} n=1"
    return f"{number(s.median)} [{number(s.low)}, {number(s.high)}] n={s.n}"


def fmt_rate(k: int, n: int) -> str:
    return f"{k}/{n}"


def fmt_outcomes(counts: Counter) -> str:
    """Verdict counts in the profile's order, e.g. `grokked 3, censored 2, failed 1`."""
    order = [*VERDICTS, "failed"]
    names = sorted(counts, key=lambda k: (order.index(k) if k in order else len(order), k))
    return ", ".join(f"{name} {counts[name]}" for name in names) or MISSING


def fmt_speeds(speeds: dict) -> str:
    """Wall time and throughput per hardware and thread count (never pooled across them)."""
    parts = [f"{label}: {fmt_float(s['wall_seconds'] and s['wall_seconds'].median)} s, "
             f"{fmt_float(s['steps_per_second'] and s['steps_per_second'].median)} steps/s"
             for label, s in speeds.items()]
    return "; ".join(parts) or MISSING


def fmt_ratio(value: float | None, interval: tuple[float, float] | None = None) -> str:
    if value is None:
        return MISSING
    return f"{value:.2f}x [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else f"{value:.2f}x"


def markdown(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "_no runs_"
    return pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True)
