"""The board's critical-data-size section: per recipe swept over the training fraction (any
domain), a table of its cells (grok rate, final G, delay, semi-grokking) and D_crit per weight
decay, with its figure (critical_figure.py).

A recipe qualifies when its runs take at least MIN_FRACTIONS values of the training fraction.
The fraction and the weight decay of a run are its own, read from its record (its launch
override, else its resolved config: `task.train_fraction`, `optim.weight_decay`), never from a
directory name. A recipe that sweeps a third key as well is named and left out: its cells would
pool runs that differ in it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from grokbench.board.critical_size import critical_size, fmt_critical
from grokbench.board.formatting import MISSING, fmt_float, fmt_rate, fmt_spread, markdown
from grokbench.board.frame import number
from grokbench.board.phase import axis_values, cell_groups, families
from grokbench.board.phase_map import cell_phase, run_phases
from grokbench.board.semi_grokking import RISING, SEMI, SEMI_HIGH, SEMI_LOW, partial_states, semi_cell
from grokbench.board.stats import grok_rate, km_median_delay, spread

FRACTION, DECAY = "task.train_fraction", "optim.weight_decay"
MIN_FRACTIONS = 3
NOTE = (
    "One row per cell (training fraction × weight decay, seeds pooled). Grok rate: grokked runs / runs. "
    "Final G: the held-out progress at the end (mean of the last three evaluations), median [range] n. "
    "Delay: Kaplan–Meier median of log10(t_leave / t_mem), runs whose G never left the chance band censored. "
    f"A run semi-groks (Varma et al. 2023) when it is delayed as a grokked run is (G at chance when the "
    f"training set is fit, flat for the profile's plateau, then out of the band for good) and its final G "
    f"settles at least {SEMI_LOW:g} and below {SEMI_HIGH:g}; `rising`: the same but still rising when the "
    "budget ended (censored). A cell is **semi** when more than half of its runs semi-grok "
    "(grokbench/board/semi_grokking.py). Phase: the cell's Omnigrok phase and how many of its runs are in "
    "it (grokbench/board/phase_map.py); `confusion` says the training set was never fit, so a low final G "
    "there is not memorization winning; where a cell's phase changes in the declared neighbourhood of the "
    "profile's levels or on a thinned schedule, the recipe's phase diagram (per domain, above) hatches it "
    "and says where. D_crit: the training fraction where the cells' median final G "
    "crosses 0.5 (upward, for the last time), interpolated linearly between the two swept fractions "
    "around it, with a 95% percentile bootstrap interval resampling each cell's runs (seeded; it does "
    "not include the interpolation between grid points); `< f` / `> f`: outside the swept fractions "
    "(grokbench/board/critical_size.py). Every number is read at the recipe's step budget (Power et al. "
    "2022: the steps to generalize grow steeply as the fraction falls), so D_crit is the critical "
    "fraction for that budget.")


def fractions_of(group: pd.DataFrame) -> set[float]:
    return {v for v in axis_values(group, FRACTION) if v is not None}


def fmt_delay(runs: pd.DataFrame) -> str:
    median, beyond = km_median_delay(runs)
    if median is not None:
        return fmt_float(median, 2)
    return f"> {fmt_float(beyond, 2)} (censored)" if beyond is not None else MISSING


def cell_rows(group: pd.DataFrame) -> list[dict[str, str]]:
    rows = []
    for (fraction, decay), runs in sorted(cell_groups(group, FRACTION, DECAY), key=lambda c: (c[0][1], c[0][0])):
        states = partial_states(runs)
        rising = states.count(RISING)
        phase, in_phase = cell_phase(run_phases(runs))
        rows.append({"weight decay": f"{decay:g}", "train fraction": f"{fraction:g}", "runs": str(len(runs)),
                     "grok rate": fmt_rate(*grok_rate(runs)),
                     "final G": fmt_spread(spread(runs["profile.final_progress"]), digits=2),
                     "delay (decades)": fmt_delay(runs),
                     "semi-grokking runs": f"{states.count(SEMI)}/{len(runs)}" + (f", {rising} rising" if rising else ""),
                     "cell": "**semi**" if semi_cell(states) else "",
                     "phase": f"{phase} {in_phase}/{len(runs)}"})
    return rows


def finals_by_cell(group: pd.DataFrame) -> dict[float, dict[float, list[float]]]:
    """Weight decay -> {training fraction: the final G of each run that has one}."""
    found: dict[float, dict[float, list[float]]] = {}
    for (fraction, decay), runs in cell_groups(group, FRACTION, DECAY):
        finals = [v for v in (number(g) for g in runs["profile.final_progress"]) if v is not None]
        found.setdefault(decay, {})[fraction] = finals
    return found


def critical_rows(group: pd.DataFrame) -> list[dict[str, str]]:
    rows = []
    for decay, cells in sorted(finals_by_cell(group).items()):
        found = critical_size(cells)
        if found is None:
            continue
        estimate, interval = fmt_critical(found)
        rows.append({"weight decay": f"{decay:g}", "D_crit (training fraction)": estimate,
                     "95% interval": interval, "fractions": ", ".join(f"{f:g}" for f in found.fractions),
                     "runs": str(found.runs)})
    return rows


def critical_markdown(runs: pd.DataFrame, out: Path) -> str | None:
    """The section's text (None when no recipe swept the training fraction), its figures drawn
    into out/figures and linked relative to out."""
    from grokbench.board.critical_figure import critical_figure  # matplotlib only when writing

    parts, skipped = [NOTE], []
    for names, group in families(runs):
        if len(fractions_of(group)) < MIN_FRACTIONS:
            continue
        label = " · ".join(names)
        others = sorted({k for values in group["setting_values"] for k in values} - {FRACTION, DECAY})
        if others:
            skipped.append(f"{label} (also swept {', '.join(others)})")
            continue
        domain = str(group["domain"].iloc[0])
        parts += [f"### {domain}: {label}", markdown(cell_rows(group)), markdown(critical_rows(group))]
        path = critical_figure(group, label, out / "figures" / f"critical_{'_'.join(names)}.png")
        parts.append(f"![{label}: final G against the training fraction]({path.relative_to(out).as_posix()})")
    if skipped:
        parts.append(f"Not shown, their cells would pool another swept key: {'; '.join(skipped)}.")
    return "\n\n".join(parts) if len(parts) > 1 else None
