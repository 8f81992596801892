"""The curve figure of one run: the detection metric, the losses and the weight norm against
steps (log axis), with the detector's levels and steps marked; and, when the run had progress
measures, each of them scaled to its own range over the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt

from grokbench.record import curve_series

GENERALIZED_PROGRESS = 0.9  # the profile's G = 0.9 line


def mark_steps(ax, memorized_step: int | None, generalized_step: int | None) -> None:
    if memorized_step:
        ax.axvline(memorized_step, color="tab:blue", ls="--", lw=1, label=f"memorized @ {memorized_step:,}")
    if generalized_step:
        ax.axvline(generalized_step, color="tab:red", ls="--", lw=1,
                   label=f"generalized @ {generalized_step:,}")


def mark_levels(ax, settings: dict[str, Any], reference: float | None) -> None:
    """The train level that counts as memorized, chance, and held-out G = 0.9."""
    chance = settings.get("chance")
    memorize = settings.get("memorize_level")
    train_reference = settings.get("train_reference", 1.0)
    if memorize is not None and train_reference is not None:
        ax.axhline(memorize * train_reference, color="tab:blue", lw=0.6, ls=":", label="memorized level")
    if chance is not None:
        ax.axhline(chance, color="grey", lw=0.6, ls="-.", label="chance")
        if reference is not None:
            ax.axhline(chance + GENERALIZED_PROGRESS * (reference - chance), color="tab:red", lw=0.6,
                       ls=":", label="G = 0.9")


def declared(record: dict[str, Any], **wanted: Any) -> list[str]:
    """The logged keys whose declaration (record["metrics"], grokbench/kinds.py) matches."""
    return [key for key, d in record.get("metrics", {}).items() if all(d.get(k) == v for k, v in wanted.items())]


def plot_measures(ax, curve: list[dict[str, Any]], keys: list[str]) -> None:
    """Each measure rescaled to [0, 1] over the run, so measures in bytes, nats and fractions
    share one axis: what shows is when each moves, not its size."""
    for key in keys:
        steps, values = curve_series(curve, key)
        if len(values) == 0:
            continue
        low, high = values.min(), values.max()
        ax.plot(steps, (values - low) / (high - low) if high > low else values * 0, label=key)
    ax.set(xscale="log", xlabel="step", ylabel="measure (scaled to its range over the run)")


def plot_run(record: dict[str, Any], path: str | Path) -> Path:
    """Three panels: the detection metric (train_eval and val), the losses, the weight norm; a
    fourth with the progress measures, if any."""
    curve = record["curve"]
    settings = record["detector"]["settings"]
    train_key, val_key = settings["train_metric"], settings["val_metric"]
    metric = record.get("metrics", {}).get(train_key, {}).get("metric") or train_key
    reference = (record.get("profile") or {}).get("reference", settings.get("reference"))
    measures = declared(record, role="measure")
    fig, axes = plt.subplots(1, 4 if measures else 3, figsize=(20 if measures else 15, 4))
    ax_metric, ax_loss, ax_norm = axes[:3]
    for key, color in ((train_key, "tab:blue"), (val_key, "tab:red")):
        ax_metric.plot(*curve_series(curve, key), color=color, label=key)
    for plain_val in declared(record, split="val", metric=metric):
        if plain_val != val_key:  # the detector watches another metric (e.g. adversarial): show both
            ax_metric.plot(*curve_series(curve, plain_val), color="tab:red", ls=":", label=plain_val)
    mark_levels(ax_metric, settings, reference)
    mark_steps(ax_metric, record.get("memorized_step"), record.get("generalized_step"))
    ax_metric.set(xscale="log", xlabel="step", ylabel=metric)

    loss_keys = [*declared(record, role="loss", split="train_eval"), *declared(record, role="loss", split="val")]
    losses = [curve_series(curve, key) for key in loss_keys]
    for (steps, values), key, color in zip(losses, loss_keys, ("tab:blue", "tab:red")):
        ax_loss.plot(steps, values, color=color, label=key)
    positive = any((values > 0).any() for _, values in losses)  # a diverged run may have none
    ax_loss.set(xscale="log", yscale="log" if positive else "linear", xlabel="step", ylabel="loss")

    for key in declared(record, role="weights"):
        ax_norm.plot(*curve_series(curve, key), color="tab:green", label=key)  # Omnigrok's variable
    mark_steps(ax_norm, record.get("memorized_step"), record.get("generalized_step"))
    ax_norm.set(xscale="log", xlabel="step", ylabel="weight norm (L2)")
    if measures:
        plot_measures(axes[3], curve, measures)
        mark_steps(axes[3], record.get("memorized_step"), record.get("generalized_step"))
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{record.get('recipe') or record['task']} · {record['model']} · {record['method']} · "
                 f"seed {record['seed']} — {record.get('verdict')}", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
