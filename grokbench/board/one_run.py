"""`grokbench profile RUN_DIR [--records DIR ...]`: one run's final profile, as the board gives it.

The run's profile is recomputed from its curve by the board's one code path, against its
control's level where its task is not exact (the control's runs are looked up under
`--records`, by default beside the run's own recipe folder), with the run-time verdict beside
it and why the two differ; then how the verdict moves over the declared neighbourhood.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from grokbench.board.frame import load_records, present, runs_frame
from grokbench.board.reference import apply_control_references
from grokbench.board.sensitivity import coordinates, run_verdicts
from grokbench.board.ungrokking import is_continued, started_afresh
from grokbench.errors import GrokbenchError, require
from grokbench.profile import Fall, Profile, describe, describe_fall
from grokbench.record import RECORD_NAME, read_record


def profile_lines(run_dir: Path, search: list[Path]) -> list[str]:
    require((run_dir / RECORD_NAME).is_file(), f"{run_dir} holds no {RECORD_NAME}; allowed: a run directory")
    own = read_record(run_dir / RECORD_NAME)
    if is_continued(own):  # read by its fall, against its own start (grokbench/profile/fall.py)
        parent = own["parent"]
        fall = describe_fall(Fall(**own["fall"])) if own.get("fall") else f"{own.get('status')}: {own.get('error')}"
        return [(f"{own.get('recipe')} seed {own.get('seed')}, continued from {parent.get('run_dir')} at step "
                f"{parent.get('step'):,}: {fall}")]
    records = started_afresh(load_records([*search, run_dir]))
    seen, unique = set(), []
    for path, record in records:  # the run itself may lie under a search directory too
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append((path, record))
    runs = apply_control_references(runs_frame(unique))
    row = runs[[Path(p).resolve() == (run_dir / RECORD_NAME).resolve() for p in runs["path"]]].iloc[0]
    if row["status"] == "failed":
        return [f"{run_dir}: failed: {row['error']}"]
    fields = {c.removeprefix("profile."): row[c] for c in runs.columns if c.startswith("profile.")}
    final = Profile(**{k: (v if present(v) else None) for k, v in fields.items()})  # pandas NaN -> None
    lines = [f"{row['recipe']} seed {row['seed']}: {describe(final)}",
             f"reference: {row['reference_note'] or row['reference_source'] or 'run-time'}"]
    runtime = row["runtime_verdict"]
    if runtime != final.verdict:
        why = ("provisional: no reference at run time" if row["verdict_provisional"]
               or row["reference_note"] else "the record predates the current profile levels")
        lines.append(f"run-time verdict: {runtime} -> final: {final.verdict} ({why})")
    scored = run_verdicts(row)
    if scored:
        moved = [f"{' '.join(coordinates(p))}: {v}" for p, v in scored.items() if v != final.verdict]
        lines.append(f"neighbourhood: {len(scored) - len(moved)} of {len(scored)} points agree"
                     + (f"; elsewhere {'; '.join(moved[:6])}{' ...' if len(moved) > 6 else ''}" if moved else ""))
    return lines


def profile_command(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grokbench profile", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a run directory (holds record.json)")
    parser.add_argument("--records", nargs="*", help="where the control's runs lie (default: the folder "
                                                     "that holds the run's recipe folder)")
    options = parser.parse_args(args)
    run_dir = Path(options.run_dir)
    if not run_dir.exists():
        raise GrokbenchError(f"run directory {run_dir} does not exist; allowed: an existing run directory")
    search = [Path(p) for p in options.records] if options.records else [run_dir.resolve().parent.parent]
    print("\n".join(profile_lines(run_dir, search)))
    return 0
