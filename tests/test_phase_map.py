"""Omnigrok's phases from the profile (issue 27, part 4) on fabricated records: every verdict has
a phase, grokking and comprehension part by how late G = 0.9 came, a cell needs a majority, and
the phase diagram works in any domain over the two keys its sweep declared, x first."""

from __future__ import annotations

import pytest
from fixtures.scripted_records import make_record, scripted_curve
from test_sweeps import swept, write_sweep

from grokbench.board import load_runs, write_board
from grokbench.board.phase import cells, swept_pair
from grokbench.board.phase_map import MIXED, NO_PHASE, VERDICT_PHASE, cell_phase, run_phase
from grokbench.profile import VERDICTS

PLATEAU = 0.225  # the profile's min_plateau_decades


def test_every_profile_verdict_has_a_phase():
    assert set(VERDICT_PHASE) == set(VERDICTS)


@pytest.mark.parametrize(("status", "verdict", "t_mem", "t_gen", "phase"), [
    ("completed", "grokked", 300, 3000, "grokking"),
    ("completed", "generalized", 300, 3000, "grokking"),       # G above chance when fit, 0.9 a decade later
    ("completed", "generalized", 300, 400, "comprehension"),   # 0.12 decades: soon after
    ("completed", "generalized", 300, round(300 * 10 ** PLATEAU) + 1, "grokking"),
    ("completed", "memorized", 300, None, "memorization"),
    ("completed", "censored", 300, None, "memorization"),      # read at the budget, as Liu et al.'s phases
    ("completed", "ungrokked", 300, 3000, "memorization"),     # ends below G = 0.9
    ("completed", "unfit", None, None, "confusion"),
    ("diverged", "diverged", None, None, None),
    ("failed", "grokked", 300, 3000, None),
])
def test_a_run_phase_comes_from_its_verdict_and_how_late_it_generalized(status, verdict, t_mem, t_gen, phase):
    assert run_phase(status, verdict, t_mem, t_gen, PLATEAU) == phase


def test_a_cell_phase_needs_more_than_half_of_its_runs():
    assert cell_phase(["grokking", "grokking", "memorization"]) == ("grokking", 2)
    assert cell_phase(["grokking", "memorization", None]) == (MIXED, 1)  # a failed run still counts
    assert cell_phase(["grokking", "memorization", "confusion"]) == (MIXED, 1)
    assert cell_phase([None, None]) == (NO_PHASE, 0)


CURVES = {"comprehension": {"generalize_at": 400}, "grokking": {"generalize_at": 3000},
          "memorization": {"generalize_at": None}, "confusion": {"memorize_at": 100_000, "generalize_at": None}}


def fraction_by_decay(fraction_first: bool = True) -> list[dict]:
    """An S5 sweep of the training fraction x weight decay, two seeds a cell, one phase per cell;
    launched with the fraction first (the suite grid's order) or the weight decay first."""
    plan = {(0.3, 0.1): "memorization", (0.6, 0.1): "grokking", (0.3, 10): "confusion", (0.6, 10): "comprehension"}
    records = []
    for (fraction, decay), phase in plan.items():
        for seed in range(2):
            record = make_record("s5_tiny", seed, scripted_curve(**CURVES[phase]), domain="s5")
            keys = {"task__train_fraction": fraction, "optim__weight_decay": decay}
            records.append(swept(record, None, **(keys if fraction_first else dict(reversed(keys.items())))))
    return records


def test_the_phase_diagram_takes_any_domain_and_the_declared_axes(tmp_path):
    runs = load_runs([write_sweep(tmp_path / "records", fraction_by_decay())])
    assert swept_pair(runs) == ("task.train_fraction", "optim.weight_decay")  # x: the grid's first key
    table = cells(runs, *swept_pair(runs)).set_index(["x", "y"])
    assert table["phase"].to_dict() == {(0.3, 0.1): "memorization", (0.3, 10): "confusion",
                                        (0.6, 0.1): "grokking", (0.6, 10): "comprehension"}
    assert set(table["phase_runs"]) == {2}
    flipped = load_runs([write_sweep(tmp_path / "flipped", fraction_by_decay(fraction_first=False))])
    assert swept_pair(flipped) == ("optim.weight_decay", "task.train_fraction")
    out = tmp_path / "out"
    write_board([tmp_path / "records"], out)
    assert "![s5_tiny: phase diagram](figures/phase_s5_tiny.png)" in (out / "README.md").read_text().split("### s5")[1]
    assert (out / "figures" / "phase_s5_tiny.png").stat().st_size > 10_000


def test_a_cell_whose_phase_moves_with_the_plateau_level_is_hatched_and_named(tmp_path):
    """G = 0.9 comes 0.235 decades after memorization: grokking at the declared plateau (0.225),
    comprehension at 0.275, one point of the declared neighbourhood; a cell a decade late holds."""
    records = []
    for decay, generalize_at in ((0.1, 560), (1.0, 3000)):
        for fraction in (0.3, 0.6):
            for seed in range(2):
                record = make_record("s5_tiny", seed, scripted_curve(generalize_at=generalize_at), domain="s5")
                records.append(swept(record, None, task__train_fraction=fraction, optim__weight_decay=decay))
    runs = load_runs([write_sweep(tmp_path / "records", records)])
    table = cells(runs, *swept_pair(runs)).set_index(["x", "y"])
    assert set(table["phase"]) == {"grokking"}
    assert table.loc[(0.3, 0.1), "phase_moves_at"].startswith("min_plateau_decades=0.275")
    assert table.loc[(0.3, 1.0), "phase_moves_at"] == "nowhere"
    out = tmp_path / "out"
    write_board([tmp_path / "records"], out)
    text = (out / "README.md").read_text()
    assert "Hatched: 2 of 4 cells" in text
    assert "task.train_fraction=0.3, optim.weight_decay=0.1 (grokking): min_plateau_decades=0.275" in text


def test_a_diagram_whose_phases_all_hold_says_so(tmp_path):
    write_sweep(tmp_path / "records", fraction_by_decay())
    out = tmp_path / "out"
    write_board([tmp_path / "records"], out)
    assert "Every cell's phase holds at every point" in (out / "README.md").read_text()
