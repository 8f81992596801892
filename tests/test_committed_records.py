"""The committed records (results/records) as a reviewer would attack them: verdicts that move
when every other evaluation is dropped, and a record that disagrees with the board."""

from pathlib import Path

import pytest

from grokbench.board import load_runs
from grokbench.board.frame import number
from grokbench.board.pairing import control_runs
from grokbench.board.reference import settings_of
from grokbench.board.sensitivity import group_robustness
from grokbench.board.tables import domains, pick_main
from grokbench.profile import analyze
from grokbench.profile.sensitivity import majority_of, thinned

RESULTS = Path(__file__).resolve().parent.parent / "results"
BOARDS = ("records", "confirmation/records", "reruns/records", "ungrok/records", "s6/records",
          "critical/records", "phases/records")  # each folder is one board (its own pairings)
V3_SCHEMA = 3  # records taken under the v3 profile and its evaluation schedule


@pytest.fixture(scope="module", params=BOARDS)
def runs(request):
    records = RESULTS / request.param
    if not records.is_dir():
        pytest.skip(f"no committed records at {records}")
    return load_runs([records])


def thinned_verdict(row, schedule):
    return analyze(thinned(row["curve"], schedule), settings_of(row, number(row["profile.reference"]))).verdict


def test_a_majority_that_moves_when_thinned_is_on_a_row_the_board_flags(runs):
    """Dropping every other evaluation of a v3 record (taken at 20 or more evaluations per
    decade) moves a verdict only where a level sits within an evaluation of it; on any row of
    the board (every setting of a sweep, not only the universality rows) whose majority verdict
    then changes, the board must flag the row not robust, so no reader meets a flippable verdict
    unwarned. A single run that moves under a majority that holds (e.g. `generalized 1, unfit 2`
    -> `unfit 3`) leaves the row's verdict, and its robustness, as they were."""
    v3 = runs[(runs["schema_version"] == V3_SCHEMA) & runs["curve"].map(bool)]
    if v3.empty:
        pytest.skip("no committed record was taken under the v3 schedule yet (schema 3)")
    for (recipe, method, setting), group in v3.groupby(["recipe", "method", "setting"], dropna=False):
        declared = majority_of(list(group["profile.verdict"]))
        moves = any(majority_of([thinned_verdict(row, s) for _, row in group.iterrows()]) != declared
                    for s in ("even", "odd"))
        if moves:
            assert not group_robustness(group)[0].robust, (recipe, method, setting)


def test_the_board_flags_every_row_whose_majority_moves_when_thinned(runs):
    """On every committed record, v2 ones included: a universality row (main or control) whose
    majority verdict changes on a thinned schedule is never flagged robust."""
    checked = 0
    for domain in domains(runs):
        picked = pick_main(runs, domain)
        if picked is None:
            continue
        group = picked[1]
        for members in (group, control_runs(runs, group)[1]):
            if not len(members):
                continue
            declared = majority_of(list(members["profile.verdict"]))
            moves = any(majority_of([thinned_verdict(row, s) for _, row in members.iterrows()]) != declared
                        for s in ("even", "odd"))
            robust = group_robustness(members)[0].robust
            assert not (moves and robust), (domain, list(members["recipe"])[:1])
            checked += 1
    if not checked:
        pytest.skip("no universality row on this board (every main run is a setting of a sweep)")
    assert checked >= 2


def test_a_record_and_the_board_agree_or_the_record_says_why(runs):
    v3 = runs[runs["schema_version"] == V3_SCHEMA]
    if v3.empty:
        pytest.skip("no committed record was written by profile v3 yet (schema 3)")
    differ = v3[(v3["runtime_verdict"] != v3["profile.verdict"]) & ~v3["verdict_provisional"].fillna(False).astype(bool)]
    assert differ.empty, differ[["recipe", "seed", "runtime_verdict", "profile.verdict"]]
