"""`grokbench board`: run records -> results/README.md, results/leaderboard.csv, figures.

Reads run records only. Records -> frame (frame.py), control levels and recomputed profiles
(reference.py), pairing by declared metadata (pairing.py), statistics (stats.py, summary.py),
tables and text (tables.py, render.py), figures (figures.py, phase.py), the critical data size
(critical_section.py); `grokbench compare` is compare.py. A sweep is one row per setting: the
overrides that vary within a recipe, or the keys of `--group-by` (settings.py); a recipe swept
over two numeric keys also gets a phase diagram, and one swept over the training fraction a
critical-data-size section.
The same records always give byte-identical files: no timestamps, sorted groups, a seeded
bootstrap, PNGs without metadata. A board is built from one clean commit unless
`--allow-mixed` says otherwise.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

from grokbench.board.forecast_section import forecast_markdown, score_all
from grokbench.board.frame import load_records, runs_frame
from grokbench.board.provenance import check_provenance
from grokbench.board.reference import apply_control_references
from grokbench.board.render import (
    MARK_END,
    MARK_START,
    leaderboard_frame,
    leaderboard_markdown,
    universality_markdown,
    update_readme,
)
from grokbench.board.settings import parse_keys
from grokbench.board.ungrokking import started_afresh, ungrokking_markdown
from grokbench.errors import GrokbenchError, require

DEFAULT_RUNS = "results/records"
__all__ = ["MARK_END", "MARK_START", "board_command", "load_runs", "write_board"]


def load_runs(run_dirs: list[str | Path], group_by: list[str] | None = None,
              records: list | None = None) -> pd.DataFrame:
    """Every record under the directories (or `records`, read from them) as one frame, profiles
    measured against control levels; a configuration's setting from the overrides that vary in its
    recipe, or the `group_by` keys. Continued runs (init_from) are left out: the Ungrokking
    section reads them (ungrokking.py)."""
    records = load_records(run_dirs) if records is None else records
    return apply_control_references(runs_frame(started_afresh(records), group_by))


def write_board(run_dirs: list[str | Path], out: str | Path, readme: str | Path | None = None,
                allow_mixed: bool = False, group_by: list[str] | None = None,
                phase: list[str] | None = None) -> Path:
    """The board's files; `phase` (x, y): draw phase diagrams over these two keys."""
    from grokbench.board.critical_section import critical_markdown
    from grokbench.board.figures import domain_figures, method_figures  # matplotlib only when writing
    from grokbench.board.forecast_figure import forecast_figure
    from grokbench.board.hidden_figures import hidden_figures
    from grokbench.board.phase import phase_figures
    from grokbench.board.sensitivity_figure import sensitivity_figure

    records = load_records(run_dirs)
    runs = load_runs(run_dirs, group_by, records)
    check_provenance(runs, allow_mixed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs["path"] = [os.path.relpath(path, out) for path in runs["path"]]  # links that work from out/
    figures = {d: str(p.relative_to(out)) for d, p in domain_figures(runs, out / "figures").items()}
    method_plots = {d: str(p.relative_to(out)) for d, p in method_figures(runs, out / "figures").items()}
    phases = {d: [(label, str(p.relative_to(out)), moves) for label, p, moves in drawn]
              for d, drawn in phase_figures(runs, out / "figures", phase).items()}
    require(not phase or bool(phases), f"--phase {','.join(phase or [])}: no recipe's runs take two or more "
                                       "numeric values of both; allowed: two override keys swept together, "
                                       "e.g. --phase module.init_scale,optim.weight_decay")
    leaderboard_frame(runs).to_csv(out / "leaderboard.csv", index=False, float_format="%.6g", lineterminator="\n")
    drawn = sensitivity_figure(runs, out / "figures" / "sensitivity.png")
    hidden = {d: str(p.relative_to(out)) for d, p in hidden_figures(runs, out / "figures").items()}
    hists, scored = score_all(runs)
    forecast_png = forecast_figure(scored["recipe"], out / "figures" / "forecast.png")
    forecast = forecast_markdown(hists, scored, str(forecast_png.relative_to(out)) if forecast_png else None)
    (out / "README.md").write_text(leaderboard_markdown(runs, figures, allow_mixed, phases, method_plots,
                                                        str(drawn.relative_to(out)) if drawn else None, hidden,
                                                        forecast, critical_markdown(runs, out))
                                   + ungrokking_markdown(records))
    if readme:
        update_readme(Path(readme), universality_markdown(runs, allow_mixed))
    return out / "README.md"


def board_command(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grokbench board", description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="*", default=[DEFAULT_RUNS],
                        help=f"directories searched for record.json (default {DEFAULT_RUNS})")
    parser.add_argument("--out", default="results", help="output directory (default results)")
    parser.add_argument("--readme", help="also replace the universality table between markers in this file")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="accept records from several commits or a dirty tree (the provenance line says so)")
    parser.add_argument("--group-by", metavar="KEY[,KEY]",
                        help="one row per value of these override keys (default: the keys that vary "
                             "within each recipe), e.g. optim.weight_decay")
    parser.add_argument("--phase", metavar="X,Y",
                        help="phase diagrams over these two swept keys (default: every recipe swept "
                             "over exactly two numeric keys), e.g. module.init_scale,optim.weight_decay")
    options = parser.parse_args(args)
    for directory in options.run_dirs:
        if not Path(directory).exists():
            raise GrokbenchError(f"run directory {directory} does not exist; allowed: existing directories")
    group_by = parse_keys(options.group_by, "--group-by")
    phase = parse_keys(options.phase, "--phase", count=2)
    path = write_board(options.run_dirs, options.out, options.readme, options.allow_mixed, group_by, phase)
    print(f"wrote {path}, {Path(options.out) / 'leaderboard.csv'} and {Path(options.out) / 'figures'}/")
    return 0
