"""`grokbench board` on schema-2 records written from scripted curves (tests/fixtures/scripted_records.py):
statistics, pairing by declared metadata, control reference levels, provenance, determinism."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from fixtures.scripted_records import COMMIT, make_record, scripted_curve, write_runs

from grokbench.board import MARK_END, MARK_START, job_summary, load_runs, write_board
from grokbench.board.legacy import legacy_fill
from grokbench.board.method_cells import Arm, ratio_text
from grokbench.board.stats import km_median, km_median_or_beyond, speedup_interval
from grokbench.board.tables import method_pairs, method_rows, missing_cell, universality_rows
from grokbench.cli import main
from grokbench.errors import GrokbenchError


def modular_runs() -> list[dict]:
    """An exact domain: a main recipe whose control is not named `*_control`, a `*_control` recipe
    without meta (so not a control), a methods-suite run, a paper method recipe, a failed run."""
    runs = [make_record("tiny", s, scripted_curve(generalize_at=g), control="tiny_fast")
            for s, g in enumerate((3000, 3200, None))]
    runs += [make_record("tiny_fast", s, scripted_curve(generalize_at=600), role="control") for s in range(2)]
    runs += [make_record("tiny_control", 0, scripted_curve(generalize_at=600))]  # no declared role
    runs += [make_record("tiny", s, scripted_curve(generalize_at=1000), method="grokfast_ema") for s in range(3)]
    runs += [make_record("tiny", s, scripted_curve(final_val=0.6), method="softmax_float64") for s in range(2)]
    runs += [{**make_record("tiny", s, scripted_curve(generalize_at=800), method="stablemax"),
              "method_settings": {"baseline": "softmax_float64"}} for s in range(2)]  # a declared method baseline
    runs += [make_record("paper_baseline", s, scripted_curve(generalize_at=4000)) for s in range(2)]
    runs += [make_record("paper_ema", s, scripted_curve(generalize_at=1000, diverge_at=500 if s else None),
                         role="method", baseline="paper_baseline", method="grokfast_ema") for s in range(2)]
    runs += [make_record("paper_division", 0, [], status="failed")]
    return runs


def mnist_runs(control_final: float = 0.8) -> list[dict]:
    """An inexact domain (chance 0.1): the main recipe reaches 0.8, as does its control."""
    common = {"domain": "mnist", "exact": False, "chance": 0.1}
    runs = [make_record("big_init", s, scripted_curve(final_val=0.8, chance=0.1), control="plain_init", **common)
            for s in range(3)]
    runs += [make_record("plain_init", s, scripted_curve(generalize_at=600, final_val=control_final, chance=0.1),
                         role="control", **common) for s in range(3)]
    return runs


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    return write_runs(tmp_path_factory.mktemp("records"), modular_runs() + mnist_runs())


@pytest.fixture(scope="module")
def board(records, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("board")
    write_board([records], out)
    return out


def rows_by(rows: list[dict], key: str) -> dict[str, dict]:
    return {r[key]: r for r in rows}


def test_kaplan_meier_median_matches_hand_computation():
    # 100, 200, 300 reached, 250 censored: S(100) = 3/4, S(200) = 3/4 * 2/3 = 1/2 -> median 200
    assert km_median([100, 200, 300, 250], [True, True, True, False]) == 200
    # 100, 300, 400 reached, 150 censored: S(100) = 3/4; at 300 two at risk: 3/4 * 1/2 = 3/8 -> 300
    assert km_median([100, 150, 300, 400], [True, False, True, True]) == 300
    # one of three reached, the others censored later: S stays at 2/3, no median
    assert km_median([100, 250, 300], [True, False, False]) is None
    assert km_median([], []) is None


def test_speedup_interval_only_with_five_runs_per_arm_and_seeded():
    def arm(steps):
        return pd.DataFrame({"profile.generalized_step": steps, "profile.last_step": [5000] * len(steps)})

    base, fast = arm([1000, 1200, 900, 1100, 1500]), arm([400, 500, 450, None, 600])
    assert speedup_interval(base.iloc[:4], fast) is None
    low, high = speedup_interval(base, fast)
    assert (low, high) == speedup_interval(base, fast) and low <= 1100 / 475 <= high


def test_speedup_is_a_bound_where_one_arm_has_no_median():
    def arm_of(steps, last=5000):
        return pd.DataFrame({"profile.generalized_step": steps, "profile.last_step": [last] * len(steps)})

    never, fast = arm_of([None, None, 3000]), arm_of([400, 500, None], last=800)
    assert km_median_or_beyond(never) == (None, 5000) and km_median_or_beyond(fast)[1] is None

    def arm(median, beyond):
        return Arm(runs=3, reached=1, fell_back=0, median=median, beyond=beyond, seconds=None, seconds_beyond=None,
                   first_evaluation=10, at_first=0, band_states=Counter(inside=3), delayed=3, final_progress=None)

    assert ratio_text(arm(500, None), arm(None, 5000), None, False).startswith("> 10.00x (500 vs > 5,000 steps; a bound")
    assert ratio_text(arm(None, 5000), arm(1000, None), None, False).startswith("< 0.20x (> 5,000 vs 1,000 steps; a bound")


def test_empty_grid_cell_gives_the_reason_the_records_carry():
    """The board reads where a method does not apply from its records; a record written before
    they carried it is filled from the method catalog (legacy_fill), by the method's declared kinds."""
    filled = legacy_fill({"task": "modular", "method_settings": {"name": "stablemax"}})
    reasons = filled["method_settings"]["not_applicable"]
    assert missing_cell("qm9", reasons).startswith("n/a: QM9 is regression")
    assert missing_cell("modular", reasons) == "not run"
    gone = legacy_fill({"task": "modular", "method_settings": {"name": "not_a_declared_method"}})
    assert missing_cell("qm9", gone["method_settings"]["not_applicable"]) == "not run"


def test_control_found_by_declaration_not_by_name(records):
    runs = load_runs([records])
    rows = rows_by(universality_rows(runs), "domain")
    assert rows["modular"]["recipe"] == "tiny" and rows["modular"]["control"] == "tiny_fast"
    assert rows["mnist"]["control"] == "plain_init"
    roles = runs.groupby("recipe")["role"].first()
    assert roles["tiny_control"] == "main" and roles["tiny_fast"] == "control"


def test_recipe_ending_in_control_without_meta_is_no_control(tmp_path):
    runs = [make_record("solo", s, scripted_curve()) for s in range(2)]
    runs += [make_record("solo_control", 0, scripted_curve(generalize_at=600))]
    row = universality_rows(load_runs([write_runs(tmp_path, runs)]))[0]
    assert row["recipe"] == "solo" and row["control"] == "—"  # more runs; no declared control
    assert "control ✗ (none declared)" in row["preset sanity"]


def test_reference_from_control_recomputes_progress(records):
    runs = load_runs([records])
    main_runs = runs[runs["recipe"] == "big_init"]
    written = [json.loads(p.read_text())["profile"] for p in sorted(records.glob("big_init/*/record.json"))]
    assert {p["verdict"] for p in written} == {"memorized"}  # G 0.78 against the perfect score
    assert set(main_runs["profile.verdict"]) == {"grokked"}  # G 1 against the control's 0.8
    assert main_runs["profile.reference"].tolist() == pytest.approx([0.8] * 3)
    assert set(runs[runs["recipe"] == "plain_init"]["profile.verdict"]) == {"generalized"}
    assert all("from control plain_init (3 runs)" in n for n in main_runs["reference_note"])
    assert set(runs[runs["recipe"] == "tiny"]["reference_note"].dropna()) == set()  # exact: untouched
    row = rows_by(universality_rows(runs), "domain")["mnist"]
    assert row["grok rate, seeds 0–4"] == "3/3" and row["grok rate, seeds 5–9"] == "not run"
    assert row["preset sanity"] == "control ✓ · memorizes ✓ · reference ✓"


def test_control_at_chance_leaves_profiles_and_flags_unreachable(tmp_path):
    runs = load_runs([write_runs(tmp_path, mnist_runs(control_final=0.1))])
    main_runs = runs[runs["recipe"] == "big_init"]
    assert set(main_runs["profile.verdict"]) == {"memorized"} and set(main_runs["profile.reference"]) == {1.0}
    assert all(n.startswith("reference unreachable") for n in main_runs["reference_note"])
    assert "reference ✗ (control at chance)" in universality_rows(runs)[0]["preset sanity"]


def test_universality_and_per_domain_tables(board):
    text = (board / "README.md").read_text()
    assert "## The grokking profile" in text and "Kaplan–Meier" in text
    universality = text.split("## Universality")[1].split("## Per domain")[0]
    row = next(line for line in universality.splitlines() if line.startswith("| modular"))
    assert "| tiny " in row and "| tiny_fast " in row and "| 2/3 " in row
    assert "control ✓ · memorizes ✓ · reference ✓" in row
    assert "CI" not in universality and "n=2" in row  # G_mem etc. over the runs that have them
    modular = text.split("### modular")[1].split("### mnist")[0]
    assert "| grokked 2, memorized 1 " in modular and "| failed 1 " in modular
    assert "![mnist: held-out progress](figures/mnist.png)" in text


def test_methods_pair_with_declared_or_own_recipe_baseline(board):
    methods = (board / "README.md").read_text().split("## Methods")[1]
    grid = methods.split("### Method × task")[1].split("### Every method")[0]
    header = next(line for line in grid.splitlines() if line.startswith("| method"))
    assert "modular · tiny " in header and "modular · paper_baseline" in header
    cells = next(line for line in grid.splitlines() if line.startswith("| grokfast_ema"))
    assert "G=0.9 held 3/3, fell back 0/3" in cells and "broke 1/2" in cells  # one paper_ema run diverged, no baseline run did
    assert "no speedup" not in cells.split("|")[2] and "a bound" not in cells.split("|")[2]
    assert "tiny · softmax_float64" not in header  # a method baseline shares its recipe's column
    stablemax = next(line for line in grid.splitlines() if line.startswith("| stablemax"))
    assert "vs softmax_float64: G=0.9 held 2/2, fell back 0/2 (baseline 0/2, 0/2): > " in stablemax and "a bound: under half the baseline's runs" in stablemax


def test_leaderboard_csv_one_row_per_configuration(board, records):
    table = pd.read_csv(board / "leaderboard.csv")
    assert not table.duplicated(["task", "task_version", "recipe", "model", "method"]).any()
    assert table["runs"].sum() == len(list(records.rglob("record.json")))
    row = table.set_index(["recipe", "method"]).loc[("tiny", "baseline")]
    assert (row["grokked"], row["reached_g90"], row["paired_recipe"]) == (2, 2, "tiny_fast")
    assert row["speed_group"] == "cpu, 1 thread" and row["steps_per_second_median"] == 100


def test_leaderboard_rows_sorted_with_budget_parameters_and_record_links(board):
    table = pd.read_csv(board / "leaderboard.csv")
    domains = list(dict.fromkeys(table["domain"]))
    roles = {"main": 0, "control": 1, "method": 2}
    keys = [(domains.index(d), roles[r]) for d, r in zip(table["domain"], table["role"])]
    assert keys == sorted(keys)
    assert {"step_budget", "parameters", "records"} <= set(table.columns)
    for directory in table["records"]:  # relative to the board's folder, so the links work there
        assert (board / directory).is_dir() and list((board / directory).rglob("record.json"))
    assert "](" in (board / "README.md").read_text()  # per-domain rows link to their records


def test_speed_is_not_pooled_across_thread_counts(tmp_path):
    runs = [make_record("tiny", s, scripted_curve(), threads=1 + 3 * s, steps_per_second=100 + 100 * s)
            for s in range(2)]
    write_board([write_runs(tmp_path / "records", runs)], tmp_path / "out")
    row = pd.read_csv(tmp_path / "out" / "leaderboard.csv").iloc[0]
    assert row["speed_group"] == "cpu, 1 thread | cpu, 4 threads" and pd.isna(row["steps_per_second_median"])
    text = (tmp_path / "out" / "README.md").read_text()
    assert "cpu, 1 thread: 60 s, 100 steps/s; cpu, 4 threads: 30 s, 200 steps/s" in text


def test_same_records_give_byte_identical_files(board, records, tmp_path):
    write_board([records], tmp_path)
    written = sorted(p.relative_to(board) for p in board.rglob("*") if p.is_file())
    assert {Path("figures/modular.png"), Path("figures/mnist.png")} <= set(written)
    for name in written:
        assert (tmp_path / name).read_bytes() == (board / name).read_bytes(), name


@pytest.mark.parametrize("change", [{"commit": "f" * 40}, {"dirty": True}, {"commit": None}])
def test_board_refuses_mixed_provenance_unless_allowed(tmp_path, capsys, change):
    runs = [make_record("tiny", 0, scripted_curve()), make_record("tiny", 1, scripted_curve(), **change)]
    records = write_runs(tmp_path / "records", runs)
    assert main(["board", str(records), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "allowed: records from one clean commit, or --allow-mixed" in error
    assert main(["board", str(records), "--out", str(tmp_path / "out"), "--allow-mixed"]) == 0
    assert "Provenance (built with --allow-mixed: " in (tmp_path / "out" / "README.md").read_text()


def test_old_schema_record_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "old" / "seed0" / "record.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"schema_version": 1, "recipe": "old", "delay_ratio": 2.0}))
    with pytest.raises(GrokbenchError, match=f"{path} is a schema-1 record"):
        load_runs([tmp_path])


@pytest.mark.parametrize("content, reason", [
    ('{"schema_version": 2, "status": "compl', "is not valid JSON (Unterminated string"),
    ("", "is not valid JSON (Expecting value at line 1, column 1: truncated or corrupt)"),
    ("[1, 2]", "is not a run record (a JSON list, not an object)"),
    (json.dumps({"schema_version": 99, "profile": {}}), "is a schema-99 record, newer than this grokbench reads"),
    (json.dumps({"schema_version": "2", "profile": {}}), "is a schema-'2' record without a grokking profile"),
])
def test_a_record_that_is_not_one_is_refused_in_one_line_naming_and_counting_it(records, tmp_path, capsys,
                                                                                content, reason):
    bad = tmp_path / "bad" / "seed0" / "record.json"
    bad.parent.mkdir(parents=True)
    bad.write_text(content)
    total = len(list(records.rglob("record.json"))) + 1
    assert main(["board", str(records), str(tmp_path / "bad"), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error
    assert error.startswith(f"error: 1 of {total} run records refused, nothing read: {bad} {reason}")
    assert not (tmp_path / "out").exists()


def test_readme_table_replaced_between_markers_only(records, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nintro\n\n{MARK_START}\nold table\n{MARK_END}\n\nrest\n")
    assert main(["board", str(records), "--out", str(tmp_path / "out"), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# Title\n\nintro\n\n" + MARK_START) and text.endswith(MARK_END + "\n\nrest\n")
    assert "old table" not in text and "| tiny " in text and f"commits: {COMMIT[:12]} (" in text


def test_readme_without_markers_is_an_error(records, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    with pytest.raises(GrokbenchError, match="markers"):
        write_board([records], tmp_path / "out", readme)


def test_no_records_is_a_one_line_error(tmp_path, capsys):
    assert main(["board", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "no run records" in capsys.readouterr().err


def test_job_summary_links_existing_figures_under_the_hosted_folder(tmp_path, capsys):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "a.png").write_bytes(b"png")
    (tmp_path / "README.md").write_text("![a](figures/a.png) ![b](figures/b.png) ![c](https://x.org/c.png)")
    assert job_summary.main([str(tmp_path), "--image-base", "https://github.com/o/r/raw/benchmark-figures/7/"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == ("![a](https://github.com/o/r/raw/benchmark-figures/7/figures/a.png) "
                           "![b](figures/b.png) ![c](https://x.org/c.png)")
    assert "image figures/b.png is not a file" in err and "x.org" not in err
    assert job_summary.main([str(tmp_path / "none"), "--image-base", "u"]) == 2


def test_method_speedup_in_steps_and_wall_clock_with_a_figure_per_domain(tmp_path):
    """Three times fewer steps at a quarter of the speed: faster in steps, slower in seconds."""
    runs = [make_record("tiny", s, scripted_curve(generalize_at=3000)) for s in range(5)]
    runs += [make_record("tiny", s, scripted_curve(generalize_at=1000), method="muon", steps_per_second=25.0)
             for s in range(5)]
    records, out = write_runs(tmp_path / "records", runs), tmp_path / "out"
    write_board([records], out)
    (row,) = method_rows(method_pairs(load_runs([records])))
    steps, seconds = row["speedup ↑ (steps)"], row["speedup ↑ (wall-clock)"]
    ratio = float(steps.split("x")[0])
    assert ratio == pytest.approx(3, rel=0.05) and steps.endswith(" steps)")
    assert float(seconds.split("x")[0]) == pytest.approx(ratio / 4, abs=0.01) and seconds.endswith(" s)")
    assert row["steps/s, method vs baseline"] == "25 vs 100"
    assert row["reached G=0.5"] == "5/5" and row["steps to G=0.5 (KM median)"] != "—"
    assert row["final held-out"].startswith("val/acc 1")
    assert (out / "figures" / "methods_modular.png").stat().st_size > 10_000
    assert "![modular: held-out progress per method](figures/methods_modular.png)" in (out / "README.md").read_text()
