"""`grokbench board`: run records -> results/README.md, results/leaderboard.csv, figures.

Reads run records only. Records -> frame (frame.py), control levels and recomputed profiles
(reference.py), pairing by declared metadata (pairing.py), statistics (stats.py, summary.py),
tables and text (tables.py, render.py), figures (figures.py); `grokbench compare` is compare.py.
The same records always give byte-identical files: no timestamps, sorted groups, a seeded
bootstrap, PNGs without metadata. A board is built from one clean commit unless
`--allow-mixed` says otherwise.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

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
from grokbench.errors import GrokbenchError

DEFAULT_RUNS = "results/records"
__all__ = ["MARK_END", "MARK_START", "board_command", "load_runs", "write_board"]


def load_runs(run_dirs: list[str | Path]) -> pd.DataFrame:
    """Every record under the directories as one frame, profiles measured against control levels."""
    return apply_control_references(runs_frame(load_records(run_dirs)))


def write_board(run_dirs: list[str | Path], out: str | Path, readme: str | Path | None = None,
                allow_mixed: bool = False) -> Path:
    from grokbench.board.figures import domain_figures  # matplotlib only when writing

    runs = load_runs(run_dirs)
    check_provenance(runs, allow_mixed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs["path"] = [os.path.relpath(path, out) for path in runs["path"]]  # links that work from out/
    figures = {d: str(p.relative_to(out)) for d, p in domain_figures(runs, out / "figures").items()}
    leaderboard_frame(runs).to_csv(out / "leaderboard.csv", index=False, float_format="%.6g", lineterminator="\n")
    (out / "README.md").write_text(leaderboard_markdown(runs, figures, allow_mixed))
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
    options = parser.parse_args(args)
    for directory in options.run_dirs:
        if not Path(directory).exists():
            raise GrokbenchError(f"run directory {directory} does not exist; allowed: existing directories")
    path = write_board(options.run_dirs, options.out, options.readme, options.allow_mixed)
    print(f"wrote {path}, {Path(options.out) / 'leaderboard.csv'} and {Path(options.out) / 'figures'}/")
    return 0
