"""Sweeps as results: records keep their launch overrides, the board gives one row per setting
(or per `--group-by` keys), swept controls give each setting its own reference level, a
two-parameter sweep gets a phase diagram, and the `phase` suite lays out its grid."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
from fixtures.scripted_records import make_record, scripted_curve
from omegaconf import OmegaConf

from grokbench.board import load_runs, write_board
from grokbench.board.pairing import configurations
from grokbench.board.phase import cells
from grokbench.board.tables import domain_rows, swept_domains, universality_rows
from grokbench.cli import main
from grokbench.record import RECORD_NAME, read_record, write_record
from grokbench.suite import expected_runs, load_suite, sweep_commands


def swept(record: dict, config: dict | None = None, **overrides) -> dict:
    """A scripted record as a sweep launches it: bookkeeping overrides plus `key=value` ones
    (pass keys with '__' for '.', e.g. optim__weight_decay=0.1), and its resolved config."""
    seed = record["seed"]
    record["overrides"] = [f"experiment={record['recipe']}", f"seed={seed}", "task.split_seed=$\\{seed\\}",
                           "progress_bar=False", f"threads={1 + seed % 2}", "launcher=joblib", "workers=2",
                           *(f"{k.replace('__', '.')}={v}" for k, v in overrides.items())]
    record["config"] = config or {}
    return record


def write_sweep(root, records: list[dict]):
    """Records into root/<recipe>/<setting>/seed<k>, as a grid sweep lays them out."""
    for record in records:
        cell = ",".join(o for o in record["overrides"][7:]) or "plain"
        write_record(root / record["recipe"] / cell / f"seed{record['seed']}", record)
    return root


def weight_decay_sweep() -> list[dict]:
    """Recipe `tiny` over two weight decays (three seeds each; 1e-1 written two ways), plus one
    run launched plainly whose config has weight decay 0.1."""
    runs = [swept(make_record("tiny", s, scripted_curve(generalize_at=None)), optim__weight_decay=0.01)
            for s in range(3)]
    runs += [swept(make_record("tiny", s, scripted_curve(generalize_at=3000)),
                   optim__weight_decay="0.1" if s else "1e-1") for s in range(3)]
    runs += [swept(make_record("tiny", 3, scripted_curve(generalize_at=3000)),
                   config={"optim": {"weight_decay": 0.1}})]
    return runs


@pytest.mark.slow
def test_a_grid_sweep_keeps_its_overrides_and_gives_a_row_per_setting(tmp_path):
    suite = OmegaConf.create({"overrides": ["progress_bar=false"], "sweeps": {"tiny": {
        "experiments": ["default"], "seeds": [0], "grid": {"optim.weight_decay": [0, 0.5]}}}})
    tiny = ["task.p=7", "model=token_mlp", "trainer.max_steps=10", "eval.every=5", "threads=1"]
    out = tmp_path / "records"
    (command,) = sweep_commands(suite, str(out), None, tiny)
    assert "optim.weight_decay=0,0.5" in command
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    paths = [out / name / f"seed{seed}" / RECORD_NAME for name, seed in expected_runs(suite, None)]
    assert [p.relative_to(out).parent.as_posix() for p in paths] == [
        "default/optim.weight_decay=0/seed0", "default/optim.weight_decay=0.5/seed0"]
    records = [read_record(p) for p in paths]
    assert [r["status"] for r in records] == ["completed", "completed"], [r["error"] for r in records]
    for record, decay in zip(records, ("0", "0.5")):
        assert f"optim.weight_decay={decay}" in record["overrides"] and "seed=0" in record["overrides"]
        assert record["config"]["optim"]["weight_decay"] == float(decay)
    runs = load_runs([out])
    assert [c["setting"] for c, _ in configurations(runs)] == ["optim.weight_decay=0", "optim.weight_decay=0.5"]


def test_a_weight_decay_sweep_is_one_row_per_setting_with_its_seeds(tmp_path):
    runs = load_runs([write_sweep(tmp_path, weight_decay_sweep())])
    rows = domain_rows(runs, "modular")
    assert [(r["setting"], r["seeds"]) for r in rows] == [
        ("optim.weight_decay=0.01", "0,1,2"), ("optim.weight_decay=0.1", "0,1,2,3")]
    assert [r["verdicts"] for r in rows] == ["memorized 3", "grokked 4"]
    table = pd.read_csv(write_board([tmp_path], tmp_path / "out").parent / "leaderboard.csv")
    assert table["setting"].tolist() == ["optim.weight_decay=0.01", "optim.weight_decay=0.1"]
    assert table["seeds"].tolist() == ["0;1;2", "0;1;2;3"]


def test_runs_that_differ_only_in_bookkeeping_stay_one_row(tmp_path):
    runs = [swept(make_record("tiny", s, scripted_curve()), task__source=f"/data/copy{s}") for s in range(3)]
    rows = domain_rows(load_runs([write_sweep(tmp_path, runs)]), "modular")
    assert len(rows) == 1 and rows[0]["seeds"] == "0,1,2" and "setting" not in rows[0]


def test_group_by_chooses_the_keys_and_pools_the_others(tmp_path, capsys):
    runs = [swept(make_record("tiny", s, scripted_curve()), module__init_scale=alpha, optim__weight_decay=wd)
            for alpha in (1, 8) for wd in (0.01, 0.1) for s in range(2)]
    records = write_sweep(tmp_path / "records", runs)
    assert len(configurations(load_runs([records]))) == 4
    by_alpha = load_runs([records], group_by=["module.init_scale"])
    assert [(c["setting"], len(g)) for c, g in configurations(by_alpha)] == [
        ("module.init_scale=1", 4), ("module.init_scale=8", 4)]
    assert main(["board", str(records), "--out", str(tmp_path / "out"), "--group-by", "module.init_scale"]) == 0
    assert pd.read_csv(tmp_path / "out" / "leaderboard.csv")["runs"].tolist() == [4, 4]
    assert main(["board", str(records), "--out", str(tmp_path / "out"), "--group-by", ","]) == 2
    assert "--group-by ',' is invalid" in capsys.readouterr().err


def inexact(recipe: str, seed: int, final: float, role: str = "main", **overrides) -> dict:
    common = {"domain": "mnist", "exact": False, "chance": 0.1}
    control = None if role == "control" else "plain"
    curve = scripted_curve(generalize_at=600 if role == "control" else 3000, final_val=final, chance=0.1)
    return swept(make_record(recipe, seed, curve, role=role, control=control, **common), **overrides)


def test_a_swept_control_gives_each_setting_its_own_reference(tmp_path):
    runs = [inexact("big", s, final, optim__weight_decay=wd) for wd, final in ((0.01, 0.6), (0.1, 0.8))
            for s in range(2)]
    runs += [inexact("plain", s, final, role="control", optim__weight_decay=wd)
             for wd, final in ((0.01, 0.6), (0.1, 0.8)) for s in range(2)]
    frame = load_runs([write_sweep(tmp_path, runs)])
    for setting, level in (("optim.weight_decay=0.01", 0.6), ("optim.weight_decay=0.1", 0.8)):
        for recipe in ("big", "plain"):
            picked = frame[(frame["recipe"] == recipe) & (frame["setting"] == setting)]
            assert picked["profile.reference"].tolist() == pytest.approx([level] * 2)
        notes = set(frame[(frame["recipe"] == "big") & (frame["setting"] == setting)]["reference_note"])
        assert notes == {f"reference {level:.4g} from control plain at {setting} (2 runs)"}
    rows = {r["setting"]: r for r in domain_rows(frame, "mnist") if r["recipe"] == "big"}
    assert rows["optim.weight_decay=0.1"]["paired with"] == "control plain at optim.weight_decay=0.1"


def test_an_unswept_control_is_pooled_for_every_setting(tmp_path):
    runs = [inexact("big", s, 0.8, optim__weight_decay=wd) for wd in (0.01, 0.1) for s in range(2)]
    runs += [inexact("plain", s, final, role="control") for s, final in enumerate((0.7, 0.9))]
    frame = load_runs([write_sweep(tmp_path, runs)])
    main_runs = frame[frame["recipe"] == "big"]
    assert main_runs["profile.reference"].tolist() == pytest.approx([0.8] * 4)  # median of 0.7 and 0.9
    assert set(main_runs["reference_note"]) == {"reference 0.8 from control plain (2 runs)"}


def alpha_by_decay(**extra) -> list[dict]:
    """A 2 x 2 sweep, two seeds a cell: alpha 1 generalizes at once, alpha 8 memorizes at weight
    decay 0.01 and groks at 0.1. `extra`: more overrides per seed, {key: f(seed)}."""
    generalize_at = {(1, 0.01): 600, (1, 0.1): 600, (8, 0.01): None, (8, 0.1): 3000}
    return [swept(make_record("tiny", s, scripted_curve(generalize_at=g)), module__init_scale=alpha,
                  optim__weight_decay=wd, **{k: f(s) for k, f in extra.items()})
            for (alpha, wd), g in generalize_at.items() for s in range(2)]


def test_a_two_parameter_sweep_gets_a_phase_diagram(tmp_path):
    records = write_sweep(tmp_path / "records", alpha_by_decay())
    runs = load_runs([records])
    table = cells(runs, "module.init_scale", "optim.weight_decay").set_index(["x", "y"])
    assert table.loc[(8, 0.01), "verdict"] == "memorized" and table.loc[(8, 0.1), "verdict"] == "grokked"
    assert table.loc[(8, 0.1), "grok_rate"] == 1 and table.loc[(1, 0.1), "grok_rate"] == 0
    assert table.loc[(1, 0.01), "verdict"] == "generalized"
    assert set(table["runs"]) == {2}
    out = tmp_path / "out"
    write_board([records], out)
    assert (out / "figures" / "phase_tiny.png").stat().st_size > 10_000
    assert "![tiny: phase diagram](figures/phase_tiny.png)" in (out / "README.md").read_text()
    again = tmp_path / "again"
    write_board([records], again)
    assert (again / "figures" / "phase_tiny.png").read_bytes() == (out / "figures" / "phase_tiny.png").read_bytes()


def test_a_domain_with_only_swept_runs_gets_no_universality_row(tmp_path):
    records = write_sweep(tmp_path / "records", alpha_by_decay())
    runs = load_runs([records])
    assert universality_rows(runs) == []  # no setting of the sweep speaks for the recipe
    assert swept_domains(runs) == ["modular: tiny (4 settings)"]
    write_board([records], tmp_path / "out")
    text = (tmp_path / "out" / "README.md").read_text()
    assert "only a sweep ran (see the per-domain table and phase diagram): modular: tiny (4 settings)" in text
    assert "_no runs_" not in text.split("## Per domain")[0]
    plain = [make_record("tiny", s, scripted_curve(generalize_at=3000)) for s in range(2)]
    both = load_runs([write_sweep(tmp_path / "records", plain)])
    assert [row["recipe"] for row in universality_rows(both)] == ["tiny"]  # the unswept runs speak for it

def test_phase_option_chooses_the_axes(tmp_path, capsys):
    records = write_sweep(tmp_path / "records", alpha_by_decay(model__width=lambda s: 16 * (1 + s)))
    write_board([records], tmp_path / "auto")
    assert not (tmp_path / "auto" / "figures" / "phase_tiny.png").exists()  # three swept keys: which two?
    assert main(["board", str(records), "--out", str(tmp_path / "out"),
                 "--phase", "module.init_scale,optim.weight_decay"]) == 0
    assert (tmp_path / "out" / "figures" / "phase_tiny.png").exists()
    assert main(["board", str(records), "--out", str(tmp_path / "bad"), "--phase", "module.init_scale"]) == 2
    assert "--phase 'module.init_scale' is invalid; allowed: 2 distinct keys" in capsys.readouterr().err
    assert main(["board", str(records), "--out", str(tmp_path / "bad"), "--phase", "seed,optim.lr"]) == 2
    assert "no recipe's runs take two or more numeric values of both" in capsys.readouterr().err


def test_phase_suite_dry_run_lists_every_grid_cell_and_seed(capsys):
    suite = load_suite("phase")
    grid = suite.sweeps.diagram.grid
    runs = expected_runs(suite, None)
    cells_ = len(grid["module.init_scale"]) * len(grid["optim.weight_decay"])
    diagram = [(name, seed) for name, seed in runs if name.startswith("quick_mnist/")]
    assert len(diagram) == cells_ * len(suite.sweeps.diagram.seeds) and len(set(diagram)) == len(diagram)
    assert ("quick_mnist/module.init_scale=8,optim.weight_decay=0.1", 4) in diagram
    assert main(["suite", "phase", "--dry-run", "launcher=joblib", "workers=2"]) == 0
    out = capsys.readouterr().out
    assert "module.init_scale=1,2,4,8 optim.weight_decay=0.01,0.1,1 seed=0,1,2,3,4" in out
    assert f"\n{len(runs)} runs:\n" in out
    assert out.count("results/phase/records/quick_mnist/module.init_scale=") == len(diagram)
