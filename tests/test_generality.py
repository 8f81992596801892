"""Held-out generality (issue 11): every preset of the CPU suite runs unchanged on data it was
not tuned on. The image presets on generated image sets of their schema (and, where the model
allows it, on the other image domain's pixels), IMDb on generated restaurant reviews, QM9 on a
generated CSV of other molecules, the modular presets on every other operator of Power et al.'s
set and on other primes, S5 on its other operations.

"Unchanged": a run overrides only the data (source, sizes of the subsample, op, p), the budget
(steps, evaluation schedule) and threads; `run_preset` checks that nothing else differs from the
preset, so the recipe's science (loss, optimizer, initialization, profile levels) is the tuned one.
"""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from conftest import compose_config
from fixtures.generated_data import generated_source, write_image_set
from omegaconf import OmegaConf

from grokbench.config import CONF_DIR
from grokbench.profile import VERDICTS
from grokbench.run import build_task, train
from grokbench.tasks.algorithmic import MODULAR_ALIASES, MODULAR_OPS, S5_ALIASES, S5_OPS

CI_SWEEPS = OmegaConf.load(CONF_DIR / "suite" / "ci.yaml").sweeps
BUDGET = ["threads=1", "trainer.max_steps=4", "eval.every=2", "eval.log_spaced=false"]
# What a run may change: the data it reads, the size of its subsample, its budget. Anything else
# changed would be a different recipe, not the preset on other data.
DATA_AND_BUDGET_KEYS = {"threads", "run_dir", "trainer.max_steps", "eval.every", "eval.log_spaced",
                        "task.source", "task.n_train", "task.n_test", "task.n_val", "task.op", "task.p"}

MODULAR_PRESETS = ("default", "default_control")
GROUP_ORDER = {"s5_token_mlp": 120, "s5_token_mlp_control": 120,  # preset -> |G|, chance = 1/|G|
               "s6_token_mlp": 720, "s6_token_mlp_control": 720}
OTHER_PRIMES = (23, 31)  # small, so a run is quick; prime, so x/y and the mixed operator are defined


@pytest.fixture(autouse=True)
def one_thread_no_figure(monkeypatch):
    """`threads=1` sets torch's global thread count: give the next test file its own back.
    Drawing curves.png takes most of a 4-step run's time and is tested elsewhere, not here."""
    monkeypatch.setattr("grokbench.run.plot_run", lambda record, path: None)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def flat(cfg) -> dict:
    return pd.json_normalize(OmegaConf.to_container(cfg, resolve=False), sep=".").iloc[0].to_dict()


def run_preset(experiment: str, overrides: list[str], run_dir) -> tuple[dict, object]:
    """The preset with only data and budget overrides: its record and the config it ran."""
    cfg = compose_config([f"experiment={experiment}", *BUDGET, *overrides], run_dir)
    preset, ran = flat(compose_config([f"experiment={experiment}"])), flat(cfg)
    changed = {k for k in preset.keys() | ran.keys() if str(preset.get(k)) != str(ran.get(k))}
    assert changed <= DATA_AND_BUDGET_KEYS, f"overrides beyond data and budget: {changed - DATA_AND_BUDGET_KEYS}"
    return train(cfg), cfg


def assert_completed_with_profile(record: dict, chance: float) -> None:
    """Completed, the full budget trained, and the profile read with the task's own levels."""
    assert record["status"] == "completed", record["error"]
    assert record["steps"] == 4 and [row["step"] for row in record["curve"]] == [2, 4]
    assert record["verdict"] in VERDICTS and record["profile"]["verdict"] == record["verdict"]
    assert {"memorized_step", "generalized_step", "progress_at_memorization", "final_progress",
            "censored"} <= record["profile"].keys()
    assert record["detector"]["settings"]["chance"] == pytest.approx(chance)
    assert record["num_train"] > 0 and record["num_val"] > 0


def rows(inputs) -> set[tuple]:
    """Each example's inputs (one tensor, or a tuple of parts such as a graph) as one tuple."""
    parts = (inputs,) if isinstance(inputs, torch.Tensor) else inputs
    return {tuple(row.tolist()) for row in torch.cat([p.flatten(1).double() for p in parts], dim=1)}


def assert_held_out_disjoint(cfg) -> None:
    """The held-out set is non-empty and shares no example with training."""
    splits = build_task(cfg).splits
    held_out, trained = rows(splits.val_inputs), rows(splits.train_inputs)
    assert len(splits.val_targets) > 0 and not held_out & trained


# --- the data domains: each preset on generated data of its schema ------------------------------



SUBSAMPLE = {"mnist": ["task.n_train=20"], "cifar10": ["task.n_train=20", "task.n_test=10"],
             "imdb": ["task.n_train=12", "task.n_test=8"], "qm9": ["task.n_train=8", "task.n_val=8"]}
CHANCE = {"mnist": 0.1, "cifar10": 0.1, "imdb": 0.5, "qm9": 0.0}
# sweeps that read data (`source`); the algorithmic ones build their tables from the task
DATA_PRESETS = [(domain, experiment) for domain, sweep in CI_SWEEPS.items() if sweep.get("source")
                for experiment in sweep.experiments]
TABLE_PRESETS = {e for sweep in CI_SWEEPS.values() if not sweep.get("source") for e in sweep.experiments}


def test_every_ci_preset_has_a_generality_case():
    covered = {e for _, e in DATA_PRESETS} | set(MODULAR_PRESETS) | set(GROUP_ORDER)
    assert {e for sweep in CI_SWEEPS.values() for e in sweep.experiments} == covered
    assert TABLE_PRESETS == set(MODULAR_PRESETS) | set(GROUP_ORDER)


@pytest.mark.parametrize("domain,experiment", DATA_PRESETS)
def test_preset_runs_on_generated_data_of_its_schema(domain, experiment, tmp_path):
    overrides = [f"task.source={generated_source(domain, tmp_path)}", *SUBSAMPLE[domain]]
    record, cfg = run_preset(experiment, overrides, tmp_path / "run")
    assert_completed_with_profile(record, CHANCE[domain])
    assert record["meta"]["domain"] == domain and record["recipe"] == experiment
    if domain != "imdb":  # two distinct reviews can share a bag of words: equal rows are no leak there
        assert_held_out_disjoint(cfg)


# --- the image presets on the other image domain --------------------------------------------------

@pytest.mark.parametrize("experiment", CI_SWEEPS.mnist.experiments)
def test_mnist_presets_take_colour_32px_images(experiment, tmp_path):
    """The MLP's input size comes from the task (dims.input_size), so 3 x 32 x 32 pixels need no
    change to the preset: the first layer is 3,072 wide."""
    source = write_image_set(tmp_path / "rgb32", "image", size=32, channels=3)
    record, _ = run_preset(experiment, [f"task.source={source}", "task.n_train=20"], tmp_path / "run")
    assert_completed_with_profile(record, 0.1)
    width = compose_config([f"experiment={experiment}"]).model.width
    assert record["num_parameters"] == (3 * 32 * 32 + 1) * width + (width + 1) * width + (width + 1) * 10


def assert_one_line_failure(record: dict, *fragments: str) -> None:
    assert record["status"] == "failed" and record.get("traceback") is None, record.get("traceback")
    assert "\n" not in record["error"] and all(f in record["error"] for f in fragments), record["error"]


@pytest.mark.parametrize("experiment", CI_SWEEPS.cifar10.experiments)
def test_cifar_presets_refuse_greyscale_by_their_fixed_rgb_statistics(experiment, tmp_path):
    """The CNN takes any number of channels, but the preset fixes Humayun et al.'s three
    per-channel means and stds (task.mean/std): on one-channel images it fails in one line."""
    source = write_image_set(tmp_path / "greyscale28", "img", size=28, channels=1)
    record, _ = run_preset(experiment, [f"task.source={source}", "task.n_train=20", "task.n_test=10"],
                           tmp_path / "run")
    assert_one_line_failure(record, "task.mean=", "one per image channel (1)")


@pytest.mark.parametrize("experiment,column,expected", [("quick_mnist", "img", "image"),
                                                         ("quick_cifar10", "image", "img")])
def test_image_presets_on_the_other_domains_files_name_the_column_they_read(experiment, column, expected,
                                                                            tmp_path):
    """Each image task reads its Hub schema's image column (MNIST `image`, CIFAR-10 `img`); the
    other domain's files fail in one line that names it."""
    source = write_image_set(tmp_path / "other", column, size=28, channels=1)
    record, _ = run_preset(experiment, [f"task.source={source}", "task.n_train=20"], tmp_path / "run")
    assert_one_line_failure(record, f".parquet has no column {expected!r}")


# --- the algorithmic presets on other operators, primes and operations -----------------------------

# Every operator (by its command-line alias) with both presets, each at one of the other primes,
# alternating, so each operator and each preset meets both primes; x+y is the presets' own operator.
OPERATORS = list(MODULAR_ALIASES.items())
MODULAR_CASES = [(preset, alias, op, OTHER_PRIMES[(i + j) % 2])
                 for i, (alias, op) in enumerate(OPERATORS) for j, preset in enumerate(MODULAR_PRESETS)]


def test_the_cases_cover_every_operator_and_operation():
    assert {op for _, op in OPERATORS} == set(MODULAR_OPS) and set(S5_ALIASES.values()) == set(S5_OPS)


def assert_pairs_split_cleanly(cfg, record: dict) -> None:
    """Held-out pairs are non-empty and not in training; a commutative operator's unordered
    split also keeps each pair's mirror on its side."""
    splits = build_task(cfg).splits
    trained = {tuple(r) for r in splits.train_inputs[:, [0, 2]].tolist()}
    held_out = {tuple(r) for r in splits.val_inputs[:, [0, 2]].tolist()}
    assert held_out and not held_out & trained
    if record["task_params"]["commutative"] and record["task_params"]["split"] == "unordered":
        assert not {(b, a) for a, b in held_out} & trained


@pytest.mark.parametrize("preset,alias,op,p", MODULAR_CASES, ids=[f"{c[0]}-{c[1]}-p{c[3]}" for c in MODULAR_CASES])
def test_modular_preset_on_other_operators_and_primes(preset, alias, op, p, tmp_path):
    record, cfg = run_preset(preset, [f"task.op={alias}", f"task.p={p}"], tmp_path / "run")
    assert_completed_with_profile(record, 1 / p)
    assert record["task_params"]["op"] == op and record["task_params"]["p"] == p
    assert_pairs_split_cleanly(cfg, record)


GROUP_CASES = [(preset, alias) for preset in GROUP_ORDER for alias, op in S5_ALIASES.items()
               if op != compose_config([f"experiment={preset}"]).task.op]


@pytest.mark.parametrize("preset,alias", GROUP_CASES)
def test_permutation_preset_on_its_other_operations(preset, alias, tmp_path):
    record, cfg = run_preset(preset, [f"task.op={alias}"], tmp_path / "run")
    assert_completed_with_profile(record, 1 / GROUP_ORDER[preset])
    assert record["task_params"]["op"] == S5_ALIASES[alias]
    assert_pairs_split_cleanly(cfg, record)
