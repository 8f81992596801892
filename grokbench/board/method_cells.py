"""What a cell of the method grid says: a speedup only where it means one.

Each arm (the method's runs, its baseline's runs) is counted the same way:
- reached: runs whose G held >= 0.9 to the end (sustained G = 0.9, verdict not `ungrokked`);
  fell back: runs that sustained G = 0.9 and lost it by the end (`ungrokked`). A run that fell
  back did not reach G = 0.9: it is censored at its last step in the Kaplan-Meier medians.
- delayed: most of the baseline's memorized runs show the profile's delay, log10(t_leave /
  t_mem) > 0 (or censored: G never left the chance band for good). A run whose G was already
  above the band at memorization (delay <= 0; the StableMax baseline's 0.81-0.85 on MNIST) has
  no delay to shorten, so where most do the cell gives both arms' final G instead of a ratio of
  two undelayed times. G below the band at memorization (S5's group table) is not progress: G
  still has to leave the band later, which is a delay.
- at the first evaluation: where the method's median step to G = 0.9 is its first evaluation,
  the true time lies anywhere before it, so the speedup is a bound, `≥ X×`, without an interval;
  where only some of its runs got there at the first evaluation, the interval's upper end is open.
- side by side: a wall-clock ratio only between arms that ran in one batch, read off their
  records: one commit, one hardware and thread count (summary.speed_group), and overlapping run
  windows (each arm from its first start to its last finish, `started_at` + `wall_seconds`).
  Otherwise the loads the two arms ran under differ (up to 22% between identical-cost runs on
  the grid's CPU) and the cell shows steps only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from grokbench.board.formatting import MISSING, fmt_float, fmt_rate, fmt_ratio, fmt_steps
from grokbench.board.frame import number, present
from grokbench.board.stats import FELL_BACK, Spread, held, km_median_or_beyond, majority, speedup, spread
from grokbench.board.summary import speed_group
from grokbench.methods.catalog import entry, knob_value, tuning_plan


@dataclass(frozen=True)
class Arm:
    """One arm of a pair, counted as the module docstring says."""

    runs: int
    reached: int                   # held G >= 0.9 to the end
    fell_back: int                 # sustained G = 0.9, then lost it (`ungrokked`)
    median: float | None           # KM median steps to G = 0.9 (fell-back runs censored)
    beyond: float | None           # where the median is undefined: the last step seen
    seconds: float | None          # the same in wall-clock seconds
    seconds_beyond: float | None
    first_evaluation: float | None  # the earliest first evaluation step of its runs
    at_first: int                  # runs that reached G = 0.9 at their first evaluation
    band_states: Counter           # where G lay at memorization, over the memorized runs
    delayed: int                   # memorized runs with the profile's delay > 0 (or censored)
    final_progress: Spread | None  # G at the end (mean of the last three evaluations)


def first_step(curve: list[dict], metric: str | None) -> float | None:
    """The first evaluation step (> 0) that logged the held-out metric."""
    steps = [number(r.get("step")) for r in curve or [] if metric in r]
    steps = [s for s in steps if s is not None and s > 0]
    return min(steps) if steps else None


def arm(group: pd.DataFrame) -> Arm:
    verdicts = list(group["profile.verdict"])
    steps = [number(s) for s in group["profile.generalized_step"]]
    firsts = [first_step(c, m) for c, m in zip(group["curve"], group["val_metric"])]
    median, beyond = km_median_or_beyond(group, held=True)
    seconds, seconds_beyond = km_median_or_beyond(group, seconds=True, held=True)
    reached = [held(s, v) for s, v in zip(steps, verdicts)]
    return Arm(runs=len(group), reached=sum(reached), fell_back=sum(v == FELL_BACK for v in verdicts),
               median=median, beyond=beyond, seconds=seconds, seconds_beyond=seconds_beyond,
               first_evaluation=min([f for f in firsts if f is not None], default=None),
               at_first=sum(r and s == f for r, s, f in zip(reached, steps, firsts)),
               band_states=Counter(v for v in group["profile.memorized_in_band"] if present(v)),
               delayed=sum(number(d) is not None and (number(d) > 0 or c is True)
                           for d, c in zip(group["profile.delay_decades"], group["profile.delay_censored"])),
               final_progress=spread(group["profile.final_progress"]))


def delayed(base: Arm) -> bool:
    """Most of the baseline's memorized runs show a delay (the module docstring)."""
    return majority(base.delayed, sum(base.band_states.values()))


def counts(method: Arm, base: Arm | None) -> str:
    """Reached and fell-back counts of both arms, e.g. `G=0.9 held 5/5, fell back 0/5 (baseline 4/5, 1/5)`."""
    text = f"G=0.9 held {fmt_rate(method.reached, method.runs)}, fell back {fmt_rate(method.fell_back, method.runs)}"
    return text + (f" (baseline {fmt_rate(base.reached, base.runs)}, {fmt_rate(base.fell_back, base.runs)})"
                   if base else "")


def fmt_g(s: Spread | None) -> str:
    return fmt_float(s.median, 2) if s else MISSING


def no_delay(method: Arm, base: Arm) -> str:
    states = base.band_states
    where = ", ".join(f"{k} {v}" for k, v in sorted(states.items())) or "never memorized"
    return (f"no delay to shorten (baseline delayed in {base.delayed}/{sum(states.values())} memorized runs; "
            f"G at memorization vs the chance band: {where}); "
            f"final G {fmt_g(method.final_progress)} vs {fmt_g(base.final_progress)}")


def ratio_text(method: Arm, base: Arm, interval: tuple[float, float] | None, seconds: bool) -> str:
    """The speedup (method median over baseline's) or the bound it is, with its interval."""
    unit = "s" if seconds else "steps"
    m, b = (method.seconds, base.seconds) if seconds else (method.median, base.median)
    m_beyond, b_beyond = (method.seconds_beyond, base.seconds_beyond) if seconds else (method.beyond, base.beyond)
    if m is not None and method.median == method.first_evaluation:
        against = b if b is not None else b_beyond
        if against is None:
            return f"no speedup: the baseline's runs have no {unit}"
        return (f"≥ {fmt_ratio(speedup(against, m))} ({fmt_steps(m)} vs {'' if b is not None else '> '}"
                f"{fmt_steps(against)} {unit}; a bound: G=0.9 at the first evaluation, step "
                f"{fmt_steps(method.median)}, so the time lies before it)")
    if b is None and m is not None and b_beyond:
        return (f"> {fmt_ratio(speedup(b_beyond, m))} ({fmt_steps(m)} vs > {fmt_steps(b_beyond)} {unit}; "
                "a bound: under half the baseline's runs reached G=0.9)")
    if m is None and b is not None and m_beyond:
        return (f"< {fmt_ratio(speedup(b, m_beyond))} (> {fmt_steps(m_beyond)} vs {fmt_steps(b)} {unit}; "
                "a bound: under half the method's runs reached G=0.9)")
    if b is None and m is None:
        return "no speedup: neither median reached G=0.9"
    if b is None or m is None:
        return f"no speedup: the {'baseline' if b is None else 'method'}'s runs have no {unit}"
    if interval and method.at_first:  # resamples of the runs at the first evaluation set the upper end
        text = f"{fmt_ratio(speedup(b, m))} [{interval[0]:.2f}, open: {method.at_first}/{method.runs} runs at the first evaluation]"
    else:
        text = fmt_ratio(speedup(b, m), interval)
    return f"{text} ({fmt_steps(m)} vs {fmt_steps(b)} {unit})"


def superseded(group: pd.DataFrame) -> str | None:
    """Where conf/method now picks another value of a tuned knob than these runs ran with (a pick
    re-derived after they ran): which, so the cell is read as the old pick's until it is rerun."""
    changes = set()
    for settings in group["method_settings"]:
        name, domain = (settings or {}).get("name"), (settings or {}).get("domain")
        for knob in tuning_plan(name, domain) if name and domain else {}:
            ran, now = knob_value(settings.get("knobs") or {}, knob), knob_value(entry(name, domain) or {}, knob)
            if ran != now:
                changes.add(f"{knob} {now} (these runs: {ran})")
    return "; ".join(sorted(changes)) or None


def window(group: pd.DataFrame) -> tuple[datetime, datetime] | None:
    """First start to last finish of a group's runs; None where a run has no start or duration."""
    spans = []
    for started, wall in zip(group["started_at"], group["wall_seconds"]):
        seconds = number(wall)
        try:
            start = datetime.fromisoformat(str(started))
        except ValueError:
            return None
        if seconds is None:
            return None
        spans.append((start, start + timedelta(seconds=seconds)))
    return (min(s for s, _ in spans), max(e for _, e in spans)) if spans else None


def side_by_side(method: pd.DataFrame, base: pd.DataFrame) -> str | None:
    """None where the two arms ran in one batch (module docstring); else why not, in a few words."""
    both = pd.concat([method, base])
    commits = set(both["git_commit"])
    if len(commits) != 1:
        return "the arms ran at different commits"
    if len({speed_group(a, t) for a, t in zip(both["accelerator"], both["torch_threads"])}) != 1:
        return "the arms ran on different hardware or thread counts"
    m, b = window(method), window(base)
    if m is None or b is None:
        return "a record has no start time or wall time"
    if m[0] > b[1] or b[0] > m[1]:
        return f"not run side by side (method {m[0]:%Y-%m-%d %H:%M}, baseline {b[0]:%Y-%m-%d %H:%M})"
    return None


def cell_text(method: Arm, base: Arm | None, baseline: str, interval: tuple[float, float] | None,
              seconds: bool = False, apart: str | None = None) -> str:
    """A speedup cell: steps (default) or wall-clock seconds; `apart`: why the arms' clocks do not
    compare (side_by_side), then a wall-clock cell shows steps only."""
    if base is None:
        return f"no runs of baseline {baseline}"
    if not delayed(base):
        return no_delay(method, base)
    if seconds and apart:
        return f"steps only: {apart}"
    return ratio_text(method, base, interval, seconds)
