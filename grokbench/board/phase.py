"""Phase diagrams: a recipe swept over two numeric parameters, one grid cell per setting.

Each cell pools the seeds of one (x, y) setting. Two panels share the grid: colour = grok rate
(grokked runs / runs) and colour = median final held-out progress G (the profile's
`final_progress`, measured against the control's level like every other number on the board);
the marker is the cell's most common verdict, and each cell prints its count or median. Axes are
logarithmic when every value is positive (sweeps such as Omnigrok's alpha x weight decay are
log-spaced), linear otherwise. A recipe gets one when its setting has exactly two numeric keys
(settings.py) or, with `grokbench board --phase X,Y`, when its runs take at least two values of
both. PNGs are saved without metadata so the same records give the same bytes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter, NullLocator

from grokbench.board.formatting import fmt_float
from grokbench.board.frame import BASELINE, number
from grokbench.board.settings import run_value
from grokbench.board.summary import outcome
from grokbench.profile import VERDICTS

VERDICT_MARKERS = {"grokked": "*", "generalized": "o", "memorized": "s", "censored": ">", "ungrokked": "v",
                   "unfit": "x", "diverged": "X", "failed": "P"}
PANELS = (("grok_rate", "grok rate (grokked / runs)"), ("final_progress", "median final held-out progress G"))


def axis_values(group: pd.DataFrame, key: str) -> list[float | None]:
    """Each run's value of a swept key as a number (None when it has none or it is not a number)."""
    return [number(run_value(launch, config, key)) for launch, config in zip(group["launch"], group["config"])]


def most_common(verdicts: list[str]) -> str:
    """The most common verdict; ties go to the one listed first in the profile's order."""
    order = [*VERDICTS, "failed"]
    counts = Counter(verdicts)
    return min(counts, key=lambda v: (-counts[v], order.index(v) if v in order else len(order), v))


def cells(group: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """One row per (x, y) setting: runs, grokked runs, grok rate, median final G, verdict."""
    frame = group.assign(x=axis_values(group, x), y=axis_values(group, y)).dropna(subset=["x", "y"])
    rows = []
    for (xv, yv), runs in frame.groupby(["x", "y"], sort=True):
        finals = [v for v in (number(g) for g in runs["profile.final_progress"]) if v is not None]
        grokked = int((runs["profile.verdict"] == "grokked").sum())
        rows.append({"x": xv, "y": yv, "runs": len(runs), "grokked": grokked, "grok_rate": grokked / len(runs),
                     "final_progress": float(np.median(finals)) if finals else np.nan,
                     "verdict": most_common([outcome(s, v) for s, v in zip(runs["status"], runs["profile.verdict"])])})
    return pd.DataFrame(rows, columns=["x", "y", "runs", "grokked", "grok_rate", "final_progress", "verdict"])


def is_diagram(table: pd.DataFrame) -> bool:
    return table["x"].nunique() >= 2 and table["y"].nunique() >= 2


def edges(values: np.ndarray, log: bool) -> np.ndarray:
    """Cell borders halfway between neighbouring values (in log space on a log axis)."""
    t = np.log10(values) if log else values
    middle = (t[1:] + t[:-1]) / 2
    borders = np.concatenate([[2 * t[0] - middle[0]], middle, [2 * t[-1] - middle[-1]]])
    return 10 ** borders if log else borders


def draw(table: pd.DataFrame, x: str, y: str, title: str, path: Path) -> Path:
    xs, ys = np.sort(table["x"].unique()), np.sort(table["y"].unique())
    log_x, log_y = bool((xs > 0).all()), bool((ys > 0).all())
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    for ax, (column, label) in zip(axes, PANELS):
        grid = np.full((ys.size, xs.size), np.nan)
        for _, cell in table.iterrows():
            grid[np.searchsorted(ys, cell["y"]), np.searchsorted(xs, cell["x"])] = cell[column]
        mesh = ax.pcolormesh(edges(xs, log_x), edges(ys, log_y), np.ma.masked_invalid(grid),
                             cmap="viridis", vmin=0.0, vmax=1.0)
        fig.colorbar(mesh, ax=ax, label=label)
        for verdict, marker in VERDICT_MARKERS.items():
            chosen = table[table["verdict"] == verdict]
            if len(chosen):
                ax.scatter(chosen["x"], chosen["y"], marker=marker, s=70, c="white", edgecolors="black",
                           linewidths=0.8, label=verdict, zorder=3)
        for _, cell in table.iterrows():
            text = (f"{cell['grokked']}/{cell['runs']}" if column == "grok_rate"
                    else fmt_float(None if np.isnan(cell["final_progress"]) else cell["final_progress"], 2))
            ax.annotate(text, (cell["x"], cell["y"]), xytext=(0, -15), textcoords="offset points",
                        ha="center", fontsize=7, color="black",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})
        ax.set(xscale="log" if log_x else "linear", yscale="log" if log_y else "linear", xlabel=x)
        ax.set_xticks(xs, [fmt_float(v, 4) for v in xs])
        ax.set_yticks(ys, [fmt_float(v, 4) for v in ys])
        for axis in (ax.xaxis, ax.yaxis):  # only the swept values are ticks
            axis.set_minor_locator(NullLocator())
            axis.set_minor_formatter(NullFormatter())
    axes[0].set_ylabel(y)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, title="most common verdict", loc="upper left", bbox_to_anchor=(1.0, 0.9),
               fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return path


def swept_pair(group: pd.DataFrame) -> tuple[str, str] | None:
    """The two keys of a configuration family's setting, when it has exactly two."""
    keys = sorted({k for values in group["setting_values"] for k in values})
    return (keys[0], keys[1]) if len(keys) == 2 else None


def family_parts(recipe: str, method: str, model: str, models: int) -> list[str]:
    """What names a diagram: its recipe, its method unless baseline, its model if the recipe has several."""
    return [recipe, *([method] if method != BASELINE else []), *([model] if models > 1 else [])]


def phase_figures(runs: pd.DataFrame, directory: Path,
                  keys: list[str] | None = None) -> dict[str, list[tuple[str, Path]]]:
    """Domain -> (label, PNG) of every phase diagram: per recipe, model and method, over its
    own two swept keys, or over `keys` (x, y) for every one that swept both."""
    found: dict[str, list[tuple[str, Path]]] = {}
    families = runs.groupby(["recipe", "method", "model"], sort=False)
    models = runs.groupby("recipe")["model"].nunique()
    for (recipe, method, model), group in families:
        pair = tuple(keys) if keys else swept_pair(group)
        if pair is None:
            continue
        table = cells(group, *pair)
        if not is_diagram(table):
            continue
        parts = family_parts(recipe, method, model, int(models[recipe]))
        label = " · ".join(parts)
        title = (f"{label}: {int(table['runs'].sum())} runs in {len(table)} settings of {pair[0]} × {pair[1]} "
                 f"(seeds pooled per cell; marker: most common verdict)")
        path = draw(table, pair[0], pair[1], title, Path(directory) / f"phase_{'_'.join(parts)}.png")
        found.setdefault(str(group["domain"].iloc[0]), []).append((label, path))
    return found
