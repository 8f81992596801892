"""Continue from a run (init_from), the fall of a continued run, the Ungrokking table and suite (issue 27).

One tiny parent (modular x+y mod 23, 40 steps, its final state saved) serves every run test: a
child continued from it on a smaller training set, from the command line, and each bad input.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from fixtures.scripted_records import make_record, scripted_curve, write_runs
from omegaconf import OmegaConf

from grokbench import continuation, run
from grokbench.board import write_board
from grokbench.board.ungrokking import started_afresh, ungrokking_markdown, ungrokking_rows
from grokbench.cli import main
from grokbench.config import compose_config
from grokbench.errors import GrokbenchError
from grokbench.profile import FALL_VERDICTS, Fall, ProfileSettings, analyze_fall
from grokbench.record import RECORD_NAME, read_record, write_record
from grokbench.suite import expected_runs, load_suite, sweep_commands

TINY = ["~experiment", "task.p=23", "task.train_fraction=0.6", "task.batch_size=64", "model=token_mlp",
        "model.d_embed=16", "model.width=32", "optim.lr=1e-2", "eval.every=10", "threads=1",
        "progress_bar=false", "seed=2", "task.split_seed=2"]
PARENT = [*TINY, "trainer.max_steps=40", "checkpoint.at_end=true"]


@pytest.fixture(scope="module")
def parent(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("parent")
    record = run.train(compose_config(PARENT, run_dir))
    assert record["status"] == "completed", record["error"]
    return run_dir


def child_args(parent: Path, run_dir: Path, *extra: str) -> list[str]:
    return ["run", *TINY, f"init_from={parent}", "trainer.max_steps=20", *extra, f"hydra.run.dir={run_dir}"]


def rows_of(inputs: torch.Tensor) -> set[tuple[int, ...]]:
    return {tuple(row) for row in inputs.tolist()}


# --- continuing a run -------------------------------------------------------------------------

def test_a_finished_run_saves_its_final_state_and_is_found_by_its_step(parent):
    record = read_record(parent / RECORD_NAME)
    found = continuation.find_parent(str(parent))
    assert found.step == record["steps"] == 40 and found.checkpoint == parent / "checkpoints" / "last.ckpt"
    assert continuation.find_parent(str(parent), 40).step == 40  # a named step its checkpoints hold


def test_child_from_the_command_line_names_its_parent_and_starts_from_its_weights(parent, tmp_path, capsys):
    child_dir = tmp_path / "child"
    code = main(child_args(parent, child_dir, "task.train_fraction=0.3", "optim.weight_decay=0.5"))
    assert code == 0, capsys.readouterr().err
    child, mother = read_record(child_dir / RECORD_NAME), read_record(parent / RECORD_NAME)
    assert child["status"] == "completed" and child["steps"] == 20  # steps count from the child's start
    assert child["parent"] == {"run_dir": str(parent), "recipe": mother["recipe"], "seed": 2, "step": 40,
                               "commit": mother["git_commit"], "dirty": mother["git_dirty"],
                               "verdict": mother["verdict"], "checkpoint": str(parent / "checkpoints" / "last.ckpt")}
    assert child["kept"]["key"] == "task.train_fraction" and child["kept"]["fraction"] == 0.5
    assert child["kept"]["num_train"] == child["num_train"] < mother["num_train"] == child["kept"]["parent_num_train"]
    assert child["num_val"] == mother["num_val"] and child["task_params"]["train_fraction"] == 0.3
    assert {k: v["child"] for k, v in child["changed"].items()} == {
        "task.train_fraction": 0.3, "optim.weight_decay": 0.5, "trainer.max_steps": 20, "checkpoint.at_end": False}
    # the start is the parent's final state on the parent's held-out set, read by the fall
    assert child["verdict"] in FALL_VERDICTS and child["profile"] == {}
    assert child["fall"]["start"] == round(mother["final"]["val/acc"], 4)
    with (child_dir / "metrics.csv").open(newline="") as file:
        start = next(row for row in csv.DictReader(file) if row["step"] == "0")
    assert float(start["weights/l2"]) == pytest.approx(mother["final"]["weights/l2"], rel=1e-6)
    assert capsys.readouterr().out.startswith(f"{child['verdict']}: val/acc ")  # the fall, in one line


def test_the_child_trains_on_a_nested_seeded_subset_with_the_parents_held_out_set(parent):
    mother = run.build_task(compose_config(PARENT))
    found = continuation.find_parent(str(parent))
    tasks = {f: run.build_task(compose_config([*TINY, f"task.train_fraction={f}", f"init_from={parent}"]), found)
             for f in (0.2, 0.3)}
    for task in tasks.values():
        assert torch.equal(task.splits.val_inputs, mother.splits.val_inputs)
        assert torch.equal(task.splits.val_targets, mother.splits.val_targets)
        pairs = rows_of(task.splits.train_inputs)
        assert pairs < rows_of(mother.splits.train_inputs)
        assert all((b, op, a, eq) in pairs for a, op, b, eq in pairs)  # a pair and its mirror stay together
    assert rows_of(tasks[0.2].splits.train_inputs) < rows_of(tasks[0.3].splits.train_inputs)


def test_the_optimizer_continues_with_the_childs_settings_and_the_warmup_where_the_parent_left_it():
    model = torch.nn.Linear(3, 2)
    first = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1.0)
    model(torch.ones(4, 3)).sum().backward()
    first.step()
    child = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.1)
    warmup = torch.optim.lr_scheduler.LambdaLR(child, lambda step: min(1.0, (step + 1) / 10))
    continuation.continue_optimizer(child, first.state_dict(), step=3, scheduler=warmup)
    group = child.param_groups[0]
    assert group["weight_decay"] == 0.1 and group["lr"] == pytest.approx(2e-3 * 0.4) and warmup.last_epoch == 3
    assert torch.equal(child.state[model.weight]["exp_avg"], first.state[model.weight]["exp_avg"])


@pytest.mark.parametrize(("extra", "says"), [
    (["task.train_fraction=0.8"], "task.train_fraction=0.8 is invalid for a run continued from"),
    (["task.p=29"], "task.p=29 differs from its run's (23)"),
    (["model.width=48"], "model.width differs from its run's model"),
    (["init_step=5"], "init_step=5: "),
])
def test_bad_input_is_one_line_with_a_record(parent, tmp_path, capsys, extra, says):
    child_dir = tmp_path / "child"
    assert main(child_args(parent, child_dir, *extra)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err
    record = read_record(child_dir / RECORD_NAME)
    assert record["status"] == "failed" and says in record["error"] and record["traceback"] is None


def test_a_child_of_another_task_is_refused_naming_both(parent):
    with pytest.raises(GrokbenchError, match="its run trained task modular, this one s5; allowed: the parent's "
                                             "recipe"):
        continuation.sized_like_parent(compose_config(["task=s5"]), continuation.find_parent(str(parent)))


@pytest.mark.parametrize("case", ["missing", "no checkpoint"])
def test_a_parent_that_cannot_be_continued_is_one_line_with_a_record(parent, tmp_path, capsys, case):
    source = tmp_path / "nothing"
    if case == "no checkpoint":
        shutil.copytree(parent, source, ignore=shutil.ignore_patterns("checkpoints", ".lock"))
    assert main(child_args(source, tmp_path / "child")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    says = "is not a directory" if case == "missing" else "holds no checkpoint"
    assert len(err) == 1 and f"init_from={source}" in err[0] and says in err[0], err
    assert read_record(tmp_path / "child" / RECORD_NAME)["status"] == "failed"


# --- the fall (grokbench/profile/fall.py) ------------------------------------------------------

SETTINGS = ProfileSettings(chance=0.01, heldout_size=3000)  # band: 3 x sqrt(0.01 x 0.99 / 3000) = 0.0055


def history(*values: float) -> list[dict]:
    return [{"step": 100 * i, "train_eval/acc": 1.0, "val/acc": v} for i, v in enumerate(values)]


@pytest.mark.parametrize(("values", "verdict", "fell_step"), [
    ((1.0, 1.0, 0.99, 1.0, 0.995), "held", None),
    ((1.0, 0.95, 0.6, 0.5, 0.45, 0.4), "fell", 200),
    ((1.0, 0.5, 0.2, 0.012, 0.01, 0.011), "fell_to_chance", 100),
    ((1.0, 0.2, 0.95, 0.3, 0.2, 0.1), "fell", 300),          # below 0.9 of the start for good from step 300
    ((1.0, 0.95, 0.5, 0.5), "held", None),                   # two evaluations below are not a level (sustain 3)
    ((1.0, 0.95, 0.92, 0.91, 0.915), "held", None),          # above 0.9 of the start
    ((0.012, 0.01, 0.011, 0.012), "not_generalized_at_start", None),
])
def test_the_fall_is_read_against_the_start_beyond_the_noise_band(values, verdict, fell_step):
    fall = analyze_fall(history(*values), SETTINGS)
    assert (fall.verdict, fall.fell_step) == (verdict, fell_step), fall
    assert fall.start == values[0] and fall.band == pytest.approx(0.0055, abs=1e-4)


def test_a_fall_within_the_noise_band_is_no_fall():
    settings = ProfileSettings(chance=0.01, heldout_size=30)  # band 0.055: a small held-out set
    fall = analyze_fall(history(0.08, 0.05, 0.05, 0.05), settings)
    assert fall.verdict == "held" and fall.kept < 0.9 and fall.fall < fall.band


def test_the_fall_needs_the_start_and_reports_divergence():
    with pytest.raises(GrokbenchError, match="no evaluation at step 0"):
        analyze_fall(history(1.0, 0.5)[1:], SETTINGS)
    assert analyze_fall([*history(1.0, 0.5), {"step": 200, "finite": False}], SETTINGS).verdict == "diverged"


# --- the board's Ungrokking table --------------------------------------------------------------

def child_record(seed: int, fraction: float, end: float, verdict: str, status: str = "completed") -> dict:
    record = make_record("tiny", seed, scripted_curve(generalize_at=300, last_step=3000), status=status)
    fall = Fall(verdict, "val/acc", 0.0, 0.005, start=1.0, end=end, fall=1.0 - end, kept=end, last_step=3000)
    return {**record, "profile": {}, "verdict": verdict, "fall": asdict(fall),
            "parent": {"run_dir": f"records/tiny/seed{seed}", "recipe": "tiny", "seed": seed, "step": 5000},
            "kept": {"key": "task.train_fraction", "parent": 0.6, "child": fraction, "fraction": fraction / 0.6}}


def fabricated_children() -> list[dict]:
    return [child_record(0, 0.1, 0.05, "fell"), child_record(1, 0.1, 0.001, "fell_to_chance"),
            child_record(2, 0.1, 0.95, "held"), child_record(0, 0.45, 1.0, "held"), child_record(1, 0.45, 0.99, "held"),
            child_record(2, 0.45, 0.99, "held", status="failed")]


def test_the_ungrokking_table_counts_falls_per_kept_size():
    no_parent = {**make_record("tiny", 3, [], status="failed"), "parent": {"run_dir": "gone", "step": None}}
    rows = ungrokking_rows([(Path(f"r{i}"), r) for i, r in enumerate([no_parent, *fabricated_children()])])
    assert [r["kept"] for r in rows] == ["task.train_fraction=0.1 (0.167)", "task.train_fraction=0.45 (0.75)", "—"]
    small, large, failed = rows
    assert (failed["runs"], failed["fell"], failed["failed"]) == ("1", "0/0", "1")  # failed before its size was known
    assert (small["runs"], small["fell"], small["to chance"], small["failed"]) == ("3", "2/3", "1", "0")
    assert small["after k steps"] == "0.05 [0.001, 0.95] n=3" and small["start"] == "1 [1, 1] n=3"
    assert (large["runs"], large["fell"], large["failed"], large["k steps"]) == ("3", "0/2", "1", "3,000")
    assert ungrokking_markdown([(Path("r"), make_record("tiny", 0, scripted_curve()))]) == ""


def test_an_integer_kept_size_reads_as_an_integer_beside_a_run_without_one():
    no_parent = {**make_record("tiny", 3, [], status="failed"), "parent": {"run_dir": "gone", "step": None}}
    small, whole = child_record(0, 0.1, 0.05, "fell"), child_record(0, 1.0, 0.9, "held")
    small["kept"] = {"key": "task.n_train", "parent": 1000, "child": 100, "fraction": 0.1}
    whole["kept"] = {"key": "task.n_train", "parent": 1000, "child": 1000, "fraction": 1.0}
    rows = ungrokking_rows([(Path("a"), no_parent), (Path("b"), small), (Path("c"), whole)])
    # not 100.0 (NaN made the column float) and not 1e+03 (3 significant digits)
    assert [r["kept"] for r in rows] == ["task.n_train=100 (0.1)", "task.n_train=1000 (1)", "—"]


def test_the_board_shows_continued_runs_in_their_own_section_only(tmp_path):
    parents = [make_record("tiny", s, scripted_curve(generalize_at=3000)) for s in range(3)]
    records = write_runs(tmp_path / "records", parents)
    plain = write_board([records], tmp_path / "plain").read_text()
    assert "## Ungrokking" not in plain
    for record in fabricated_children():
        size = record["kept"]["child"]
        write_record(records / "tiny_continued" / f"task.train_fraction={size}" / f"seed{record['seed']}", record)
    readme = write_board([records], tmp_path / "out").read_text()
    assert "## Ungrokking" in readme and "task.train_fraction=0.1 (0.167)" in readme
    assert readme.split("## Ungrokking")[0].rstrip("\n") == plain.rstrip("\n")  # the other tables: parents only
    assert len(started_afresh([(Path("a"), p) for p in parents] + [(Path("b"), fabricated_children()[0])])) == 3


# --- the suite ------------------------------------------------------------------------------------

def test_the_ungrok_suite_continues_each_parent_into_its_own_folders():
    suite = load_suite("ungrok")
    commands = sweep_commands(suite, "out", None, [])
    continued = [c for c in commands if any(a.startswith("init_from=") for a in c)]
    assert [next(a for a in c if a.startswith("init_from=")) for c in continued] == [
        "init_from=out/default/seed${seed}", "init_from=out/imdb_bow_largeinit/seed${seed}"]
    assert all("checkpoint.at_end=true" in c for c in commands if c not in continued)  # the parents save
    assert "trainer.max_steps=3000" in continued[0] and "trainer.max_steps=3000" not in commands[0]
    runs = expected_runs(suite, None)
    assert ("default_continued/task.train_fraction=0.1", 4) in runs and ("default", 0) in runs
    assert len(runs) == 5 + 25 + 10 + 25


def test_a_continued_sweep_needs_an_earlier_plain_parent_sweep(tmp_path, monkeypatch):
    from grokbench import suite as suites

    bad = {"sweeps": {"kids": {"experiments": ["default"], "seeds": [0], "parents": "later"},
                      "later": {"experiments": ["default"], "seeds": [0]}}}
    monkeypatch.setattr(suites, "CONF_DIR", tmp_path)
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "bad.yaml").write_text(OmegaConf.to_yaml(bad))
    monkeypatch.setattr(suites, "options", lambda group: ["bad"] if group == "suite" else ["default"])
    with pytest.raises(GrokbenchError, match="sweep kids has parents=later; allowed: an earlier sweep"):
        load_suite("bad")
