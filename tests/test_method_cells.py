"""The method grid's cells on small scripted records (issue 23): a speedup at the first
evaluation is a bound, an undelayed baseline gives no ratio, runs that fall back below G = 0.9
count as not reaching it, wall-clock ratios only between arms run side by side; and the tuning
rule scores its runs on the board's scale."""

from __future__ import annotations

from fixtures.scripted_records import make_record, scripted_curve, write_runs

from grokbench.board import load_runs
from grokbench.board.method_cells import arm, delayed
from grokbench.board.stats import time_to_generalize
from grokbench.board.tables import method_grid, method_pairs, method_rows
from grokbench.methods.catalog import entry, knob_value, tuning_plan
from grokbench.methods.tuning import pick, report
from grokbench.record import write_record


def baseline(seeds=range(5), **curve) -> list[dict]:
    """Memorized at step 300 with G at chance, G = 0.9 near step 3,000: a delayed baseline."""
    return [make_record("tiny", s, scripted_curve(**({"generalize_at": 3000} | curve))) for s in seeds]


def method(curves: list[list[dict]], name: str = "muon", **kwargs) -> list[dict]:
    return [make_record("tiny", s, c, method=name, **kwargs) for s, c in enumerate(curves)]


def only_row(tmp_path, runs: list[dict]) -> dict[str, str]:
    (row,) = method_rows(method_pairs(load_runs([write_runs(tmp_path, runs)])))
    return row


def fell_back(curve: list[dict], last: int = 4) -> list[dict]:
    """The curve with its last `last` evaluations' held-out accuracy dropped to 0.5."""
    return curve[:-last] + [{**r, "val/acc": 0.5} for r in curve[-last:]]


def test_a_method_at_g90_from_its_first_evaluation_is_a_bound_without_interval(tmp_path):
    first = scripted_curve(generalize_at=10)  # G = 1 at the first evaluation, step 10
    assert first[0]["step"] == 10 and first[0]["val/acc"] == 1.0
    row = only_row(tmp_path, baseline() + method([first] * 5))
    steps = row["speedup ↑ (steps)"]
    assert steps.startswith("≥ ") and "a bound: G=0.9 at the first evaluation, step 10" in steps
    assert "[" not in steps  # no interval: the time lies anywhere before the first evaluation


def test_some_runs_at_the_first_evaluation_leave_the_intervals_upper_end_open(tmp_path):
    curves = [scripted_curve(generalize_at=10)] * 2 + [scripted_curve(generalize_at=1000)] * 3
    steps = only_row(tmp_path, baseline() + method(curves))["speedup ↑ (steps)"]
    assert "open: 2/5 runs at the first evaluation]" in steps and not steps.startswith("≥")


def test_an_undelayed_baseline_gives_no_ratio_but_both_final_levels(tmp_path):
    # memorized at step 3,000, when its G had been 1 since step 1,000: no delay to shorten
    runs = baseline(memorize_at=3000, generalize_at=1000, final_val=0.95) + method([scripted_curve(generalize_at=600)] * 5)
    pairs = method_pairs(load_runs([write_runs(tmp_path, runs)]))
    assert not delayed(pairs[0]["baseline_arm"])
    (row,) = method_rows(pairs)
    for column in ("speedup ↑ (steps)", "speedup ↑ (wall-clock)"):
        assert row[column].startswith("no delay to shorten (baseline delayed in 0/5 memorized runs")
        assert row[column].endswith("final G 1 vs 0.95") and "x" not in row[column].split(";")[0]


def test_runs_that_fall_back_count_as_not_reaching_g90(tmp_path):
    curves = [fell_back(scripted_curve(generalize_at=1000))] * 3 + [scripted_curve(generalize_at=1000)] * 2
    runs = load_runs([write_runs(tmp_path, baseline() + method(curves))])
    methods = runs[runs["method"] == "muon"]
    assert list(methods["profile.verdict"]).count("ungrokked") == 3
    assert time_to_generalize(methods)[1].sum() == 5 and time_to_generalize(methods, held=True)[1].sum() == 2
    a = arm(methods)
    assert (a.reached, a.fell_back, a.median) == (2, 3, None)
    (row,) = method_rows(method_pairs(runs))
    assert row["held G=0.9, fell back"] == "2/5, 3/5" and row["baseline held G=0.9, fell back"] == "5/5, 0/5"
    assert row["speedup ↑ (steps)"].startswith("< ") and "under half the method's runs reached G=0.9" in row["speedup ↑ (steps)"]
    (cells,) = method_grid(method_pairs(runs))
    assert cells["modular · tiny"].startswith("G=0.9 held 2/5, fell back 3/5 (baseline 5/5, 0/5): < ")


def test_wall_clock_only_between_arms_run_side_by_side(tmp_path):
    together = baseline() + method([scripted_curve(generalize_at=1000)] * 5)
    row = only_row(tmp_path / "together", together)
    assert row["speedup ↑ (wall-clock)"].endswith(" s)")
    apart = baseline() + [{**r, "started_at": "2026-01-06T10:00:00"} for r in method([scripted_curve(generalize_at=1000)] * 5)]
    row = only_row(tmp_path / "apart", apart)
    assert row["speedup ↑ (wall-clock)"] == "steps only: not run side by side (method 2026-01-06 10:00, baseline 2026-01-05 10:00)"
    assert row["speedup ↑ (steps)"].endswith(" steps)") and "x" in row["speedup ↑ (steps)"]
    other = baseline() + method([scripted_curve(generalize_at=1000)] * 5, commit="f" * 40)
    assert only_row(tmp_path / "commit", other)["speedup ↑ (wall-clock)"] == "steps only: the arms ran at different commits"


def tuning_record(value: float, final_val: float, generalize_at: int | None) -> dict:
    record = make_record("big_init", 100, scripted_curve(generalize_at=generalize_at, final_val=final_val, chance=0.1),
                         method="grokfast_ma", domain="mnist", exact=False, chance=0.1)
    return {**record, "method_settings": {"name": "grokfast_ma", "domain": "mnist", "knobs": {"window": 100, "lamb": value}}}


def test_tuning_scores_on_the_boards_scale_and_counts_fallbacks(tmp_path):
    common = {"domain": "mnist", "exact": False, "chance": 0.1}
    board = write_runs(tmp_path / "records", [
        *[make_record("big_init", s, scripted_curve(final_val=0.6, chance=0.1), control="plain_init", **common)
          for s in range(3)],
        *[make_record("plain_init", s, scripted_curve(generalize_at=600, final_val=0.6, chance=0.1), role="control",
                      **common) for s in range(3)]])
    # against a perfect score none reaches G = 0.9 and 5.0 ends highest; against the control's 0.6,
    # 0.1 and 1.0 reach it, 1.0 first
    for value, final, at in ((0.1, 0.6, 3000), (1.0, 0.58, 2000), (5.0, 0.62, None)):
        write_record(tmp_path / "tuning" / f"big_init_grokfast_ma_lamb{value}" / "seed100", tuning_record(value, final, at))
    lines = report(tmp_path / "tuning", board)
    assert "G against reference 0.6 from control plain_init (3 runs)" in lines[1]
    assert lines[-1].startswith("grokfast_ma / mnist: lamb: 1.0   # picked by the rule") and "conf/method: 5.0, differs" in lines[-1]

    def run(step, final, verdict):
        return {"status": "completed", "profile.generalized_step": step, "profile.final_progress": final,
                "profile.verdict": verdict}

    assert pick([0.1, 1.0], {0.1: run(500, 0.5, "ungrokked"), 1.0: run(900, 1.0, "generalized")}) == 1.0
    assert pick([0.1, 1.0], {0.1: run(500, 0.5, "ungrokked"), 1.0: run(None, 0.4, "memorized")}) == 0.1  # highest final


def test_a_cell_whose_pick_changed_since_its_runs_says_to_rerun(tmp_path):
    now = knob_value(entry("grokfast_ma", "mnist"), "lamb")
    other = next(v for v in tuning_plan("grokfast_ma", "mnist")["lamb"] if v != now)
    ran = {"name": "grokfast_ma", "domain": "mnist", "knobs": {"window": 100, "lamb": other}, "tuned": True}
    runs = baseline() + [{**r, "method_settings": ran}
                         for r in method([scripted_curve(generalize_at=1000)] * 5, name="grokfast_ma")]
    assert only_row(tmp_path / "old", runs)["method settings"].endswith(
        f"to rerun: conf/method now picks lamb {now} (these runs: {other})")
    current = [{**r, "method_settings": {**ran, "knobs": {"window": 100, "lamb": now}}} for r in runs]
    assert "to rerun" not in only_row(tmp_path / "current", current)["method settings"]
