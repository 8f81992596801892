"""Semi-grokking and the critical training fraction D_crit (issue 27, part 3) on fabricated
records: the run and cell definitions, the estimate and its bootstrap interval, and the board's
section and figure read from the records' own fraction and weight decay."""

from __future__ import annotations

import pytest
from fixtures.scripted_records import make_record, scripted_curve
from test_sweeps import swept, write_sweep

from grokbench.board import load_runs, write_board
from grokbench.board.critical_section import cell_rows, critical_rows
from grokbench.board.critical_size import critical_size, fmt_critical
from grokbench.board.semi_grokking import RISING, SEMI, partial_states, semi_cell

# held-out progress curves (train fit at step 300, budget 6,000)
FULL = {"generalize_at": 3000}                        # grokked: rises from 1,500 to 1.0 at 3,000
PARTIAL = {"generalize_at": 3000, "final_val": 0.5}   # semi: the same delay, settles at 0.5
STILL_RISING = {"generalize_at": 6000, "final_val": 0.5}  # reaches 0.5 only at the last step
AT_ONCE = {"generalize_at": 400, "final_val": 0.5}    # partial, but G was above chance when fit
LOW = {"generalize_at": 3000, "final_val": 0.15}      # delayed, settles below 0.2
NEVER = {"generalize_at": None}                       # memorized at chance


def run(seed: int, curve: dict, fraction: float | None = None, decay: float = 1.0, recipe: str = "tiny",
        config_fraction: float | None = None, **extra) -> dict:
    """A scripted record launched with the fraction and weight decay overrides (the fraction from its
    config only, with `config_fraction`)."""
    record = make_record(recipe, seed, scripted_curve(**curve))
    launched = {"task__train_fraction": fraction} if fraction is not None else {}
    config = {"task": {"train_fraction": config_fraction}} if config_fraction is not None else None
    return swept(record, config, **launched, optim__weight_decay=decay, **extra)


def test_a_run_semi_groks_when_delayed_and_settled_at_a_partial_level(tmp_path):
    kinds = {0.1: PARTIAL, 0.2: STILL_RISING, 0.3: AT_ONCE, 0.4: LOW, 0.5: FULL, 0.6: NEVER}
    runs = load_runs([write_sweep(tmp_path, [run(0, curve, fraction=f) for f, curve in kinds.items()])])
    fractions = [float(launch["task.train_fraction"]) for launch in runs["launch"]]
    states, verdicts = dict(zip(fractions, partial_states(runs))), dict(zip(fractions, runs["profile.verdict"]))
    assert [states[f] for f in kinds] == [SEMI, RISING, None, None, None, None]
    assert verdicts[0.1] == "memorized" and verdicts[0.2] == "censored"  # settled vs still rising


def test_a_cell_semi_groks_only_with_a_majority_of_its_runs():
    assert semi_cell([SEMI, SEMI, None])
    assert not semi_cell([SEMI, None, None])
    assert not semi_cell([SEMI, RISING, None])  # rising runs are undecided, not semi-grokking
    assert not semi_cell([SEMI, SEMI, None, None])


def test_d_crit_interpolates_the_medians_where_they_cross_one_half():
    cells = {0.3: [0.0, 0.0, 0.0], 0.4: [0.2, 0.3, 0.4], 0.5: [0.8, 0.9, 1.0]}
    found = critical_size(cells)
    assert found.estimate == pytest.approx(0.4 + 0.2 * 0.1 / 0.6) and found.bound is None
    # every resample's crossing lies between the extreme medians' crossings
    assert 0.4 + 0.1 * 0.1 / 0.8 - 1e-9 <= found.low <= found.estimate <= found.high <= 0.4 + 0.3 * 0.1 / 0.4 + 1e-9
    assert critical_size(cells) == found  # seeded: the same records give the same interval
    assert fmt_critical(found) == ("0.433", f"[{found.low:.3f}, {found.high:.3f}]")


def test_d_crit_is_the_last_upward_crossing_and_a_bound_outside_the_grid():
    assert critical_size({0.3: [1.0] * 3, 0.4: [0.0] * 3, 0.5: [1.0] * 3}).estimate == pytest.approx(0.45)
    below = critical_size({0.3: [0.6] * 3, 0.4: [1.0] * 3})
    assert (below.estimate, below.bound, fmt_critical(below)[0]) == (None, "below", "< 0.3")
    above = critical_size({0.3: [0.0] * 3, 0.4: [0.1] * 3})
    assert (above.estimate, above.bound, fmt_critical(above)[0]) == (None, "above", "> 0.4")
    # the top cell is split: some resamples put the crossing above the grid, so the interval says so
    split = critical_size({0.3: [0.0] * 3, 0.4: [0.0, 0.0, 1.0], 0.5: [0.0, 1.0, 1.0]})
    assert split.estimate == pytest.approx(0.45) and fmt_critical(split)[1].endswith("> 0.5]")
    assert critical_size({0.3: [0.0] * 3}) is None  # one fraction: nothing to cross between


def test_d_crit_has_no_interval_with_fewer_than_three_runs_in_a_cell():
    found = critical_size({0.3: [0.0, 0.0], 0.4: [1.0, 1.0, 1.0]})
    assert found.estimate == pytest.approx(0.35) and found.low is None
    assert fmt_critical(found) == ("0.350", "— (a cell has fewer than 3 runs)")


def fraction_sweep() -> list[dict]:
    """Recipe `tiny` over fractions 0.3-0.6 x weight decay 0.1 and 1, three seeds a cell: at weight
    decay 1 it memorizes at 0.3, semi-groks at 0.4 and groks above; at 0.1 it groks only at 0.6.
    One run at (0.5, 1) was launched without the fraction override: its config says 0.5."""
    plan = {(0.3, 1.0): NEVER, (0.4, 1.0): PARTIAL, (0.5, 1.0): FULL, (0.6, 1.0): FULL,
            (0.3, 0.1): NEVER, (0.4, 0.1): NEVER, (0.5, 0.1): NEVER, (0.6, 0.1): FULL}
    records = [run(s, curve, fraction=f, decay=wd) for (f, wd), curve in plan.items() for s in range(3)
               if (f, wd, s) != (0.5, 1.0, 2)]
    return [*records, run(2, FULL, decay=1.0, config_fraction=0.5)]


def test_the_board_tables_each_cell_and_d_crit_per_weight_decay(tmp_path):
    records = write_sweep(tmp_path / "records", fraction_sweep())
    runs = load_runs([records])
    rows = {(r["weight decay"], r["train fraction"]): r for r in cell_rows(runs)}
    assert len(rows) == 8 and rows[("1", "0.5")]["runs"] == "3"  # the config-only run joined its cell
    assert rows[("1", "0.4")]["cell"] == "**semi**" and rows[("1", "0.4")]["semi-grokking runs"] == "3/3"
    assert rows[("1", "0.5")]["grok rate"] == "3/3" and rows[("0.1", "0.5")]["grok rate"] == "0/3"
    assert all(r["cell"] == "" for key, r in rows.items() if key != ("1", "0.4"))
    assert rows[("1", "0.3")]["phase"] == "memorization 3/3" and rows[("1", "0.6")]["phase"].endswith(" 3/3")
    critical = {r["weight decay"]: r for r in critical_rows(runs)}
    assert critical["1"]["D_crit (training fraction)"] == "0.400"  # median 0.5 at 0.4: the crossing is there
    assert critical["0.1"]["D_crit (training fraction)"] == "0.550" and critical["0.1"]["runs"] == "12"
    out = tmp_path / "out"
    write_board([records], out)
    text = (out / "README.md").read_text()
    section = text.split("## Critical data size and semi-grokking")[1]
    assert "### modular: tiny" in section and "| **semi** |" in section
    assert "![tiny: final G against the training fraction](figures/critical_tiny.png)" in section
    again = tmp_path / "again"
    write_board([records], again)
    assert (again / "figures" / "critical_tiny.png").read_bytes() == (out / "figures" / "critical_tiny.png").read_bytes()


def test_a_board_without_a_fraction_sweep_has_no_section_and_a_third_key_is_named(tmp_path):
    plain = [make_record("tiny", s, scripted_curve()) for s in range(3)]
    write_board([write_sweep(tmp_path / "plain", plain)], tmp_path / "out")
    assert "Critical data size" not in (tmp_path / "out" / "README.md").read_text()
    three = [run(s, FULL, fraction=f, model__width=16 * (1 + s)) for f in (0.3, 0.4, 0.5) for s in range(2)]
    write_board([write_sweep(tmp_path / "three", three)], tmp_path / "three_out")
    assert "Not shown, their cells would pool another swept key: tiny (also swept model.width)." in \
        (tmp_path / "three_out" / "README.md").read_text()
