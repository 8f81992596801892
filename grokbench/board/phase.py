"""Phase diagrams: a recipe swept over two numeric parameters, one grid cell per setting, in any
domain.

The axes are read from the records, never from names: a recipe's two swept keys are the launch
overrides that vary among its runs (settings.py), and which is x is declared by the sweep that
launched them: the key its runs' overrides name first (a suite's `grid` lists its keys in that
order, conf/suite/phase_*.yaml), else `grokbench board --phase X,Y`. Each value is the run's own
(its override, else its resolved config).
Each cell pools the seeds of one (x, y) setting. Three panels share the grid, as Omnigrok's
(Liu, Michaud & Tegmark 2022) diagrams: colour = the cell's phase (comprehension, grokking,
memorization, confusion; phase_map.py says how each run's profile gives one and when a cell is
`mixed`), colour = grok rate (grokked runs / runs), and colour = median final held-out progress
G (the profile's `final_progress`, measured against the control's level like every other number
on the board); each cell prints its count or median. A cell whose phase changes somewhere in the
declared neighbourhood of the profile's levels or on a thinned schedule is hatched, and the text
under the diagram says where (phase_map.phase_flips). Axes are logarithmic when every value is
positive (sweeps such as Omnigrok's alpha x weight decay are log-spaced), linear otherwise. A
recipe gets one when its setting has exactly two numeric keys or, with `--phase X,Y`, when its
runs take at least two values of both. PNGs are saved without metadata so the same records give
the same bytes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import NullFormatter, NullLocator

from grokbench.board.formatting import fmt_float
from grokbench.board.frame import BASELINE, number
from grokbench.board.phase_map import MIXED, NO_PHASE, PHASES, cell_phase, phase_flips, run_phases
from grokbench.board.sensitivity import describe_flips
from grokbench.board.settings import run_value
from grokbench.board.summary import outcome
from grokbench.profile import VERDICTS

PHASE_COLOURS = {"comprehension": "#2ca02c", "grokking": "#1f77b4", "memorization": "#ff7f0e",
                 "confusion": "#7f7f7f", MIXED: "#f2f2f2", NO_PHASE: "#000000"}
PHASE_ORDER = (*PHASES, MIXED, NO_PHASE)
HOLDS = "nowhere"  # describe_flips: the phase is the same at every point
HATCH = "////"
PANELS = (("grok_rate", "grok rate (grokked / runs)"), ("final_progress", "median final held-out progress G"))


def axis_values(group: pd.DataFrame, key: str) -> list[float | None]:
    """Each run's value of a swept key as a number (None when it has none or it is not a number)."""
    return [number(run_value(launch, config, key)) for launch, config in zip(group["launch"], group["config"])]


def most_common(verdicts: list[str]) -> str:
    """The most common verdict; ties go to the one listed first in the profile's order."""
    order = [*VERDICTS, "failed"]
    counts = Counter(verdicts)
    return min(counts, key=lambda v: (-counts[v], order.index(v) if v in order else len(order), v))


def cell_groups(group: pd.DataFrame, x: str, y: str) -> Iterator[tuple[tuple[float, float], pd.DataFrame]]:
    """((x, y), its runs) for every setting of the two keys, in order; runs without a numeric
    value of both are left out."""
    frame = group.assign(x=axis_values(group, x), y=axis_values(group, y)).dropna(subset=["x", "y"])
    yield from frame.groupby(["x", "y"], sort=True)


def cells(group: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """One row per (x, y) setting: runs, grokked runs, grok rate, median final G, most common
    verdict, phase, the runs in it, and where the phase changes (`nowhere` when it holds)."""
    rows = []
    for (xv, yv), runs in cell_groups(group, x, y):
        finals = [v for v in (number(g) for g in runs["profile.final_progress"]) if v is not None]
        grokked = int((runs["profile.verdict"] == "grokked").sum())
        phase, count = cell_phase(run_phases(runs))
        flips, points = phase_flips(runs)
        rows.append({"x": xv, "y": yv, "runs": len(runs), "grokked": grokked, "grok_rate": grokked / len(runs),
                     "final_progress": float(np.median(finals)) if finals else np.nan,
                     "verdict": most_common([outcome(s, v) for s, v in zip(runs["status"], runs["profile.verdict"])]),
                     "phase": phase, "phase_runs": count, "phase_moves_at": describe_flips(flips, points)})
    return pd.DataFrame(rows, columns=["x", "y", "runs", "grokked", "grok_rate", "final_progress", "verdict",
                                       "phase", "phase_runs", "phase_moves_at"])


def is_diagram(table: pd.DataFrame) -> bool:
    return table["x"].nunique() >= 2 and table["y"].nunique() >= 2


def edges(values: np.ndarray, log: bool) -> np.ndarray:
    """Cell borders halfway between neighbouring values (in log space on a log axis)."""
    t = np.log10(values) if log else values
    middle = (t[1:] + t[:-1]) / 2
    borders = np.concatenate([[2 * t[0] - middle[0]], middle, [2 * t[-1] - middle[-1]]])
    return 10 ** borders if log else borders


def on_grid(table: pd.DataFrame, column: str, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """A cell column as a (y, x) array, NaN where no run ran."""
    grid = np.full((ys.size, xs.size), np.nan)
    for _, cell in table.iterrows():
        grid[np.searchsorted(ys, cell["y"]), np.searchsorted(xs, cell["x"])] = cell[column]
    return grid


def hatch_moving(ax, table: pd.DataFrame, xs: np.ndarray, ys: np.ndarray, bx: np.ndarray, by: np.ndarray) -> None:
    """Hatch every cell whose phase changes somewhere in the neighbourhood or on a thinned schedule."""
    for _, cell in table[table["phase_moves_at"] != HOLDS].iterrows():
        i, j = np.searchsorted(xs, cell["x"]), np.searchsorted(ys, cell["y"])
        ax.add_patch(Rectangle((bx[i], by[j]), bx[i + 1] - bx[i], by[j + 1] - by[j], fill=False, hatch=HATCH,
                               edgecolor="black", linewidth=0))


def moves_text(table: pd.DataFrame, x: str, y: str) -> str:
    """The sentence under a diagram: where a cell's phase changes, or that none does."""
    moving = table[table["phase_moves_at"] != HOLDS]
    if moving.empty:
        return (f"Every cell's phase holds at every point of the declared neighbourhood of the profile's levels "
                f"and on both thinned schedules ({len(table)} cells).")
    cells_text = "; ".join(f"{x}={fmt_float(c['x'], 4)}, {y}={fmt_float(c['y'], 4)} ({c['phase']}): "
                           f"{c['phase_moves_at']}" for _, c in moving.iterrows())
    return (f"Hatched: {len(moving)} of {len(table)} cells whose phase changes in the declared neighbourhood of "
            f"the profile's levels or on a thinned schedule, and where: {cells_text}.")


def label_cells(ax, table: pd.DataFrame, texts: list[str]) -> None:
    for (_, cell), text in zip(table.iterrows(), texts):
        ax.annotate(text, (cell["x"], cell["y"]), ha="center", va="center", fontsize=7, color="black",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})


def draw(table: pd.DataFrame, x: str, y: str, title: str, path: Path) -> Path:
    xs, ys = np.sort(table["x"].unique()), np.sort(table["y"].unique())
    log_x, log_y = bool((xs > 0).all()), bool((ys > 0).all())
    bx, by = edges(xs, log_x), edges(ys, log_y)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), sharey=True)
    codes = table.assign(code=[PHASE_ORDER.index(p) for p in table["phase"]])
    axes[0].pcolormesh(bx, by, np.ma.masked_invalid(on_grid(codes, "code", xs, ys)),
                       cmap=ListedColormap([PHASE_COLOURS[p] for p in PHASE_ORDER]),
                       vmin=-0.5, vmax=len(PHASE_ORDER) - 0.5)
    hatch_moving(axes[0], table, xs, ys, bx, by)
    label_cells(axes[0], table, [f"{k}/{n}" for k, n in zip(table["phase_runs"], table["runs"])])
    shown = [p for p in PHASE_ORDER if p in set(table["phase"])]
    handles = [Patch(facecolor=PHASE_COLOURS[p], edgecolor="black") for p in shown]
    if (table["phase_moves_at"] != HOLDS).any():
        handles, shown = [*handles, Patch(facecolor="white", edgecolor="black", hatch=HATCH)], [*shown, "phase moves"]
    axes[0].legend(handles, shown,
                   title="phase (runs in it / runs)", fontsize=7, title_fontsize=7, loc="upper left",
                   bbox_to_anchor=(0.0, -0.16), ncol=3, frameon=False)
    for ax, (column, label) in zip(axes[1:], PANELS):
        mesh = ax.pcolormesh(bx, by, np.ma.masked_invalid(on_grid(table, column, xs, ys)),
                             cmap="viridis", vmin=0.0, vmax=1.0)
        fig.colorbar(mesh, ax=ax, label=label)
        label_cells(ax, table, [f"{k}/{n}" for k, n in zip(table["grokked"], table["runs"])]
                    if column == "grok_rate" else
                    [fmt_float(None if np.isnan(v) else v, 2) for v in table["final_progress"]])
    for ax in axes:
        ax.set(xscale="log" if log_x else "linear", yscale="log" if log_y else "linear", xlabel=x)
        ax.set_xticks(xs, [fmt_float(v, 4) for v in xs])
        ax.set_yticks(ys, [fmt_float(v, 4) for v in ys])
        for axis in (ax.xaxis, ax.yaxis):  # only the swept values are ticks
            axis.set_minor_locator(NullLocator())
            axis.set_minor_formatter(NullFormatter())
    axes[0].set_ylabel(y)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return path


def declared_order(group: pd.DataFrame, keys: set[str]) -> list[str]:
    """The keys in the order the runs' launch overrides name them (a suite grid's order: its first
    key is x), the most common order among the runs launched with all of them; by name when none was."""
    orders = Counter(tuple(sorted(keys, key=list(launch).index)) for launch in group["launch"] if keys <= set(launch))
    return list(min(orders, key=lambda order: (-orders[order], order))) if orders else sorted(keys)


def swept_pair(group: pd.DataFrame) -> tuple[str, str] | None:
    """The two keys of a configuration family's setting, when it has exactly two, x first."""
    keys = {k for values in group["setting_values"] for k in values}
    return tuple(declared_order(group, keys)) if len(keys) == 2 else None


def family_parts(recipe: str, method: str, model: str, models: int) -> list[str]:
    """What names a diagram: its recipe, its method unless baseline, its model if the recipe has several."""
    return [recipe, *([method] if method != BASELINE else []), *([model] if models > 1 else [])]


def families(runs: pd.DataFrame) -> Iterator[tuple[list[str], pd.DataFrame]]:
    """(name parts, runs) of every configuration family: a recipe, model and method, any domain."""
    models = runs.groupby("recipe")["model"].nunique()
    for (recipe, method, model), group in runs.groupby(["recipe", "method", "model"], sort=False):
        yield family_parts(recipe, method, model, int(models[recipe])), group


def phase_figures(runs: pd.DataFrame, directory: Path,
                  keys: list[str] | None = None) -> dict[str, list[tuple[str, Path, str]]]:
    """Domain -> (label, PNG, where its cells' phases move) of every phase diagram: per recipe,
    model and method, over its own two swept keys, or over `keys` (x, y) for every one that
    swept both."""
    found: dict[str, list[tuple[str, Path, str]]] = {}
    for parts, group in families(runs):
        pair = tuple(keys) if keys else swept_pair(group)
        if pair is None:
            continue
        table = cells(group, *pair)
        if not is_diagram(table):
            continue
        label = " · ".join(parts)
        title = (f"{label}: {int(table['runs'].sum())} runs in {len(table)} settings of {pair[0]} × {pair[1]} "
                 f"(seeds pooled per cell)")
        path = draw(table, pair[0], pair[1], title, Path(directory) / f"phase_{'_'.join(parts)}.png")
        found.setdefault(str(group["domain"].iloc[0]), []).append((label, path, moves_text(table, *pair)))
    return found
