"""The methods grid: each filter/loss/constraint against hand-computed values, then every
method through a real (tiny) run, and one-line errors for bad method parameters."""

from __future__ import annotations

import functools
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from conftest import compose_config
from test_images import write_split  # tiny generated data of the other domains' tests
from test_text import write_imdb
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from grokbench import run
from grokbench.errors import GrokbenchError
from grokbench.losses import LOSSES
from grokbench.methods.grokfast import GrokfastEMA, GrokfastMA
from grokbench.methods.orthograd import OrthoGrad, orthogonalize
from grokbench.methods.stablemax import stablemax_cross_entropy
from grokbench.methods.weight_norm import WeightNormConstraint, total_norm
from grokbench.module import GrokModule
from grokbench.run import train

GRADIENTS = [[1.0, 0.0], [3.0, 2.0], [-1.0, 4.0], [5.0, 5.0]]
METHODS = ["baseline", "grokfast_ema", "grokfast_ma", "stablemax", "orthograd", "weight_norm_constraint"]
TINY_MODULAR = ["task.p=7", "task.train_fraction=0.6", "model=token_mlp", "model.d_embed=8",
                "model.width=16", "trainer.max_steps=12", "eval.every=4", "module.warmup_steps=0"]


class OneVector(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(2))


def filtered(method, gradients: list[list[float]]) -> list[list[float]]:
    """The gradients after the method's filter, fed one step at a time."""
    module, out = OneVector(), []
    for g in gradients:
        module.w.grad = torch.tensor(g)
        method.filter(module)
        out.append(module.w.grad.tolist())
    return out


def test_grokfast_ema_matches_hand_computation():
    # alpha 0.5, lamb 2: EMA starts at g1 = [1,0] -> [3,0]; EMA [2,1] -> [3,2]+2[2,1] = [7,4];
    # EMA [0.5,2.5] -> [-1,4]+[1,5] = [0,9]; EMA [2.75,3.75] -> [5,5]+[5.5,7.5] = [10.5,12.5].
    assert filtered(GrokfastEMA(alpha=0.5, lamb=2.0), GRADIENTS) == [
        [3.0, 0.0], [7.0, 4.0], [0.0, 9.0], [10.5, 12.5]]


def test_grokfast_ma_matches_hand_computation():
    # window 2, lamb 3: nothing until the window is full; then g + 3 * mean(previous, current).
    assert filtered(GrokfastMA(window=2, lamb=3.0), GRADIENTS) == [
        [1.0, 0.0], [3.0 + 3 * 2.0, 2.0 + 3 * 1.0], [-1.0 + 3 * 1.0, 4.0 + 3 * 3.0],
        [5.0 + 3 * 2.0, 5.0 + 3 * 4.5]]


def test_grokfast_ma_running_sum_stays_exact_over_many_windows():
    gradients = torch.randn(50, 2).tolist()
    got = torch.tensor(filtered(GrokfastMA(window=3, lamb=1.5), gradients))
    g = torch.tensor(gradients)
    expected = torch.cat([g[:2], g[2:] + 1.5 * torch.stack([g[i - 2:i + 1].mean(0) for i in range(2, 50)])])
    assert torch.allclose(got, expected, atol=1e-6)


def stablemax_by_formula(logits: list[float], target: int) -> float:
    s = [x + 1 if x >= 0 else 1 / (1 - x) for x in logits]
    return -torch.log(torch.tensor(s[target] / sum(s), dtype=torch.float64)).item()


def test_stablemax_loss_matches_its_formula_in_float64():
    logits = torch.tensor([[2.0, -1.0, 0.0, 1.0], [-3.0, 0.5, 1.0, -0.25]], dtype=torch.float32)
    targets = torch.tensor([0, 3])
    loss = stablemax_cross_entropy(logits, targets, "classification")
    assert loss.dtype == torch.float64
    expected = (stablemax_by_formula(logits[0].tolist(), 0) + stablemax_by_formula(logits[1].tolist(), 3)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    assert LOSSES["stablemax"] is stablemax_cross_entropy


def test_stablemax_gradient_matches_its_derivative():
    # d/dx_j [-log s(x_t) + log sum s] = s'(x_j)/S - [j = t] s'(x_t)/s(x_t),
    # s'(x) = 1 for x >= 0 and 1/(1-x)^2 for x < 0. x = 1 sits where 1/(1-x) would blow up.
    x = torch.tensor([[1.0, -2.0, 0.0, 3.0]], dtype=torch.float64, requires_grad=True)
    stablemax_cross_entropy(x, torch.tensor([1]), "classification").backward()
    values = x.detach()[0]
    s = torch.where(values >= 0, values + 1, 1 / (1 - values))
    ds = torch.where(values >= 0, torch.ones_like(values), 1 / (1 - values) ** 2)
    expected = ds / s.sum()
    expected[1] -= ds[1] / s[1]
    assert torch.allclose(x.grad[0], expected, atol=1e-12)
    assert torch.autograd.gradcheck(lambda z: stablemax_cross_entropy(z, torch.tensor([2, 0]), "classification"),
                                    torch.randn(2, 5, dtype=torch.float64, requires_grad=True))


def test_stablemax_refuses_regression_in_one_line():
    with pytest.raises(GrokbenchError, match="module.loss=stablemax needs a classification task") as error:
        stablemax_cross_entropy(torch.zeros(3, 1), torch.zeros(3), "regression")
    assert "\n" not in str(error.value)


def test_orthograd_gradient_is_orthogonal_to_weights_and_keeps_its_norm():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    model(torch.randn(8, 5)).pow(2).sum().backward()
    before = {name: p.grad.clone() for name, p in model.named_parameters()}
    OrthoGrad().project(model)
    for name, p in model.named_parameters():
        assert torch.dot(p.detach().flatten(), p.grad.flatten()).abs() < 1e-5 * p.norm() * p.grad.norm()
        assert p.grad.norm().item() == pytest.approx(before[name].norm().item(), rel=1e-5)
        assert not torch.allclose(p.grad, before[name])  # it did change the direction
    w, g = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])
    orthogonalize(w, g)
    assert torch.allclose(g, torch.tensor([0.0, 2 ** 0.5]))


def test_weight_norm_constraint_holds_the_norm_after_steps():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    constraint = WeightNormConstraint(factor=0.5)
    initial = total_norm(model).item()
    constraint.on_train_start(None, model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    start = [p.detach().clone() for p in model.parameters()]
    for _ in range(5):
        optimizer.zero_grad()
        model(torch.randn(16, 4)).pow(2).mean().backward()
        optimizer.step()
        constraint.on_train_batch_end(None, model, None, None, 0)
        assert total_norm(model).item() == pytest.approx(0.5 * initial, rel=1e-5)
    assert any(not torch.allclose(p, 0.5 * q) for p, q in zip(model.parameters(), start))


@pytest.fixture(scope="module")
def baseline_modular(tmp_path_factory):
    """The baseline's record on the tiny modular run: each method must change its training."""
    return train(compose_config(["method=baseline", *TINY_MODULAR], tmp_path_factory.mktemp("baseline")))


@pytest.mark.parametrize("method", METHODS[1:])
def test_every_method_runs_on_modular_and_changes_training(run_config, baseline_modular, method):
    window = ["method.window=4"] if method == "grokfast_ma" else []  # the default 100 > 12 steps
    record = train(run_config([f"method={method}", *window, *TINY_MODULAR]))
    assert baseline_modular["status"] == record["status"] == "completed", record["error"]
    assert record["method"] == method and record["steps"] == 12
    # same seed, data and model: a method that did nothing would give the baseline's loss
    assert record["final"]["train_eval/loss"] != pytest.approx(baseline_modular["final"]["train_eval/loss"], rel=1e-4)
    if method == "weight_norm_constraint":  # the norm is the same at every evaluation
        norms = [row["weights/l2"] for row in record["curve"]]
        assert max(norms) == pytest.approx(min(norms), rel=1e-5)


@pytest.fixture
def other_domains(tmp_path, monkeypatch):
    """Overrides for a few steps of each non-algorithmic task on tiny generated files."""
    monkeypatch.setenv("GROKBENCH_CACHE", str(tmp_path / "cache"))
    mnist = tmp_path / "mnist"
    mnist.mkdir()
    write_split(mnist / "train.parquet", "image", per_class=3, mode="L", size=28)
    write_split(mnist / "test.parquet", "image", per_class=1, mode="L", size=28)
    imdb = write_imdb(tmp_path / "imdb", n_per_class=10)
    steps = ["trainer.max_steps=4", "eval.every=2", "eval.log_spaced=false"]
    return {
        "mnist": ["experiment=quick_mnist", f"task.source={mnist}", "task.n_train=20", "model.width=8", *steps],
        "imdb": ["experiment=imdb_bow_largeinit", f"task.source={imdb}", "task.n_train=12", "task.n_test=8",
                 "task.vocab_size=20", "task.batch_size=6", "model.width=8", *steps],
    }


@pytest.mark.parametrize("domain", ["mnist", "imdb"])
def test_every_method_runs_on_other_domains_and_changes_training(run_config, other_domains, domain, tmp_path):
    final_losses = {}
    for method in METHODS:
        window = ["method.window=2"] if method == "grokfast_ma" else []  # the default 100 > 4 steps
        cfg = run_config([*other_domains[domain], f"method={method}", *window])
        cfg.run_dir = str(tmp_path / domain / method)
        record = train(cfg)
        assert record["status"] == "completed", (method, record["error"])
        assert record["method"] == method and record["steps"] == 4
        final_losses[method] = record["final"]["train_eval/loss"]
    for method in METHODS[1:]:  # e.g. StableMax must replace quick_mnist's own MSE loss
        assert final_losses[method] != pytest.approx(final_losses["baseline"], rel=1e-6), method


def test_stablemax_method_overrides_the_experiment_loss():
    cfg = compose_config(["experiment=quick_mnist", "method=stablemax"])
    assert cfg.module.loss == "mse" and cfg.method.loss == "stablemax"
    module = run.build_module(cfg, SimpleNamespace(kind="classification", num_outputs=10,
                                                       eval_splits=("train_eval", "val")), nn.Linear(4, 10))
    assert module.loss_fn is stablemax_cross_entropy


@pytest.mark.parametrize("override, message", [
    ("method=grokfast_ema method.alpha=1.0", "method.alpha=1.0 is invalid; allowed: 0 <= alpha < 1"),
    ("method=grokfast_ema method.alpha=-0.1", "method.alpha=-0.1 is invalid"),
    ("method=grokfast_ema method.lamb=-1", "method.lamb=-1"),
    ("method=grokfast_ma method.window=0", "method.window=0 is invalid; allowed: an integer >= 1"),
    ("method=grokfast_ma method.lamb=-2.0", "method.lamb=-2.0 is invalid"),
    ("method=weight_norm_constraint method.factor=0", "method.factor=0 is invalid"),
])
def test_bad_method_parameters_fail_in_one_line(run_config, override, message):
    record = train(run_config([*override.split(), *TINY_MODULAR]))
    assert record["status"] == "failed"
    assert message in record["error"] and "\n" not in record["error"]


# This test fits a bare module with no validation data on purpose (it only inspects the step).
@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`:UserWarning")
def test_gradient_clipping_comes_after_the_method_and_bounds_the_step():
    """SGD with lr 1 moves the weights by exactly the final gradient: Grokfast multiplies the
    first gradient by 1 + lamb = 101, then module.gradient_clip_val caps its norm at 0.01."""
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    module = GrokModule(model, "classification", 2, optimizer=functools.partial(torch.optim.SGD, lr=1.0),
                        warmup_steps=0, gradient_clip_val=0.01)
    before = [p.detach().clone() for p in model.parameters()]
    trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[GrokfastEMA(alpha=0.5, lamb=100.0)])
    batches = DataLoader(TensorDataset(torch.randn(8, 3), torch.randint(0, 2, (8,))), batch_size=8)
    trainer.fit(module, train_dataloaders=batches)
    step = torch.sqrt(sum((p.detach() - b).pow(2).sum() for p, b in zip(model.parameters(), before)))
    assert trainer.global_step == 1
    assert float(step) == pytest.approx(0.01, rel=1e-4)


def test_trainer_gradient_clipping_points_to_the_module_setting(run_config):
    record = train(run_config([*TINY_MODULAR, "+trainer.gradient_clip_val=1.0"]))
    assert record["status"] == "failed"
    assert record["error"].startswith("trainer.gradient_clip_val=1.0 is not used")
    assert record["error"].endswith("allowed: module.gradient_clip_val")
