"""The D_crit figure of one recipe: final held-out progress G against the training fraction, one
line per weight decay (the cells' medians; each run a dot), D_crit a dashed vertical line with
its bootstrap interval shaded, semi-grokking cells ringed. The fraction axis is linear, as Power
et al. 2022's data-fraction plots. PNGs are saved without metadata so the same records give the
same bytes.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from grokbench.board.critical_section import DECAY, FRACTION, finals_by_cell
from grokbench.board.critical_size import critical_size, fmt_critical
from grokbench.board.figures import Y_RANGE, palette
from grokbench.board.phase import cell_groups
from grokbench.board.semi_grokking import partial_states, semi_cell
from grokbench.profile import HALF


def semi_cells(group: pd.DataFrame) -> set[tuple[float, float]]:
    """(fraction, weight decay) of every semi-grokking cell."""
    return {cell for cell, runs in cell_groups(group, FRACTION, DECAY) if semi_cell(partial_states(runs))}


def critical_figure(group: pd.DataFrame, label: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(9, 4.6))
    by_decay = sorted(finals_by_cell(group).items())
    semi = semi_cells(group)
    colours = palette(len(by_decay))
    for i, (decay, cells) in enumerate(by_decay):
        colour = colours[i % len(colours)]
        fractions = sorted(f for f, finals in cells.items() if finals)
        medians = [float(np.median(cells[f])) for f in fractions]
        for f in fractions:
            ax.scatter([f] * len(cells[f]), np.clip(cells[f], *Y_RANGE), s=10, color=colour, alpha=0.45, lw=0)
        found = critical_size(cells)
        text = f" (D_crit {' '.join(fmt_critical(found))})" if found else ""
        ax.plot(fractions, np.clip(medians, *Y_RANGE), "-o", color=colour, ms=4, label=f"weight decay {decay:g}{text}")
        ringed = [(f, m) for f, m in zip(fractions, medians) if (f, decay) in semi]
        if ringed:
            ax.scatter(*zip(*ringed), s=140, facecolors="none", edgecolors=colour, linewidths=1.6, marker="D")
        if found and found.estimate is not None:
            ax.axvline(found.estimate, color=colour, ls="--", lw=1.0)
        if found and found.low is not None:  # clipped to the swept fractions: beyond them it is a bound
            ax.axvspan(max(found.low, fractions[0]), min(found.high, fractions[-1]), color=colour, alpha=0.12, lw=0)
    if semi:
        ax.scatter([], [], s=140, facecolors="none", edgecolors="black", marker="D", label="semi-grokking cell")
    ax.axhline(HALF, color="grey", lw=0.6, ls=":", label=f"G = {HALF:g}")
    ax.set(ylim=Y_RANGE, xlabel="training fraction (task.train_fraction)",
           ylabel="final held-out progress G (median; dots: runs)")
    ax.set_title(f"{label}: final G against the training fraction, D_crit (dashed) with its 95% bootstrap "
                 "interval (shaded)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return path
