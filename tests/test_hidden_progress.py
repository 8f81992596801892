"""The hidden-progress table and figures (grokbench/board/hidden_progress.py, hidden_figures.py)
on scripted records: measures added to scripted curves, with their declarations in `metrics`."""

from __future__ import annotations

import math
from collections import Counter

from fixtures.scripted_records import make_record, scripted_curve, write_runs

from grokbench.board import load_runs, write_board
from grokbench.board.hidden_progress import (
    Hidden,
    fmt_lead,
    hidden_progress,
    hidden_rows,
)
from grokbench.profile import ProfileSettings, analyze
from grokbench.record import curve_series, lower_median, value_at

SHIFT_AT = 600  # scripted measures step at this step: after memorization (~300), before G leaves (~1500)
DECLARED = {"measures/norm": "down", "measures/flat": "down", "measures/scale": "none", "measures/sparsity": "up"}


def with_measures(curve: list[dict], seed: int) -> list[dict]:
    """The curve plus four measures: `norm` falls by 3 at SHIFT_AT (its progress direction),
    `flat` never changes, `scale` (declared none) rises by 3, `sparsity` (declared up) falls by 3;
    seeds differ by 0.1 at memorization (seed spread 0.1 x (seeds - 1))."""
    rows = []
    for row in curve:
        step = 3.0 if row["step"] >= SHIFT_AT else 0.0
        base = 10 + 0.1 * seed
        rows.append({**row, "measures/norm": base - step, "measures/flat": base, "measures/scale": base + step,
                     "measures/sparsity": base - step})
    return rows


def measured(recipe: str, seed: int, curve: list[dict], **kwargs) -> dict:
    declared = {key: {"direction": d, "role": "measure", "split": None, "metric": key.split("/")[1], "shown": False}
                for key, d in DECLARED.items()}
    declared["weights/l2"] = {"direction": "none", "role": "weights", "split": None, "metric": "l2", "shown": False}
    return {**make_record(recipe, seed, with_measures(curve, seed), **kwargs), "metrics": declared}


def records() -> list[dict]:
    """Modular: four plateau runs (three reach G=0.9, one never does), one run whose G already
    left chance at memorization, and a control (drawn in the figure, not in the table); s5: runs
    without measures."""
    runs = [measured("tiny", s, scripted_curve(generalize_at=g), control="tiny_fast")
            for s, g in enumerate((3000, 3200, 2800, None))]
    runs += [measured("tiny", 4, scripted_curve(generalize_at=400), control="tiny_fast")]  # G rising at memorization
    runs += [measured("tiny_fast", s, scripted_curve(generalize_at=600), role="control") for s in range(2)]
    runs += [make_record("s5_mlp", s, scripted_curve(), domain="s5") for s in range(2)]
    return runs


def rows_by_measure(runs) -> dict[str, dict[str, str]]:
    return {row["measure"]: row for row in hidden_rows(runs)}


def test_measure_moving_in_the_plateau_is_counted_with_its_lead_by_hand(tmp_path):
    runs = load_runs([write_runs(tmp_path, records())])
    h = hidden_progress(runs[runs["recipe"] == "tiny"], "measures/norm")
    assert (h.plateau_runs, dict(h.no_plateau), h.never_generalized) == (4, {"above the band": 1}, 1)
    assert math.isclose(h.spread, 0.4) and h.change == -3.0 and h.moves == -1
    # by hand: each generalized plateau run first moves at the first evaluation >= SHIFT_AT
    curve = scripted_curve(generalize_at=3000)
    first = min(r["step"] for r in curve if r["step"] >= SHIFT_AT)
    t_gen = [analyze(scripted_curve(generalize_at=g), ProfileSettings(chance=0.0, heldout_size=1000)).generalized_step
             for g in (2800, 3000, 3200)]
    assert h.leads == [math.log10(t / first) for t in sorted(t_gen)]
    row = rows_by_measure(runs)["measures/norm"]
    assert row["moves during the plateau"] == "✓ falls (toward its progress direction)"
    assert row["first move before G = 0.9 (median)"] == \
        f"{math.log10(t_gen[1] / first):.2g} decades (3/3 moved before G = 0.9, 3/3 before G left the band; 1 never reached G = 0.9)"
    assert row["plateau runs"] == "4 (1 without plateau: above the band 1)"


def test_measure_within_its_seed_spread_does_not_move(tmp_path):
    row = rows_by_measure(load_runs([write_runs(tmp_path, records())]))["measures/flat"]
    assert row["moves during the plateau"] == "no (within the seed spread)"
    assert row["first move before G = 0.9 (median)"] == "—"


def test_direction_none_is_reported_either_way_and_against_is_said(tmp_path):
    rows = rows_by_measure(load_runs([write_runs(tmp_path, records())]))
    assert rows["measures/scale"]["moves during the plateau"] == "✓ rises (no declared progress direction)"
    assert rows["measures/scale"]["progress direction"] == "none"
    assert rows["measures/sparsity"]["moves during the plateau"] == "✓ falls (against its progress direction)"
    assert "weights/l2" not in rows  # role weights: not a declared measure


def test_domain_without_measures_has_no_rows_and_the_board_writes(tmp_path):
    runs = load_runs([write_runs(tmp_path / "records", records())])
    assert {(row["domain"], row["recipe"]) for row in hidden_rows(runs)} == {("modular", "tiny")}
    readme = write_board([tmp_path / "records"], tmp_path / "out").read_text()
    assert "## Hidden progress" in readme and "figures/hidden_modular.png" in readme
    assert not (tmp_path / "out" / "figures" / "hidden_s5.png").exists()
    first = (tmp_path / "out" / "figures" / "hidden_modular.png").read_bytes()
    write_board([tmp_path / "records"], tmp_path / "again")
    assert (tmp_path / "again" / "figures" / "hidden_modular.png").read_bytes() == first
    assert (tmp_path / "again" / "README.md").read_text() == readme


def test_board_without_any_measure_says_so(tmp_path):
    write_runs(tmp_path / "records", [make_record("tiny", s, scripted_curve()) for s in range(2)])
    readme = write_board([tmp_path / "records"], tmp_path / "out").read_text()
    assert "No universality row's main recipe logged a declared measure." in readme


def test_lead_is_none_when_the_median_run_never_moved():
    h = Hidden(plateau_runs=3, no_plateau=Counter(), spread=0.1, change=-1.0, moves=-1,
               leads=[-math.inf, -math.inf, 0.5], before_leaving=1, never_generalized=0)
    assert fmt_lead(h) == "none (1/3 moved before G = 0.9, 1/3 before G left the band)"
    assert lower_median([-math.inf, 0.2, 0.4, 0.6]) == 0.2  # the lower middle: never averaged with -inf


def test_value_at_memorization_is_the_last_logged_one_for_a_sparse_measure():
    steps, values = curve_series([{"step": 100, "m": 1.0}, {"step": 200}, {"step": 300, "m": 3.0}], "m", log_axis=False)
    assert value_at(steps, values, 250) == 1.0 and value_at(steps, values, 50) is None
