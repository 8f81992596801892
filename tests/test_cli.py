"""The command line: listings and one-line errors with a non-zero exit code."""

import json
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from grokbench.catalog import domain, domain_names
from grokbench.cli import CONF_DIR, main, options
from grokbench.config import check_task_keys, compose_config, recipe_rule


def error_lines(capsys):
    err = capsys.readouterr().err
    return [line for line in err.splitlines() if line.strip()]


@pytest.mark.parametrize("override, expected", [
    ("task=nope", "unknown task 'nope'; available: "),
    ("model=gpt9", "unknown model 'gpt9'; available: "),
    ("experiment=power2099", "unknown experiment 'power2099'; available: "),
    ("method=magic", "unknown method 'magic'; available: "),
])
def test_unknown_choice_is_one_line_listing_what_exists(capsys, override, expected):
    assert main(["run", override]) != 0
    lines = error_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith(f"error: {expected}")
    group = override.split("=")[0]
    assert "modular" in lines[0] if group == "task" else True
    assert "transformer" in lines[0] if group == "model" else True


@pytest.mark.parametrize("overrides, expected", [
    (["task.op=x/y", "task.p=91"], "error: task.p=91 is not prime"),
    (["task.train_fraction=1.5"], "error: task.train_fraction=1.5 is outside the allowed range (0, 1)"),
    (["model=token_mlp", "+model.n_layers=2"], "error: model token_mlp: "),
])
def test_invalid_parameter_is_one_line_and_still_writes_a_failed_record(capsys, tmp_path, overrides, expected):
    code = main(["run", *overrides, "progress_bar=false", f"hydra.run.dir={tmp_path}"])
    assert code != 0
    lines = error_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith(expected)
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["status"] == "failed" and record["error"]


def test_ls_lists_every_group(capsys):
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    for word in ("tasks", "modular", "s5", "models", "transformer", "experiments", "power2022_division"):
        assert word in out


def test_unknown_command(capsys):
    assert main(["frobnicate"]) == 2
    assert error_lines(capsys) == ["error: unknown command 'frobnicate'; available: "
                                   + ", ".join(__import__("grokbench.cli").cli.COMMANDS)]


@pytest.mark.slow
def test_console_script_prints_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "grokbench.cli", "run", "task=nope"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: unknown task 'nope'")


# --- any task from the command line ----------------------------------------------------------



def test_no_arguments_compose_the_default_recipe_as_before():
    """`grokbench run` alone is the default recipe, values unchanged by the per-task defaults."""
    cfg = compose_config([])
    assert OmegaConf.to_container(cfg.task) == {
        "_target_": "grokbench.tasks.algorithmic.ModularArithmetic", "op": "x+y", "p": 97, "train_fraction": 0.67,
        "split": "unordered", "split_seed": 0, "batch_size": 512}
    assert cfg.model._target_ == "grokbench.models.transformer.Transformer"
    assert (cfg.model.n_layers, cfg.model.d_model, cfg.model.n_heads, cfg.model.d_mlp) == (1, 64, 4, 256)
    assert cfg.optim._target_ == "torch.optim.AdamW" and cfg.optim.weight_decay == 1.0
    assert cfg.trainer.max_steps == 8000 and cfg.eval.every == 50 and cfg.detector.stop_after_steps == 500
    assert cfg.name == "default" and cfg.meta.control == "default_control" and cfg.meta.domain == "modular"
    assert cfg.method.name == "baseline"


@pytest.mark.parametrize("task", domain_names())
def test_a_task_alone_runs_with_its_own_defaults(task):
    """`task=X` without an experiment: no default-recipe key leaks in, the task picks its model
    and names the run; every key is one its class takes."""
    cfg = compose_config([f"task={task}"])
    assert cfg.name == task and cfg.meta.domain == task and cfg.meta.role == "main"
    picked = OmegaConf.load(CONF_DIR / "model" / f"{domain(task).default_model}.yaml")  # the catalog's
    assert cfg.model._target_ == picked._target_
    check_task_keys(cfg.task)  # raises on a leaked key
    own = OmegaConf.load(CONF_DIR / "task" / f"{task}.yaml").task
    assert OmegaConf.to_container(cfg.task) == OmegaConf.to_container(own)
    assert compose_config([f"task={task}", "model=mlp"]).model._target_ == "grokbench.models.mlp.MLP"  # the command line wins


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_recipe_gives_its_task_only_keys_it_takes(experiment):
    check_task_keys(compose_config([f"experiment={experiment}"]).task)


def test_recipe_rule_keeps_the_default_recipe_unless_a_task_is_chosen():
    assert recipe_rule(["seed=1", "task.op=x/y"]) == ["seed=1", "task.op=x/y"]
    assert recipe_rule(["task=mnist", "seed=1"]) == ["task=mnist", "seed=1", "~experiment"]
    assert recipe_rule(["task=mnist", "experiment=quick_mnist"]) == ["task=mnist", "experiment=quick_mnist"]
    assert recipe_rule(["experiment=null", "task=s5"]) == ["~experiment", "task=s5"]
    assert recipe_rule(recipe_rule(["task=s5"])) == ["task=s5", "~experiment"]


TINY = ["trainer.max_steps=10", "eval.every=5", "threads=1", "progress_bar=false"]


def test_task_s5_runs_from_the_command_line(capsys, tmp_path):
    code = main(["run", "task=s5", "model.d_model=16", "model.d_mlp=32", *TINY, f"hydra.run.dir={tmp_path}"])
    record = json.loads((tmp_path / "record.json").read_text())
    assert code == 0 and record["status"] == "completed", record["error"]
    assert (record["task"], record["recipe"], record["model"], record["steps"]) == ("s5", "s5", "transformer_small", 10)
    assert record["meta"]["domain"] == "s5" and "~experiment" in record["overrides"]


def test_task_mnist_with_a_local_source_runs_from_the_command_line(capsys, tmp_path, tiny_mnist):
    code = main(["run", "task=mnist", f"task.source={tiny_mnist}", "task.n_train=30", "model.width=16",
                 *TINY, f"hydra.run.dir={tmp_path / 'run'}"])
    record = json.loads((tmp_path / "run" / "record.json").read_text())
    assert code == 0 and record["status"] == "completed", record["error"]
    assert (record["task"], record["recipe"], record["model"], record["num_train"]) == ("mnist", "mnist", "mlp", 30)


@pytest.mark.parametrize("recipes", ["quick_mnist,quick_mnist_control", "glob(quick_mnist*)",
                                     "choice(quick_mnist_control,quick_mnist)"])
def test_a_sweep_over_recipes_takes_their_task_keys(capsys, tmp_path, tiny_mnist, recipes):
    """Hydra composes a sweep's own config with the default (modular) recipe, whose task has no
    `source`; the runs are MNIST's, which has."""
    code = main(["run", "-m", f"experiment={recipes}", f"task.source={tiny_mnist}", "task.n_train=30",
                 "model.width=16", *TINY, f"hydra.sweep.dir={tmp_path}"])
    assert code == 0, capsys.readouterr().err
    records = [json.loads(p.read_text()) for p in sorted(tmp_path.rglob("record.json"))]
    assert sorted(r["recipe"] for r in records) == ["quick_mnist", "quick_mnist_control"]
    assert all(r["status"] == "completed" and r["num_train"] == 30 for r in records)


def test_a_glob_matching_no_recipe_and_a_typo_in_a_swept_task_key_are_one_line(capsys, tmp_path, tiny_mnist):
    capsys.readouterr()  # the fixture's output
    assert main(["run", "-m", "experiment=glob(nothing*)", *TINY]) == 2
    expected = f"error: experiment=glob(nothing*) matches no experiment; available: {', '.join(options('experiment'))}"
    assert error_lines(capsys) == [expected]
    assert main(["run", "-m", "experiment=quick_mnist,quick_mnist_control", f"task.sourse={tiny_mnist}", *TINY,
                 f"hydra.sweep.dir={tmp_path}"]) == 2
    lines = error_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("error: task.sourse is not a key of task mnist; its keys: source")


def test_a_key_of_another_task_is_one_line_naming_the_task_keys(capsys, tmp_path):
    """The default recipe chosen on purpose with another task: its modular keys do not apply."""
    code = main(["run", "experiment=default", "task=mnist", *TINY, f"hydra.run.dir={tmp_path}"])
    assert code != 0
    lines = error_lines(capsys)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: task.op, task.p, task.train_fraction, task.split are not keys of task "
                               "mnist; its keys: source, n_train, n_test, normalize, mean, std, batch_size, split_seed")
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["status"] == "failed" and record["traceback"] is None


def test_a_key_the_chosen_task_lacks_is_one_line_before_any_run(capsys, tmp_path):
    assert main(["run", "task=s5", "task.source=data/s5", f"hydra.run.dir={tmp_path}"]) != 0
    assert error_lines(capsys) == [("error: task.source is not a key of task s5; its keys: op, train_fraction, "
                                    "split, batch_size, split_seed")]
    assert not (tmp_path / "record.json").exists()  # nothing ran: no run directory was made
