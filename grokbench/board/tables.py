"""The rows of the board's tables, built from the runs frame and the declared pairings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from grokbench.board.formatting import (
    MISSING,
    fmt_float,
    fmt_outcomes,
    fmt_rate,
    fmt_speeds,
    fmt_spread,
    fmt_steps,
)
from grokbench.board.frame import BASELINE
from grokbench.board.method_cells import Arm, arm, cell_text, counts, side_by_side, superseded
from grokbench.board.pairing import baseline_arm, baseline_runs, configurations, control_runs
from grokbench.board.reference import SET_AT_RUN_TIME, control_label
from grokbench.board.sensitivity import describe_flips, group_robustness
from grokbench.board.stats import GENERALIZED_VERDICTS, majority, speedup_interval
from grokbench.board.summary import Summary, summarize
from grokbench.catalog import board_rank
from grokbench.profile import BAND_STATES
from grokbench.profile.sensitivity import Robustness

OK, BAD = "✓", "✗"
# A chance band this wide (in G) holds G = 0.5: the held-out set cannot tell half-way progress
# from chance, so no verdict of the row is evidence either way.
TOO_WIDE_BAND = 0.5


def domains(runs: pd.DataFrame) -> list[str]:
    """Domains in board order: the catalog's first, then the others by name."""
    return sorted(set(runs["domain"]), key=lambda d: (board_rank(d), d))


def with_setting(name: str, setting: str) -> str:
    """A recipe with the swept setting of its configuration, e.g. `quick_mnist (optim.weight_decay=1)`."""
    return f"{name} ({setting})" if setting else name


def setting_column(swept: bool, setting: str) -> dict[str, str]:
    """The `setting` column, only in tables that show a sweep (boards without one keep their columns)."""
    return {"setting": setting or MISSING} if swept else {}


def fmt_final(s: Summary) -> str:
    return f"{s.val_metric} {fmt_spread(s.final_val, digits=4)}" if s.final_val else MISSING


def fmt_reference(s: Summary) -> str:
    """The level G is measured against: set from the control (the note says which), or at run time."""
    if s.reference_note:
        return s.reference_note
    level = fmt_float(s.reference.median, 4) if s.reference else MISSING
    return f"{level} ({s.reference_source})" if s.reference_source else level


# --- universality ----------------------------------------------------------------------------
def sanity(main: Summary, control: str | None, control_summary: Summary | None) -> str:
    """Does the preset test what it claims: a control that generalizes, a chance band narrow
    enough to tell progress from chance, a main recipe that memorizes, a reference the control
    reaches."""
    if control is None:
        checks = [f"control {BAD} (none declared)"]
    elif control_summary is None:
        checks = [f"control {BAD} (no runs of {control})"]
    else:
        done = sum(control_summary.outcomes.get(v, 0) for v in GENERALIZED_VERDICTS)
        ok = majority(done, control_summary.runs)
        checks = [f"control {OK}" if ok else f"control {BAD} ({done}/{control_summary.runs} generalized)"]
    band = main.band
    if band is not None and band.high >= TOO_WIDE_BAND:
        checks.append(f"band {BAD} (±{band.high:.2f} of the range: G=0.5 is inside it; too few held-out examples)")
    memorized = main.memorized
    checks.append(f"memorizes {OK}" if majority(memorized, main.runs)
                  else f"memorizes {BAD} ({memorized}/{main.runs})")
    note, source = main.reference_note or "", main.reference_source
    if main.reference_unreachable:
        checks.append(f"reference {BAD} (control at chance)")
    elif note or source in SET_AT_RUN_TIME:
        checks.append(f"reference {OK}")
    else:
        checks.append(f"reference {BAD} (no control level)")
    return " · ".join(checks)


def pick_main(runs: pd.DataFrame, domain: str) -> tuple[dict, pd.DataFrame] | None:
    """A domain's main configuration: one with a declared control that has runs first, then an
    unswept one, then the most runs, then the recipe name. None when there is none, or when the
    only candidates are settings of a sweep: no setting speaks for the recipe (swept_only)."""
    candidates = [(c, g) for c, g in configurations(runs[runs["domain"] == domain], "main")]
    if not candidates or swept_only(candidates):
        return None
    return min(candidates, key=lambda cg: (len(control_runs(runs, cg[1])[1]) == 0, cg[0]["setting"] != "",
                                           -len(cg[1]), cg[0]["recipe"], cg[0]["model"], cg[0]["task_version"]))


def swept_only(candidates: list[tuple[dict, pd.DataFrame]]) -> bool:
    return len(candidates) > 1 and all(config["setting"] for config, _ in candidates)


def swept_domains(runs: pd.DataFrame) -> list[str]:
    """'domain: recipe (N settings)' for each domain whose main runs are all settings of a sweep."""
    notes = []
    for domain in domains(runs):
        candidates = configurations(runs[runs["domain"] == domain], "main")
        if swept_only(candidates):
            recipes = sorted({config["recipe"] for config, _ in candidates})
            notes.append(f"{domain}: {', '.join(recipes)} ({len(candidates)} settings)")
    return notes


def fmt_band_states(s: Summary) -> str:
    """Where G lay at memorization, e.g. `inside 4, above 1` (memorized runs only)."""
    states = s.band_states
    return ", ".join(f"{k} {states[k]}" for k in BAND_STATES if states.get(k)) or MISSING


def fmt_delay(s: Summary) -> str:
    """KM median delay in decades, or a bound where under half the runs left the band."""
    if s.delay is not None:
        return fmt_float(s.delay, 2)
    return f"> {fmt_float(s.delay_beyond, 2)} (censored)" if s.delay_beyond is not None else MISSING


def fmt_half(k: int, n: int) -> str:
    return fmt_rate(k, n) if n else "not run"


def fmt_robust(r: Robustness) -> str:
    verdict = r.majority or "no majority"
    return f"{OK} {verdict}" if r.robust else f"{BAD} {verdict} (flips: see sensitivity)"


def universality_groups(runs: pd.DataFrame):
    """(domain, main configuration, its runs, control name, the control's runs) per domain with
    a universality row."""
    for domain in domains(runs):
        picked = pick_main(runs, domain)
        if picked is not None:
            config, group = picked
            yield domain, config, group, *control_runs(runs, group)


def universality_rows(runs: pd.DataFrame) -> list[dict[str, str]]:
    rows = []
    for domain, config, group, control, controls in universality_groups(runs):
        s = summarize(group)
        c = summarize(controls) if len(controls) else None
        rows.append({
            "domain": domain, "recipe": with_setting(config["recipe"], config["setting"]), "model": config["model"],
            "control": control_label(control, controls) if control else MISSING,
            "grok rate, seeds 0–4": fmt_half(*s.grokked_chosen_on),
            "grok rate, seeds 5–9": fmt_half(*s.grokked_confirmation),
            "robust": fmt_robust(group_robustness(group)[0]),
            "G at memorization": fmt_spread(s.progress_at_memorization),
            "vs chance band": fmt_band_states(s),
            "flat plateau (decades)": fmt_spread(s.plateau),
            "delay (KM median, decades)": fmt_delay(s),
            "steps to G=0.9 (KM median)": fmt_steps(s.generalize_step),
            "control steps to G=0.9": fmt_steps(c.generalize_step) if c else MISSING,
            "final held-out": fmt_final(s), "control final held-out": fmt_final(c) if c else MISSING,
            "preset sanity": sanity(s, control, c)})
    return rows


def sensitivity_rows(runs: pd.DataFrame) -> list[dict[str, str]]:
    """Each universality recipe and its control: the majority verdict at the declared levels,
    the grok-rate range over the neighbourhood, and where the majority changes."""
    rows = []
    for domain, config, group, control, controls in universality_groups(runs):
        for name, members in ((with_setting(config["recipe"], config["setting"]), group),
                              (control_label(control, controls) if control else None, controls)):
            if name is None or not len(members):
                continue
            r, points = group_robustness(members)
            rows.append({"domain": domain, "recipe": name, "runs": str(r.runs),
                         "majority verdict (declared levels)": r.majority or "no majority",
                         "robust": OK if r.robust else BAD,
                         "grok rate over the neighbourhood": f"{r.grokked_low}–{r.grokked_high}/{r.runs}",
                         "majority changes at": describe_flips(r.flips, points)})
    return rows


# --- per domain ------------------------------------------------------------------------------
def paired_with(runs: pd.DataFrame, role: str, group: pd.DataFrame) -> str:
    if role == "method":
        return f"baseline {control_label(*baseline_runs(runs, group))}"
    control, controls = control_runs(runs, group)
    return f"control {control_label(control, controls)}" if control else MISSING


def domain_rows(runs: pd.DataFrame, domain: str) -> list[dict[str, str]]:
    """Every configuration of a domain (main, control and method), with its verdict counts."""
    rows, here = [], runs[runs["domain"] == domain]
    swept = bool((here["setting"] != "").any())
    for config, group in configurations(here):
        s, role = summarize(group), str(group["role"].iloc[0])
        rows.append({
            "recipe": config["recipe"], **setting_column(swept, config["setting"]),
            "model": config["model"], "method": config["method"], "role": role,
            "paired with": paired_with(runs, role, group), "seeds": ",".join(map(str, s.seeds)) or MISSING,
            "budget (steps)": fmt_steps(s.step_budget), "parameters": fmt_steps(s.parameters),
            "verdicts": fmt_outcomes(s.outcomes), "grok rate": fmt_rate(s.grokked, s.runs),
            "reached G=0.9": fmt_rate(s.reached, s.runs),
            "steps to G=0.9 (KM median)": fmt_steps(s.generalize_step),
            "memorized at": fmt_spread(s.memorize_step, steps=True),
            "G at memorization": fmt_spread(s.progress_at_memorization),
            "plateau (decades)": fmt_spread(s.plateau), "transition (decades)": fmt_spread(s.transition),
            "final held-out": fmt_final(s), "reference": fmt_reference(s), "speed": fmt_speeds(s.speeds),
            "records": f"[{Path(s.records).name}]({s.records})" if s.records else MISSING})
    return rows


# --- methods ---------------------------------------------------------------------------------
def method_pairs(runs: pd.DataFrame) -> list[dict[str, Any]]:
    """Every method configuration with its declared baseline's runs and the speedup between them
    (method_cells: both arms counted alike, ungrokked runs as not reaching G = 0.9)."""
    pairs, baseline_summaries = [], {}  # a baseline is summarized once, not once per method
    for config, group in configurations(runs, "method"):
        name, base = baseline_runs(runs, group)
        key = tuple(base.index)
        if key not in baseline_summaries:
            baseline_summaries[key] = (summarize(base), arm(base)) if len(base) else (None, None)
        s, (b, b_arm) = summarize(group), baseline_summaries[key]
        pairs.append({**config, "domain": str(group["domain"].iloc[0]), "baseline": name, "summary": s,
                      "not_applicable": not_applicable(group),
                      "method_settings": method_settings_text(group), "superseded": superseded(group),
                      "baseline_summary": b, "baseline_recipe_method": baseline_arm(group),
                      "arm": arm(group), "baseline_arm": b_arm,
                      "apart": side_by_side(group, base) if b else None,
                      "interval": speedup_interval(base, group, held=True) if b else None,
                      "interval_seconds": speedup_interval(base, group, seconds=True, held=True) if b else None})
    return pairs


def method_settings_text(group: pd.DataFrame) -> str:
    """The knobs the method ran with on this domain and whether they were tuned (from the records)."""
    texts = set()
    for settings in group["method_settings"]:
        if settings:
            knobs = {**{k: v for k, v in settings.get("knobs", {}).items() if k != "optim"},
                     **settings.get("knobs", {}).get("optim", {})}
            origin = "tuned" if settings.get("tuned") else "published"
            texts.add(f"{', '.join(f'{k} {v}' for k, v in knobs.items()) or 'no knobs'} ({origin})")
    return "; ".join(sorted(texts)) or MISSING


def broke(p: dict[str, Any]) -> bool:
    """More of the method's runs failed, diverged or were unfit than of its baseline's."""
    s, b = p["summary"], p["baseline_summary"]
    return s.broken > 0 and (b is None or s.broken / s.runs > b.broken / b.runs)


def speedup_text(p: dict[str, Any], seconds: bool = False) -> str:
    """The pair's speedup cell in steps or wall-clock seconds (method_cells.cell_text)."""
    return cell_text(p["arm"], p["baseline_arm"], p["baseline"], p["interval_seconds" if seconds else "interval"],
                     seconds, p["apart"])


def method_rows(pairs: list[dict[str, Any]]) -> list[dict[str, str]]:
    rows, swept = [], any(p["setting"] for p in pairs)
    for p in pairs:
        s, b = p["summary"], p["baseline_summary"]
        rows.append({
            "domain": p["domain"], "recipe": p["recipe"], **setting_column(swept, p["setting"]),
            "model": p["model"], "method": p["method"],
            "method settings": p["method_settings"] + (f"; to rerun: conf/method now picks {p['superseded']}"
                                                       if p["superseded"] else ""), "baseline": p["baseline"],
            "reached G=0.5": fmt_rate(s.reached_half, s.runs),
            "steps to G=0.5 (KM median)": fmt_steps(s.half_step),
            "baseline steps to G=0.5": fmt_steps(b.half_step) if b else MISSING,
            "held G=0.9, fell back": fmt_held(p["arm"]),
            "baseline held G=0.9, fell back": fmt_held(p["baseline_arm"]) if b else MISSING,
            "steps to G=0.9 (KM median)": fmt_steps(p["arm"].median),
            "baseline steps to G=0.9": fmt_steps(p["baseline_arm"].median) if b else MISSING,
            "grok rate": fmt_rate(s.grokked, s.runs),
            "baseline grok rate": fmt_rate(b.grokked, b.runs) if b else MISSING,
            "speedup ↑ (steps)": speedup_text(p),
            "speedup ↑ (wall-clock)": speedup_text(p, seconds=True),
            "steps/s, method vs baseline": f"{fmt_throughput(s)} vs {fmt_throughput(b) if b else MISSING}",
            "final held-out": fmt_final(s), "baseline final held-out": fmt_final(b) if b else MISSING,
            "broke": (f"{s.broken}/{s.runs} (baseline {b.broken if b else 0}/{b.runs if b else 0})"
                      if broke(p) else MISSING)})
    return rows


def fmt_held(a: Arm) -> str:
    return f"{fmt_rate(a.reached, a.runs)}, {fmt_rate(a.fell_back, a.runs)}"


def fmt_throughput(s: Summary) -> str:
    """Median steps per second, one figure per hardware and thread count (never pooled)."""
    return "; ".join(fmt_float(v["steps_per_second"] and v["steps_per_second"].median)
                     for v in s.speeds.values()) or MISSING


def method_grid(pairs: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Method x task at a glance: a row per method, a column per domain and baseline recipe; a
    method paired with another method of that recipe (StableMax with float64 softmax) says so."""
    cells: dict[str, dict[str, list[str]]] = {}
    for p in pairs:
        s = p["summary"]
        cell = f"{counts(p['arm'], p['baseline_arm'])}: {speedup_text(p)}"
        recipe, baseline_method = p["baseline_recipe_method"]
        if baseline_method != BASELINE:
            cell = f"vs {baseline_method}: {cell}"
        if p["setting"]:  # a swept method: one entry per setting in the same cell
            cell = f"{p['setting']}: {cell}"
        if broke(p):
            cell += f", broke {s.broken}/{s.runs}"
        if p["superseded"]:
            cell += f"; to rerun: conf/method now picks {p['superseded']}"
        cells.setdefault(p["method"], {}).setdefault((p["domain"], recipe), []).append(cell)
    columns = sorted({c for by_column in cells.values() for c in by_column})
    skips: dict[str, dict[str, str]] = {}
    for p in pairs:
        skips.setdefault(p["method"], {}).update(p["not_applicable"])
    rows = []
    for m in sorted(cells):
        row = {"method": m}
        for domain, recipe in columns:
            row[f"{domain} · {recipe}"] = "; ".join(cells[m].get((domain, recipe)) or [missing_cell(domain, skips[m])])
        rows.append(row)
    return rows


def missing_cell(domain: str, not_applicable: dict[str, str]) -> str:
    """An empty cell: the method's declared reason where it does not apply to the domain (as its
    records carry it), else not run."""
    reason = not_applicable.get(domain)
    return f"n/a: {reason}" if reason else "not run"


def not_applicable(group: pd.DataFrame) -> dict[str, str]:
    """Domain -> why the method does not apply there, from its runs' records."""
    found: dict[str, str] = {}
    for settings in group["method_settings"]:
        found.update((settings or {}).get("not_applicable") or {})
    return found


# --- failures --------------------------------------------------------------------------------
def error_line(error: Any, status: str) -> str:
    if isinstance(error, str) and error:
        return error.splitlines()[0][:160]
    return "non-finite loss" if status == "diverged" else MISSING


def failure_rows(runs: pd.DataFrame) -> list[dict[str, str]]:
    bad = runs[runs["status"].isin(["failed", "diverged"])]
    return [{"domain": r["domain"], "recipe": r["recipe"], "model": r["model"], "method": r["method"],
             "seed": str(r["seed"]), "status": r["status"], "error": error_line(r["error"], r["status"])}
            for _, r in bad.iterrows()]
