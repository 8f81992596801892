"""`grokbench board`: run records -> results/README.md, results/leaderboard.csv, figures.

Reads run records only (`record.find_records`/`read_record`). The same records always give
byte-identical files: no timestamps, sorted groups, seeded bootstrap, PNGs without metadata.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pandas as pd

from grokbench import tables as t
from grokbench.errors import GrokbenchError, require
from grokbench.record import find_records, read_record

DEFAULT_RUNS = "results/records"
MARK_START, MARK_END = "<!-- universality:start -->", "<!-- universality:end -->"
MATCHING_RULE = (
    "A method's matched baseline: runs with the same task and model, method `baseline`, not a "
    "`_control`, and the first recipe of: (1) the method's own recipe (`experiment=X method=M`), "
    "(2) that recipe without a trailing `_<method>` (`default_grokfast_ema` -> `default`), (3) a recipe "
    "of the same paper prefix, the text before the last `_` (`grokfast2024_ema` -> "
    "`grokfast2024_baseline`; the one with the most runs, ties by name). Speedup = median steps to "
    "generalize of the baseline / of the method, over the seeds that generalized; the 95% CI "
    "resamples the seeds of both.")
NOTES = ("Steps are optimizer steps; medians are over the seeds that reached the step; the delay ratio "
         "is generalize step / memorize step with a bootstrap 95% CI across seeds; ↑/↓ mark the better "
         "direction; `runs` counts every record, failed and diverged ones included.")
UNIVERSALITY_NOTE = ("One row per domain: its baseline recipe with the most runs (controls and methods "
                     "excluded; ties go to the first name); `control grokked` is that recipe's `_control`.")


def load_runs(run_dirs: list[str | Path]) -> pd.DataFrame:
    paths = find_records(*run_dirs)
    require(bool(paths), f"no run records (record.json) under {', '.join(map(str, run_dirs))}; "
                         "allowed: directories holding run directories")
    return t.runs_frame([read_record(p) for p in paths])


def is_main(config: dict[str, Any]) -> bool:
    return config["method"] == t.BASELINE and not config["recipe"].endswith(t.CONTROL_SUFFIX)


def universality_rows(summaries) -> list[dict[str, str]]:
    """One row per domain: its baseline, non-control recipe with the most runs (ties: name order)."""
    by_task: dict[str, list] = {}
    for config, summary in summaries:
        by_task.setdefault(config["task"], []).append((config, summary))
    rows = []
    for task, configs in by_task.items():
        main = [c for c in configs if is_main(c[0])]
        if not main:
            continue
        config, summary = max(main, key=lambda c: c[1]["runs"])  # max keeps the first of ties
        control = [s for c, s in configs if c["recipe"] == config["recipe"] + t.CONTROL_SUFFIX
                   and c["model"] == config["model"] and c["method"] == t.BASELINE]
        rows.append({"domain": task, "recipe": config["recipe"], "model": config["model"],
                     **t.summary_columns(summary),
                     "control grokked": (f"{control[0]['grokked']}/{control[0]['runs']}"
                                         if control else "—")})
    return rows


def per_task_rows(summaries, task: str) -> list[dict[str, str]]:
    return [{"version": c["task_version"], "recipe": c["recipe"], "model": c["model"],
             "method": c["method"], **t.summary_columns(s)}
            for c, s in summaries if c["task"] == task]


def matched_baseline(runs: pd.DataFrame, config: dict[str, Any]) -> tuple[str, pd.DataFrame]:
    """(baseline recipe, its runs) for a method's configuration, by MATCHING_RULE."""
    recipe, method = config["recipe"], config["method"]
    base = runs[(runs["task"] == config["task"]) & (runs["model"] == config["model"])
                & (runs["method"] == t.BASELINE) & ~runs["recipe"].str.endswith(t.CONTROL_SUFFIX)]
    for name in (recipe, recipe.removesuffix(f"_{method}")):
        if (base["recipe"] == name).any():
            return name, base[base["recipe"] == name]
    prefix = recipe.rsplit("_", 1)[0] + "_"
    same_paper = base[base["recipe"].str.startswith(prefix)]
    if not len(same_paper):
        return "—", same_paper
    counts = same_paper["recipe"].value_counts()
    name = min(counts.index, key=lambda r: (-counts[r], r))
    return name, same_paper[same_paper["recipe"] == name]


def broken_runs(summary: dict[str, Any]) -> int:
    return summary["failed"] + summary["diverged"] + summary["verdicts"].get("unfit", 0)


def method_rows(runs: pd.DataFrame) -> list[dict[str, str]]:
    """Every non-baseline method against its matched baseline (see MATCHING_RULE)."""
    rows = []
    for keys, group in runs[runs["method"] != t.BASELINE].groupby(t.CONFIG_KEYS, sort=False):
        config = dict(zip(t.CONFIG_KEYS, keys))
        family, base = matched_baseline(runs, config)
        s, b = t.summarize(group), t.summarize(base) if len(base) else None
        broken, base_broken = broken_runs(s), broken_runs(b) if b else 0
        generalized = int(group["generalized_step"].notna().sum())
        speedup = ci = None
        if b and b["generalize_step"] and s["generalize_step"]:
            speedup = b["generalize_step"] / s["generalize_step"]
            ci = t.speedup_ci(base["generalized_step"], group["generalized_step"])
        notes = []
        if broken and (not b or broken / s["runs"] > base_broken / b["runs"]):
            notes.append(f"broke training in {broken}/{s['runs']} (failed, diverged or unfit; "
                         f"baseline {base_broken}/{b['runs'] if b else 0})")
        if b is None:
            notes.append("no matched baseline")
        elif b["generalize_step"] is None:
            notes.append("baseline never generalized: no speedup to measure")
        rows.append({"domain": config["task"], "recipe": config["recipe"], "baseline recipe": family,
                     "model": config["model"],
                     "method": config["method"], "grokked": f"{s['grokked']}/{s['runs']}",
                     "generalized": f"{generalized}/{s['runs']}",
                     "generalize step ↓": t.fmt_steps(s["generalize_step"]),
                     "baseline generalize step": t.fmt_steps(b["generalize_step"]) if b else "—",
                     "baseline grokked": f"{b['grokked']}/{b['runs']}" if b else "—",
                     "speedup ↑ [95% CI]": t.fmt_ratio(speedup, ci), "note": "; ".join(notes) or "—"})
    return rows


GRID_NOTE = ("Each cell: how many of the method's runs grokked and generalized, then its speedup in steps "
             "to generalize over the matched baseline [95% CI]; `no speedup` when the method or its "
             "baseline never generalized; `broke k/n` when more of the method's runs failed, diverged or "
             "were unfit than the baseline's. Details in the table below.")


def method_grid(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Method x task at a glance: a row per method, a column per domain and baseline recipe."""
    cells: dict[str, dict[str, list[str]]] = {}
    for r in rows:
        value, _, ci = r["speedup ↑ [95% CI]"].partition(" ")
        cell = (f"grokked {r['grokked']}, generalized {r['generalized']}, "
                + (f"{value}x {ci}".strip() if value != "—" else "no speedup"))
        broke = re.match(r"broke training in (\d+/\d+)", r["note"])
        if broke:
            cell += f", broke {broke.group(1)}"
        column = f"{r['domain']} · {r['baseline recipe']}"
        cells.setdefault(r["method"], {}).setdefault(column, []).append(cell)
    columns = sorted({c for by_column in cells.values() for c in by_column})
    return [{"method": m, **{c: "; ".join(cells[m].get(c, ["not run"])) for c in columns}}
            for m in sorted(cells)]


def error_line(error, status: str) -> str:
    if isinstance(error, str) and error:
        return error.splitlines()[0][:160]
    return "non-finite loss" if status == "diverged" else "—"


def failure_rows(runs: pd.DataFrame) -> list[dict[str, str]]:
    bad = runs[runs["status"].isin(["failed", "diverged"])]
    return [{"task": r.task, "recipe": r.recipe, "model": r.model, "method": r.method, "seed": str(r.seed),
             "status": r.status, "error": error_line(r.error, r.status)}
            for r in bad.itertuples()]


def _counted(values) -> str:
    counts = pd.Series(list(values)).value_counts()
    return ", ".join(f"{k} ({v} run{'s' if v != 1 else ''})" for k, v in sorted(counts.items()))


def provenance(runs: pd.DataFrame) -> str:
    """Commits, dates, library versions and hardware of the runs behind a table."""
    dates = sorted(runs["date"])
    libraries = sorted({(k, str(v)) for versions in runs["versions"] for k, v in versions.items()})
    hardware = [f"{h.get('accelerator', '?')}, {h.get('cpu_count', '?')} CPUs ({h.get('machine', '?')}),"
                f" torch threads {h.get('torch_threads', '?')}" for h in runs["hardware"]]
    commits = (c[:12] + ("-dirty" if c.endswith("-dirty") else "") for c in runs["git_commit"])
    return (f"<sub>Provenance — commits: {_counted(commits)}; dates: {dates[0]} to {dates[-1]}; "
            f"libraries: {', '.join(f'{k} {v}' for k, v in libraries)}; hardware: {_counted(hardware)}.</sub>")


def leaderboard_frame(summaries) -> pd.DataFrame:
    rows = []
    for config, s in summaries:
        ci = s["delay_ratio_ci"] or (None, None)
        rows.append({**config, "seeds": ";".join(map(str, s["seeds"])),
                     **{k: s[k] for k in ("runs", "completed", "failed", "diverged", "grokked",
                                          "memorize_step", "generalize_step", "delay_ratio")},
                     "delay_ratio_ci_low": ci[0], "delay_ratio_ci_high": ci[1],
                     **{k: s[k] for k in ("val_metric", "final_val", "wall_seconds", "steps_per_second")}})
    return pd.DataFrame(rows)


def universality_markdown(runs: pd.DataFrame, summaries) -> str:
    main = runs[runs["method"] == t.BASELINE]
    return "\n\n".join([t.markdown(universality_rows(summaries)), provenance(main if len(main) else runs)])


def leaderboard_markdown(runs: pd.DataFrame, summaries, figures: dict[str, str]) -> str:
    n_bad = int(runs["status"].isin(["failed", "diverged"]).sum())
    parts = ["# grokbench leaderboard", "",
             (f"_Generated by `grokbench board` from {len(runs)} run records ({n_bad} failed or diverged, "
              "all counted below); do not edit by hand._"), "", NOTES, "",
             "## Universality", "", UNIVERSALITY_NOTE, "",
             universality_markdown(runs, summaries), "", "## Per task", ""]
    for task, group in runs.groupby("task", sort=False):
        parts += [f"### {task}", "", t.markdown(per_task_rows(summaries, task)), "", provenance(group), ""]
        if task in figures:
            parts += [f"![{task} curves]({figures[task]})", ""]
    methods = method_rows(runs)
    if methods:
        parts += ["## Methods", "", "### Method × task", "", GRID_NOTE, "", t.markdown(method_grid(methods)), "",
                  "### Every method run against its matched baseline", "", MATCHING_RULE, "", t.markdown(methods), "",
                  provenance(runs[runs["method"] != t.BASELINE]), ""]
    parts += ["## Failed and diverged runs", "", t.markdown(failure_rows(runs)) if n_bad else "None.", ""]
    return "\n".join(parts)


def update_readme(readme: Path, table: str) -> None:
    text = readme.read_text()
    pattern = re.compile(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), re.DOTALL)
    require(bool(pattern.search(text)),
            f"{readme} has no {MARK_START} ... {MARK_END} markers; allowed: a README with both")
    block = f"{MARK_START}\n{table}\n{MARK_END}"
    readme.write_text(pattern.sub(lambda _: block, text, count=1))


def write_board(run_dirs: list[str | Path], out: str | Path, readme: str | Path | None = None) -> Path:
    from grokbench.figures import task_figures  # matplotlib only when writing

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = load_runs(run_dirs)
    summaries = t.config_summaries(runs)
    figures = task_figures(runs, out / "figures")
    relative = {task: str(path.relative_to(out)) for task, path in figures.items()}
    leaderboard_frame(summaries).to_csv(out / "leaderboard.csv", index=False, float_format="%.6g",
                                        lineterminator="\n")
    (out / "README.md").write_text(leaderboard_markdown(runs, summaries, relative))
    if readme:
        update_readme(Path(readme), universality_markdown(runs, summaries))
    return out / "README.md"


def board_command(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grokbench board", description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="*", default=[DEFAULT_RUNS],
                        help=f"directories searched for record.json (default {DEFAULT_RUNS})")
    parser.add_argument("--out", default="results", help="output directory (default results)")
    parser.add_argument("--readme", help="also replace the universality table between markers in this file")
    options = parser.parse_args(args)
    for directory in options.run_dirs:
        if not Path(directory).exists():
            raise GrokbenchError(f"run directory {directory} does not exist; allowed: existing directories")
    path = write_board(options.run_dirs, options.out, options.readme)
    print(f"wrote {path}, {Path(options.out) / 'leaderboard.csv'} and {Path(options.out) / 'figures'}/")
    return 0
