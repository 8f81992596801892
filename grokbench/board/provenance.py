"""Where the runs behind a table come from, and the rule that a board is built from one clean
commit: otherwise two numbers side by side may come from different code. `--allow-mixed`
lifts the rule, and the provenance line then says so."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from grokbench.board.frame import present
from grokbench.board.summary import speed_group
from grokbench.errors import require

COMMIT_DIGITS = 12


def commit_label(commit, dirty) -> str:
    label = str(commit)[:COMMIT_DIGITS] if present(commit) and commit else "unknown commit"
    return label + ("-dirty" if dirty is True else "")


def counted(labels) -> str:
    counts = Counter(labels)
    return ", ".join(f"{k} ({v} run{'s' if v != 1 else ''})" for k, v in sorted(counts.items()))


def mixed(runs: pd.DataFrame) -> str | None:
    """Why these runs are not from one clean commit, or None when they are."""
    commits = {str(c) if present(c) and c else None for c in runs["git_commit"]}
    problems = []
    if len(commits) > 1:
        problems.append(f"{len(commits)} commits")
    if None in commits:
        problems.append("runs without a known commit")
    dirty = sum(d is True for d in runs["git_dirty"])
    if dirty:
        problems.append(f"{dirty} run{'s' if dirty != 1 else ''} from a dirty tree")
    return " and ".join(problems) or None


def check_provenance(runs: pd.DataFrame, allow_mixed: bool) -> None:
    """Refuse runs that do not come from one clean commit, unless allowed."""
    problem = mixed(runs)
    labels = counted(commit_label(c, d) for c, d in zip(runs["git_commit"], runs["git_dirty"]))
    require(allow_mixed or problem is None,
            f"the records mix {problem} ({labels}); allowed: records from one clean commit, "
            "or --allow-mixed")


def provenance(runs: pd.DataFrame, allow_mixed: bool = False) -> str:
    """Commits, dates, library versions and hardware of the runs behind a table."""
    dates = sorted(runs["date"])
    libraries = sorted({(k, str(v)) for versions in runs["versions"] for k, v in versions.items()})
    machines = [f"{h.get('cpu_count', '?')} CPUs ({h.get('machine', '?')}), "
                f"{speed_group(h.get('accelerator'), h.get('torch_threads'))}" for h in runs["hardware"]]
    commits = counted(commit_label(c, d) for c, d in zip(runs["git_commit"], runs["git_dirty"]))
    problem = mixed(runs)
    flag = f" (built with --allow-mixed: {problem})" if allow_mixed and problem else \
        " (built with --allow-mixed)" if allow_mixed else ""
    return (f"<sub>Provenance{flag} — commits: {commits}; dates: {dates[0]} to {dates[-1]}; "
            f"libraries: {', '.join(f'{k} {v}' for k, v in libraries)}; hardware: {counted(machines)}.</sub>")
