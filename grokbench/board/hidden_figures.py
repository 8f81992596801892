"""One figure per domain: held-out progress G and each declared measure of the domain's main
recipe (its universality row), median over seeds with the min-max band, on a log-step axis
aligned at each run's memorization (x = log10(step / t_mem)) and at its G = 0.9 step
(x = log10(step / t_gen); runs that never got there are left out of that column, the title
says how many); the declared control's median dashed, aligned the same way at its own steps:
the measure in runs without a delay. Each measure is scaled to its own range over the drawn
runs (the row label gives the range), so rows compare in shape, not in units. Dotted lines mark the medians of
memorization, G leaving the chance band, and G = 0.9. Where fewer than half the runs cover an
aligned step, nothing is drawn. PNGs are saved without metadata.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from grokbench.board.figures import on_grid, run_progress
from grokbench.board.frame import number
from grokbench.board.hidden_progress import measure_directions
from grokbench.board.tables import universality_groups, with_setting
from grokbench.record import curve_series

ANCHORS = (("profile.memorized_step", "memorization"), ("profile.generalized_step", "G = 0.9"))
MARKS = (("profile.memorized_step", "memorized", "tab:blue"), ("profile.leave_step", "G leaves the band", "tab:orange"),
         ("profile.generalized_step", "G = 0.9", "tab:green"))
G_ROW = "held-out progress G"


def aligned_band(series_list: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """Union x grid and the median / min / max across runs, each run counted inside its own range,
    only where at least half the runs are (the runs' ranges differ once aligned: the edges would
    otherwise be the median of one or two runs)."""
    series_list = [(x, v) for x, v in series_list if x.size]
    if not series_list:
        return (np.array([]),) * 4
    grid, stacked = on_grid(series_list, log_x=False)
    kept = np.isfinite(stacked).sum(axis=0) * 2 >= len(series_list)
    stacked = stacked[:, kept]
    return grid[kept], np.nanmedian(stacked, axis=0), np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0)


def row_series(row: pd.Series, key: str) -> tuple[np.ndarray, np.ndarray]:
    if key == G_ROW:
        return run_progress(row, train=False)
    return curve_series(row["curve"], key, log_axis=False)


def aligned(drawn: pd.DataFrame, key: str, anchor: str, scale: tuple[float, float] | None) -> tuple[np.ndarray, ...]:
    """The runs' values of `key`, scaled to `scale`, on x = log10(step / the run's `anchor` step)."""
    series_list = []
    for _, row in drawn.iterrows():
        steps, values = row_series(row, key)
        if steps.size:
            low, high = scale or (0.0, 1.0)
            scaled = (values - low) / (high - low) if high > low else np.full(values.shape, 0.5)
            series_list.append((np.log10(steps / float(row[anchor])), scaled))
    return aligned_band(series_list)


def draw_cell(ax, drawn: pd.DataFrame, controls: pd.DataFrame, key: str, anchor: str,
              scale: tuple[float, float] | None, control_label: str) -> None:
    """One measure's median and band aligned at `anchor`, the median of each mark, and the
    control's median (dashed): the same measure in runs without a delay."""
    grid, median, low, high = aligned(drawn, key, anchor, scale)
    if grid.size:
        ax.plot(grid, median, color="black", lw=1.4)
        ax.fill_between(grid, low, high, color="black", alpha=0.15, lw=0)
    grid, median, _, _ = aligned(controls, key, anchor, scale)
    if grid.size:
        ax.plot(grid, median, color="tab:purple", lw=1.0, ls="--", label=control_label)
    for column, label, color in MARKS:
        offsets = [np.log10(m / float(a)) for m, a in zip(map(number, drawn[column]), drawn[anchor]) if m]
        if offsets:
            ax.axvline(float(np.median(offsets)), color=color, lw=1.0, ls=":", label=label)


def value_range(drawn: list[pd.DataFrame], key: str) -> tuple[float, float] | None:
    values = [v for runs in drawn for _, row in runs.iterrows() for v in row_series(row, key)[1]]
    return (float(min(values)), float(max(values))) if values else None


def having(runs: pd.DataFrame, column: str) -> pd.DataFrame:
    if column not in runs:  # no runs at all (a main recipe without a control): an empty frame has no columns
        return runs
    return runs[[number(s) is not None for s in runs[column]]]


def hidden_figure(domain: str, recipe: str, group: pd.DataFrame, control: str | None, controls: pd.DataFrame,
                  path: Path) -> Path | None:
    directions = measure_directions(group)
    memorized = having(group, "profile.memorized_step")
    if not directions or not len(memorized):
        return None
    generalized = having(memorized, "profile.generalized_step")
    control_memorized = having(controls, "profile.memorized_step")
    control_drawn = (control_memorized, having(control_memorized, "profile.generalized_step"))
    keys = [G_ROW, *directions]
    fig, axes = plt.subplots(len(keys), 2, figsize=(10, 1.2 * len(keys) + 1.0), sharex="col", squeeze=False)
    for column, ((anchor, name), drawn, own) in enumerate(zip(ANCHORS, (memorized, generalized), control_drawn)):
        left_out = len(memorized) - len(drawn)
        axes[0, column].set_title(f"aligned at {name}: {len(drawn)} runs"
                                  + (f" ({left_out} never reached G = 0.9: left out)" if left_out else ""), fontsize=8)
        axes[-1, column].set_xlabel(f"log10(step / step at {name})", fontsize=8)
        for i, key in enumerate(keys):
            scale = None if key == G_ROW else value_range([memorized, control_memorized], key)
            ax = axes[i, column]
            if len(drawn):
                draw_cell(ax, drawn, own, key, anchor, scale, f"control {control} (median of {len(own)} runs)")
            ax.set_ylim(-0.1, 1.1)
            ax.tick_params(labelsize=6)
            ax.grid(alpha=0.3)
            if column == 0:
                label = key if key == G_ROW else f"{key}\n({directions[key]}; {scale[0]:.3g} to {scale[1]:.3g})"
                ax.set_ylabel(label, fontsize=6, rotation=0, ha="right", va="center")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False)
    fig.suptitle(f"{domain}: {recipe}: measures scaled to their own range (median over seeds, band: min–max; "
                 "progress direction in brackets)", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))  # room for the title above the columns
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return path


def hidden_figures(runs: pd.DataFrame, directory: Path) -> dict[str, Path]:
    """Domain -> its hidden-progress PNG (domains whose main recipe logged no measure get none)."""
    paths = {}
    for domain, config, group, control, controls in universality_groups(runs):
        recipe = with_setting(config["recipe"], config["setting"])
        drawn = hidden_figure(domain, recipe, group, control, controls, Path(directory) / f"hidden_{domain}.png")
        if drawn is not None:
            paths[domain] = drawn
    return paths
