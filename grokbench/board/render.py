"""The board's files as text: results/README.md, the README block, the leaderboard CSV."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from grokbench.board.forecast_section import forecast_markdown, score_all
from grokbench.board.formatting import markdown
from grokbench.board.hidden_progress import HIDDEN_NOTE, hidden_rows
from grokbench.board.pairing import baseline_runs, configurations, control_runs
from grokbench.board.provenance import provenance
from grokbench.board.summary import summarize
from grokbench.board.tables import (
    domain_rows,
    domains,
    failure_rows,
    method_grid,
    method_pairs,
    method_rows,
    sensitivity_rows,
    swept_domains,
    universality_rows,
)
from grokbench.errors import require
from grokbench.profile import NEIGHBOURHOOD, PROFILE_VERSION, SCHEDULES, ProfileSettings
from grokbench.profile.levels import TOP_TRAIN_LEVEL

MARK_START, MARK_END = "<!-- universality:start -->", "<!-- universality:end -->"
_DEFAULTS = ProfileSettings()
NEIGHBOURHOOD_TEXT = "; ".join(f"{name} {', '.join(f'{v:g}' for v in values)}" for name, values in NEIGHBOURHOOD.items()) + \
    f" (for R², {TOP_TRAIN_LEVEL['r2']:g} in place of 1)"
# five lines generated here (defaults from the code) because results/ is never edited by hand
PROFILE_TEXT = f"""\
Held-out progress G = (held-out metric − chance) / (reference − chance): 0 at chance, 1 at the reference (1.0 for exact tasks, else the median final held-out value of the declared control's runs). Every profile on this board is recomputed from its run's curve with the levels below (profile v{PROFILE_VERSION}).
The chance band is chance ± {_DEFAULTS.band_sigmas:g} standard errors of the held-out metric at chance on the run's n held-out examples (accuracy: √(c(1−c)/n); R²: √(2/n)); G at memorization lies inside, above or below it.
t_mem is the step at which the training set is fit (train progress ≥ {_DEFAULTS.memorize_level}, brief spikes tolerated). The plateau is flatness: from t_mem to the last evaluation before G leaves the band for good, in decades; the delay is log10(t_leave / t_mem), censored where G never leaves the band.
A run groks when G at memorization is inside the band, the plateau lasts at least {_DEFAULTS.min_plateau_decades} decades, and G then holds ≥ 0.9 ({_DEFAULTS.sustain} evaluations in a row, to the end); steps to G=0.5 and 0.9 are separate columns.
A run that ends before reaching G=0.9 is censored at its last step: medians of steps to G=0.9 and of the delay are Kaplan–Meier medians, `—` when fewer than half the runs got there."""
NOTES = ("Steps are optimizer steps. Grok rate k/n counts every run, failed and diverged ones included. "
         "Per-run quantities show the median, the range [min, max] and the number of runs that have them. "
         "Speed is never pooled across hardware or torch thread counts.")
UNIVERSALITY_NOTE = ("One row per domain: its main recipe (one with a declared control that has runs first, then "
                     "an unswept one, then the most runs), its declared control (`meta.control`), the grok rate "
                     "on seeds 0–4 (on which the presets were chosen) and 5–9 (confirmation seeds, never looked at "
                     "before they ran) apart, whether the majority verdict is robust (see Sensitivity), where G "
                     "lay against the chance band at memorization, the flat plateau, the delay (Kaplan–Meier "
                     "median of log10(t_leave / t_mem), runs whose G never left the band censored), and a preset "
                     "sanity check: the control generalizes in most runs, the chance band is narrow enough to "
                     "tell G = 0.5 from chance, the main recipe memorizes in most runs, and the reference level "
                     "is reachable. A domain whose main runs are all settings of one sweep gets no row: no "
                     "setting speaks for the recipe.")
SENSITIVITY_NOTE = (
    "Every run of each universality row, re-scored from its curve at every point of the declared "
    f"neighbourhood of the profile's levels ({NEIGHBOURHOOD_TEXT}) and on the evaluation schedule thinned "
    "to every other point (both phases): {points} points. A row is robust when its majority verdict at the "
    "declared levels is still the verdict of more than half its runs at every point; otherwise the points "
    "where it changes are listed (one level or the schedule moved alone, then the points that move several "
    "at once).")
METHODS_NOTE = ("Each method configuration is paired with the runs of its declared baseline (`meta.baseline`, "
                "else the same recipe with method `baseline`). Every cell counts both arms alike: runs that held "
                "G ≥ 0.9 to the end, and runs that reached it and fell back (`ungrokked`), which count as not "
                "reaching it (censored at their last step). Speedup = the baseline's Kaplan–Meier median "
                "steps to G=0.9 over the method's, only where the baseline is delayed (G at memorization inside "
                "the chance band in most of its memorized runs); otherwise the cell reads \"no delay to shorten\" "
                "with both arms' final G. Where the method's median is its first evaluation the speedup is a "
                "bound (`≥ 41x`, no interval): the time lies anywhere before it. Where under half of one arm's "
                "runs reached G=0.9 its median lies beyond its last step, and the speedup is a bound (`> 5x`, "
                "`< 0.5x`) against that step. A 95% bootstrap interval only with at least 5 runs per arm; its "
                "upper end is open where some of the method's runs reached G=0.9 at their first evaluation. "
                "Wall-clock (each run's steps over its own steps per second, so a method's cost per step counts) "
                "only between arms run side by side: one commit, one hardware and thread count, and overlapping "
                "run windows (first start to last finish of each arm, from the records); otherwise steps only. "
                "A method that removes the delay is a speedup, not a failure. "
                "`broke`: more of the method's runs failed, diverged or were unfit than the baseline's.")


def universality_markdown(runs: pd.DataFrame, allow_mixed: bool) -> str:
    swept = swept_domains(runs)
    note = [f"No row where only a sweep ran (see the per-domain table and phase diagram): {'; '.join(swept)}."] if swept else []
    rows = universality_rows(runs)
    table = [markdown(rows)] if rows or not swept else []  # "_no runs_" would be wrong beside the note
    return "\n\n".join([UNIVERSALITY_NOTE, *table, *note, provenance(runs, allow_mixed)])


def sensitivity_markdown(runs: pd.DataFrame, figure: str | None) -> str:
    points = len(SCHEDULES) * int(np.prod([len(v) for v in NEIGHBOURHOOD.values()]))
    rows = sensitivity_rows(runs)
    if not rows:
        return "No universality row to re-score."
    parts = [SENSITIVITY_NOTE.format(points=points), markdown(rows)]
    if figure:
        parts.append(f"![grok rate at every point of the neighbourhood]({figure})")
    return "\n\n".join(parts)


def hidden_markdown(runs: pd.DataFrame, figures: dict[str, str] | None) -> str:
    rows = hidden_rows(runs)
    if not rows:
        return "No universality row's main recipe logged a declared measure."
    parts = [HIDDEN_NOTE, markdown(rows)]
    parts += [f"![{domain}: measures aligned at memorization and at G = 0.9]({path})"
              for domain, path in (figures or {}).items()]
    return "\n\n".join(parts)


def leaderboard_markdown(runs: pd.DataFrame, figures: dict[str, str], allow_mixed: bool,
                         phases: dict[str, list[tuple[str, str, str]]] | None = None,
                         method_figures: dict[str, str] | None = None, sensitivity_figure: str | None = None,
                         hidden_figures: dict[str, str] | None = None, forecast: str | None = None,
                         critical: str | None = None) -> str:
    """The board's README; `phases`: domain -> (label, path, where cells' phases move) of its
    phase diagrams (phase.py);
    `method_figures`: domain -> path of its figure of methods against their baselines;
    `hidden_figures`: domain -> path of its measures figure (hidden_figures.py); `forecast`: the
    forecast section (grokbench/forecast/report.py), computed here without its figure when None;
    `critical`: the critical-data-size section (critical_section.py), none without one."""
    n_bad = int(runs["status"].isin(["failed", "diverged"]).sum())
    parts = ["# grokbench leaderboard", "",
             (f"_Generated by `grokbench board` from {len(runs)} run records ({n_bad} failed or diverged, "
              "all counted below); do not edit by hand._"), "", NOTES, "",
             "## The grokking profile", "", PROFILE_TEXT, "",
             "## Universality", "", universality_markdown(runs, allow_mixed), "",
             "## Sensitivity of the verdicts", "", sensitivity_markdown(runs, sensitivity_figure), "",
             "## Hidden progress", "", hidden_markdown(runs, hidden_figures), "",
             "## Forecast", "", forecast if forecast is not None else forecast_markdown(*score_all(runs), None), "",
             "## Per domain", ""]
    for domain in domains(runs):
        group = runs[runs["domain"] == domain]
        parts += [f"### {domain}", "", markdown(domain_rows(runs, domain)), "", provenance(group, allow_mixed), ""]
        if domain in figures:
            parts += [f"![{domain}: held-out progress]({figures[domain]})", ""]
        for label, path, moves in (phases or {}).get(domain, []):
            parts += [f"![{label}: phase diagram]({path})", "", moves, ""]
    if critical:
        parts += ["## Critical data size and semi-grokking", "", critical, ""]
    pairs = method_pairs(runs)
    if pairs:
        methods = runs[runs["role"] == "method"]
        parts += ["## Methods", "", METHODS_NOTE, "", "### Method × task", "", markdown(method_grid(pairs)), "",
                  "### Every method configuration against its baseline", "", markdown(method_rows(pairs)), "",
                  provenance(methods, allow_mixed), ""]
        parts += [line for domain, path in (method_figures or {}).items()
                  for line in (f"![{domain}: held-out progress per method]({path})", "")]
    parts += ["## Failed and diverged runs", "", markdown(failure_rows(runs)) if n_bad else "None.", ""]
    return "\n".join(parts)


def _median(spread):
    return spread.median if spread else None


def leaderboard_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration; speed columns only where its runs share hardware and threads."""
    rows = []
    roles = {"main": 0, "control": 1, "method": 2}
    domain_order = list(dict.fromkeys(runs["domain"]))
    ordered = sorted(enumerate(configurations(runs)), key=lambda icg: (  # domain, role, then board order
        domain_order.index(icg[1][1]["domain"].iloc[0]), roles.get(str(icg[1][1]["role"].iloc[0]), 3), icg[0]))
    for _, (config, group) in ordered:
        s, role = summarize(group), str(group["role"].iloc[0])
        paired = baseline_runs(runs, group)[0] if role == "method" else control_runs(runs, group)[0]
        speed = next(iter(s.speeds.values())) if len(s.speeds) == 1 else {}
        rows.append({
            "domain": str(group["domain"].iloc[0]), **config, "role": role, "paired_recipe": paired,
            "seeds": ";".join(map(str, s.seeds)), "runs": s.runs, "step_budget": s.step_budget,
            "parameters": s.parameters, "records": s.records, "completed": s.completed,
            "failed": s.failed, "diverged": s.diverged,
            "verdicts": ";".join(f"{k}={v}" for k, v in sorted(s.outcomes.items())),
            "grokked": s.grokked, "reached_g90": s.reached,
            "km_median_generalized_step": s.generalize_step,
            "memorized_step_median": _median(s.memorize_step),
            "progress_at_memorization_median": _median(s.progress_at_memorization),
            "plateau_decades_median": _median(s.plateau), "transition_decades_median": _median(s.transition),
            "val_metric": s.val_metric, "final_val_median": _median(s.final_val),
            "reference_median": _median(s.reference), "reference_source": s.reference_source,
            "reference_note": s.reference_note, "speed_group": " | ".join(s.speeds),
            "wall_seconds_median": _median(speed.get("wall_seconds")),
            "steps_per_second_median": _median(speed.get("steps_per_second"))})
    return pd.DataFrame(rows)


def update_readme(readme: Path, block: str) -> None:
    """Replace the text between the universality markers; nothing else in the file changes."""
    text = readme.read_text()
    pattern = re.compile(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), re.DOTALL)
    require(bool(pattern.search(text)),
            f"{readme} has no {MARK_START} ... {MARK_END} markers; allowed: a README with both")
    readme.write_text(pattern.sub(lambda _: f"{MARK_START}\n{block}\n{MARK_END}", text, count=1))
