"""The methods grid: each filter/loss/constraint/optimizer against hand-computed values; the
Method contract (per-domain settings with sources, a new method found by `ls`, the methods suite
and the board); every method on every domain's tiny data changes training against the
baseline; one-line errors for bad method parameters."""

from __future__ import annotations

import functools
import shutil
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from conftest import compose_config
from hydra.utils import get_class
from test_images import write_set  # tiny generated data of the other domains' tests
from test_molecules import write_qm9
from test_text import write_imdb
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import grokbench.cli
import grokbench.config
import grokbench.methods.catalog
import grokbench.suite
from grokbench import run
from grokbench.board import write_board
from grokbench.catalog import domain_names
from grokbench.cli import main
from grokbench.config import CONF_DIR
from grokbench.errors import GrokbenchError
from grokbench.losses import LOSSES, cross_entropy_float64, stablemax_cross_entropy
from grokbench.methods import catalog
from grokbench.methods.base import MAX_CANDIDATES, build_method, knob_parameters
from grokbench.methods.catalog import (
    declaration,
    declared_for,
    entry,
    knob_value,
    method_names,
    pending,
    tuning_plan,
)
from grokbench.methods.grokfast import GrokfastEMA, GrokfastMA, LearningRateMatched
from grokbench.methods.muon import CombinedOptimizer, MuonMethod, hidden_matrices
from grokbench.methods.orthograd import OrthoGrad, orthogonalize
from grokbench.methods.tuning import pick
from grokbench.methods.weight_norm import WeightNormConstraint, WeightNormMethod, total_norm
from grokbench.models.mlp import TokenMLP
from grokbench.models.transformer import Transformer
from grokbench.module import GrokModule, scale_initialization
from grokbench.run import train
from grokbench.suite import load_suite, sweep_commands

GRADIENTS = [[1.0, 0.0], [3.0, 2.0], [-1.0, 4.0], [5.0, 5.0]]
METHODS = method_names()  # every conf/method/ option but baseline: nothing lists them
DOMAINS = domain_names()   # the catalog's: a run's domain is its task's name


def grid_domains() -> list[str]:
    """The domains of the methods suite (`grokbench suite methods`), in its order."""
    suite = load_suite("methods")
    found = [compose_config([f"experiment={e}"]).meta.domain for s in suite.sweeps.values() for e in s.experiments]
    return list(dict.fromkeys(found))


GRID_DOMAINS = grid_domains()
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


def test_weight_norm_method_holds_the_standard_initialization_norm():
    """Omnigrok's target is a multiple of the standard initialization's norm: with init_scale 8
    and norm_scale 1 the constraint sets the alpha-scaled network back to its unscaled norm."""
    torch.manual_seed(0)
    model = nn.Linear(6, 4)
    standard = total_norm(model).item()
    scale_initialization(model, 8.0)
    (constraint,) = WeightNormMethod(norm_scale=1.0).callbacks(SimpleNamespace(module=SimpleNamespace(init_scale=8.0)))
    assert constraint.factor == 1 / 8
    constraint.on_train_start(None, model)
    assert total_norm(model).item() == pytest.approx(standard, rel=1e-6)


def test_lr_matched_scales_the_learning_rate_and_keeps_lr_times_weight_decay():
    """lr_scale 3 (1 + grokfast_ema's lamb 2): lr 1e-3 -> 3e-3; the domain's weight decay 2.0 -> 2/3,
    so that AdamW's decay per step, lr * weight_decay = 2e-3, is the Grokfast run's."""
    factory = functools.partial(torch.optim.AdamW, lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))
    scaled = LearningRateMatched(lr_scale=3.0, optim={"weight_decay": 2.0}).optimizer(factory, nn.Linear(2, 2))
    assert scaled.keywords["lr"] == pytest.approx(3e-3) and scaled.keywords["weight_decay"] == pytest.approx(2 / 3)
    assert scaled.keywords["lr"] * scaled.keywords["weight_decay"] == pytest.approx(1e-3 * 2.0)
    assert scaled.keywords["betas"] == (0.9, 0.98) and scaled.func is torch.optim.AdamW


@pytest.mark.parametrize("domain", DOMAINS)
def test_lr_matched_follows_grokfast_ema_on_every_domain(domain):
    matched, grokfast = entry("grokfast_lr_matched", domain), entry("grokfast_ema", domain)
    if grokfast["lamb"] is None:  # still to tune: so is the matched learning rate
        assert matched["lr_scale"] is None and matched["tuned"]
    else:
        assert matched["lr_scale"] == pytest.approx(1 + grokfast["lamb"])
    assert matched.get("optim") == grokfast.get("optim")


def test_muon_takes_the_hidden_matrices_and_steps_with_adamw_as_one_optimizer():
    torch.manual_seed(0)
    model = TokenMLP(vocab_size=5, seq_len=2, num_outputs=5, d_embed=4, width=8, depth=2)
    matrices = hidden_matrices(model)
    assert [tuple(p.shape) for p in matrices] == [(8, 8), (8, 8)]  # not the embedding, biases or head (5, 8)
    factory = MuonMethod().optimizer(functools.partial(torch.optim.AdamW, lr=1e-3, weight_decay=0.5), model)
    optimizer = factory(model.parameters())
    muon, rest = optimizer.optimizers
    assert isinstance(optimizer, CombinedOptimizer) and isinstance(muon, torch.optim.Muon)
    assert {id(p) for g in muon.param_groups for p in g["params"]} == {id(p) for p in matrices}
    assert isinstance(rest, torch.optim.AdamW) and len([p for g in rest.param_groups for p in g["params"]]) == 5  # embedding, 2 biases, head
    assert muon.param_groups[0]["weight_decay"] == 0.5 and muon.param_groups[0]["adjust_lr_fn"] == "match_rms_adamw"
    torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5)  # the warmup reaches Muon's group too
    assert muon.param_groups[0]["lr"] == rest.param_groups[0]["lr"] == pytest.approx(5e-4)
    model(torch.tensor([[0, 1], [2, 3]])).pow(2).sum().backward()
    before = [p.detach().clone() for p in model.parameters()]
    closures = []
    optimizer.step(lambda: closures.append(1))
    assert closures == [1] and all(not torch.equal(p, b) for p, b in zip(model.parameters(), before))
    state = optimizer.state_dict()
    assert set(state) == {"optimizers"} and len(state["optimizers"]) == 2
    optimizer.load_state_dict(state)  # a resumed run restores both optimizers


def test_muon_leaves_the_transformer_embeddings_norms_and_unembedding_to_adamw():
    model = Transformer(vocab_size=7, seq_len=2, num_outputs=7, n_layers=1, d_model=8, n_heads=2, d_mlp=16)
    block = model.blocks[0]
    assert [id(p) for p in hidden_matrices(model)] == [id(block.qkv.weight), id(block.attn_out.weight),
                                                       id(block.mlp[0].weight), id(block.mlp[2].weight)]


# --- the contract: per-domain settings with their sources ------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_every_method_declares_every_domain_with_a_source(method):
    """Every domain of the catalog gets an entry (its own, or the method's `elsewhere`) with a
    source, or why the method does not apply; a per-domain entry names a domain there is."""
    spec = declaration(method)
    assert set(spec.get("per_domain") or {}) <= set(DOMAINS)
    knobs = knob_parameters(get_class(spec["_target_"]))
    for domain in DOMAINS:
        settings = declared_for(method, domain)
        assert settings is not None, f"{domain}: its setting, or why the method does not apply"
        if settings.get("skip"):
            assert isinstance(settings["skip"], str) and set(settings) == {"skip"}, domain
            continue
        assert isinstance(settings.get("source"), str) and settings["source"], f"{domain}: a source"
        assert isinstance(settings.get("tuned"), bool), domain
        assert set(settings) <= {"source", "tuned", "tune", *knobs}, domain
        for knob, candidates in tuning_plan(method, domain).items():
            assert settings["tuned"], f"{domain}: a swept knob is reported as tuned"
            assert 1 <= len(candidates) <= MAX_CANDIDATES == 3, f"{domain}: at most 3 values"
            assert knob_value(settings, knob) in (None, *candidates), f"{domain}: the pick is a candidate"


def test_pending_knobs_are_the_ones_left_null(monkeypatch):
    """A tuned knob left null in its domain entry and set nowhere else in the file is still to
    tune (`grokbench ls` says so); a written pick, a published value or a file-wide value is not."""
    declarations = {"m": {"lamb": None, "window": 100, "optim": {}, "per_domain": {
        "mnist": {"lamb": 0.1, "tuned": False, "source": "paper"},
        "s5": {"lamb": 1.0, "tune": {"lamb": [0.1, 1.0]}, "tuned": True, "source": "picked"},
        "cifar10": {"lamb": None, "window": None, "optim": {"weight_decay": None},
                    "tune": {"lamb": [0.1, 1.0]}, "tuned": True, "source": "to tune"},
        "qm9": {"skip": True}}}}
    monkeypatch.setattr(catalog, "declaration", declarations.__getitem__)
    assert pending("m", "cifar10") == ["lamb", "optim.weight_decay"]  # window: set file-wide
    assert pending("m", "mnist") == [] and pending("m", "s5") == []
    assert [catalog.status("m", d) for d in ("mnist", "s5", "cifar10", "qm9")] == \
        ["published", "tuned", "to tune", "n/a"]


def test_every_tuned_cell_of_the_grid_has_its_pick_written_in():
    """The grid runs only picked settings: no method's entry on a domain of the methods suite is
    left to tune (a domain outside it may be: its `elsewhere` entry says what to sweep)."""
    assert GRID_DOMAINS and [(m, d) for m in method_names() for d in GRID_DOMAINS
                             if catalog.status(m, d) == "to tune"] == []


def test_domain_settings_come_from_the_run_domain_and_given_knobs_win():
    cfg = compose_config(["method=grokfast_ema"])
    method = build_method(cfg.method, "mnist")
    assert (method.filter.alpha, method.filter.lamb, method.optim) == (0.8, 0.1, {"weight_decay": 2.0})
    settings = method.settings
    assert (settings.domain, settings.tuned, settings.given, settings.baseline) == ("mnist", False, [], "baseline")
    assert "README 'MNIST (MLP)'" in settings.source
    given = build_method(compose_config(["method=grokfast_ema", "method.lamb=0.5",
                                         "+method.optim.weight_decay=0.3"]).method, "mnist")
    assert (given.filter.alpha, given.filter.lamb, given.optim) == (0.8, 0.5, {"weight_decay": 0.3})
    assert given.settings.given == ["lamb", "optim.weight_decay"]
    tuning = build_method(compose_config(["method=grokfast_ema", "method.lamb=1.0"]).method, "s5")
    assert (tuning.settings.tuned, tuning.settings.given, tuning.filter.alpha) == (True, ["lamb"], 0.98)


def test_the_known_problems_are_gone():
    """Issue 12: the weight-norm target is 1/alpha of the initial norm; ⊥Grad runs with weight
    decay 0; StableMax is compared with a float64 softmax cross-entropy on the same optimizer;
    Grokfast uses its authors' MNIST knobs on MNIST."""
    mnist = compose_config(["experiment=quick_mnist", "method=weight_norm_constraint"])
    (constraint,) = build_method(mnist.method, "mnist").callbacks(mnist)
    assert constraint.factor == pytest.approx(1 / 8) and mnist.module.init_scale == 8
    for domain in DOMAINS:
        assert build_method(compose_config(["method=orthograd"]).method, domain).optim == {"weight_decay": 0.0}
    stablemax = build_method(compose_config(["method=stablemax"]).method, "modular")
    softmax = build_method(compose_config([f"method={stablemax.settings.baseline}"]).method, "modular")
    assert (stablemax.loss("cross_entropy", "classification"), softmax.loss("cross_entropy", "classification")) \
        == ("stablemax", "cross_entropy_float64")
    assert stablemax.optim == softmax.optim and LOSSES["cross_entropy_float64"] is cross_entropy_float64
    grokfast = build_method(compose_config(["method=grokfast_ema"]).method, "mnist")
    assert (grokfast.filter.alpha, grokfast.filter.lamb, grokfast.optim["weight_decay"]) == (0.8, 0.1, 2.0)


@pytest.mark.parametrize("overrides, domain, message", [
    (["method=grokfast_ema", "method.per_domain.cifar10.lamb=null"], "cifar10",  # as before its pick
     "method.lamb of grokfast_ema is not yet tuned for domain cifar10"),
    (["method=adamw_strong_wd", "method.per_domain.cifar10.optim.weight_decay=null"], "cifar10",
     "method.optim.weight_decay of adamw_strong_wd is not yet tuned"),
    (["method=stablemax"], "qm9", "method stablemax does not apply to domain qm9: QM9 is regression"),
    (["method=muon"], "cifar10", "method muon does not apply to domain cifar10"),
    (["method=orthograd", "+method.alpha=0.5"], "modular", "method.alpha is not a knob of method orthograd"),
])
def test_unusable_method_settings_fail_in_one_line(overrides, domain, message):
    with pytest.raises(GrokbenchError, match=message) as error:
        build_method(compose_config(overrides).method, domain)
    assert "\n" not in str(error.value)


def test_tuning_picks_the_fastest_candidate_then_the_highest_final_progress():
    def run(step, final, status="completed", verdict="generalized"):
        return {"status": status, "profile.generalized_step": step, "profile.final_progress": final,
                "profile.verdict": verdict if step is not None else "memorized"}

    assert pick([0.1, 1.0, 2.0], {0.1: run(900, 1.0), 1.0: run(400, 0.95), 2.0: run(None, 1.0)}) == 1.0
    assert pick([0.1, 1.0, 2.0], {0.1: run(None, 0.3), 1.0: run(None, 0.6), 2.0: run(None, 0.6)}) == 1.0
    assert pick([0.1, 1.0], {0.1: run(100, 1.0, "failed"), 1.0: run(None, 0.2)}) == 1.0
    assert pick([0.1], {}) is None


# --- every method through real runs ----------------------------------------------------------
def runnable(method: str, domain: str) -> list[str]:
    """Overrides that fill the knobs still to tune (their first candidate) and shrink MA's window."""
    plan = tuning_plan(method, domain)
    filled = [f"++method.{k}={plan[k][0] if k in plan else 2.0}" for k in pending(method, domain)]
    return filled + (["method.window=2"] if method == "grokfast_ma" else [])


@pytest.fixture(scope="module")
def baseline_modular(tmp_path_factory):
    """The baseline's record on the tiny modular run: each method must change its training."""
    return train(compose_config(["method=baseline", *TINY_MODULAR], tmp_path_factory.mktemp("baseline")))


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_on_modular_and_changes_training(run_config, baseline_modular, method):
    record = train(run_config([f"method={method}", *runnable(method, "modular"), *TINY_MODULAR]))
    assert baseline_modular["status"] == record["status"] == "completed", record["error"]
    assert record["method"] == method and record["steps"] == 12
    settings = record["method_settings"]
    assert settings["name"] == method and settings["domain"] == "modular" and settings["source"]
    assert settings["tuned"] == entry(method, "modular")["tuned"]
    # same seed, data and model: a method that did nothing would give the baseline's loss
    assert record["final"]["train_eval/loss"] != pytest.approx(baseline_modular["final"]["train_eval/loss"], rel=1e-4)
    if method == "weight_norm_constraint":  # the norm is the same at every evaluation
        norms = [row["weights/l2"] for row in record["curve"]]
        assert max(norms) == pytest.approx(min(norms), rel=1e-5)


@pytest.fixture(scope="module")
def domain_overrides(tmp_path_factory):
    """Each other domain's methods-suite recipe, shrunk to a few steps on tiny generated files
    (GRID_DOMAINS: a domain the methods suite runs has its row here)."""
    root = tmp_path_factory.mktemp("data")
    mnist, cifar = write_set(root / "mnist", "image", mode="L", size=28), write_set(root / "cifar10", "img", "RGB", 32)
    imdb, qm9 = write_imdb(root / "imdb", n_per_class=10), write_qm9(root / "qm9.csv")
    return {
        "s5": ["experiment=s5_token_mlp", "task.train_fraction=0.05", "model.d_embed=8", "model.width=8"],
        "mnist": ["experiment=quick_mnist", f"task.source={mnist}", "task.n_train=20", "model.width=8"],
        "imdb": ["experiment=imdb_bow_largeinit", f"task.source={imdb}", "task.n_train=12", "task.n_test=8",
                 "task.vocab_size=20", "task.batch_size=6", "model.width=8"],
        "qm9": ["experiment=quick_qm9", f"task.source={qm9}", "task.n_train=8", "task.n_val=4", "task.batch_size=4",
                "model.channels=[8,4]", "model.edge_hidden=8", "model.head_width=8"],
        "cifar10": ["experiment=quick_cifar10", f"task.source={cifar}", "task.n_train=20", "task.n_test=10",
                    "model.width=4"],
    }


def weights_after_steps(cfg, task, steps: int = 3) -> torch.Tensor:
    """The weights after a few training steps with the run's method (no evaluation, no record)."""
    L.seed_everything(int(cfg.seed), verbose=False)
    model = run.build_model(cfg, task)
    method = build_method(cfg.method, task.name)
    module = run.build_module(cfg, task, model, method)
    trainer = L.Trainer(max_steps=steps, limit_val_batches=0, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=method.callbacks(cfg))
    with run.known_warnings():
        trainer.fit(module, datamodule=task)
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("domain", [d for d in GRID_DOMAINS if d != "modular"])
def test_every_method_changes_training_on_every_other_domain(domain_overrides, domain, monkeypatch, tmp_path):
    monkeypatch.setenv("GROKBENCH_CACHE", str(tmp_path / "cache"))
    base = compose_config([*domain_overrides[domain], "threads=1"])
    task = run.build_task(base)
    assert task.name == domain
    baseline = weights_after_steps(base, task)
    linears = [m for m in run.build_model(base, task).modules() if isinstance(m, nn.Linear)]
    assert linears[-1].out_features == task.num_outputs  # the head, which Muon leaves to AdamW
    for method in METHODS:
        cfg = compose_config([*domain_overrides[domain], f"method={method}", *runnable(method, domain)])
        if entry(method, domain) is None:  # the method says why it does not apply here
            with pytest.raises(GrokbenchError, match=f"method {method} does not apply to domain {domain}"):
                build_method(cfg.method, domain)
            continue
        assert not torch.equal(weights_after_steps(cfg, task), baseline), f"{method} changed nothing on {domain}"


def test_stablemax_and_its_baseline_replace_the_experiment_loss():
    task = SimpleNamespace(name="mnist", kind="classification", num_outputs=10, eval_splits=("train_eval", "val"))
    for method, loss in (("stablemax", stablemax_cross_entropy), ("softmax_float64", cross_entropy_float64)):
        cfg = compose_config(["experiment=quick_mnist", f"method={method}"])
        assert cfg.module.loss == "mse"
        module = run.build_module(cfg, task, nn.Linear(4, 10))
        assert module.loss_fn is loss and module.optimizer_factory.keywords["weight_decay"] == 0.0


@pytest.mark.parametrize("override, message", [
    ("method=grokfast_ema method.alpha=1.0", "method.alpha=1.0 is invalid; allowed: 0 <= alpha < 1"),
    ("method=grokfast_ema method.alpha=-0.1", "method.alpha=-0.1 is invalid"),
    ("method=grokfast_ema method.lamb=-1", "method.lamb=-1"),
    ("method=grokfast_ma method.window=0", "method.window=0 is invalid; allowed: an integer >= 1"),
    ("method=grokfast_ma method.lamb=-2.0", "method.lamb=-2.0 is invalid"),
    ("method=weight_norm_constraint method.norm_scale=0", "method.norm_scale=0 is invalid"),
    ("method=grokfast_lr_matched method.lr_scale=-1", "method.lr_scale=-1 is invalid"),
    ("method=muon method.momentum=1.5", "method.momentum=1.5 is invalid"),
    ("method=baseline +method.loss=hinge", "method.loss='hinge' is unknown; allowed: cross_entropy"),
])
def test_bad_method_parameters_fail_in_one_line(run_config, override, message):
    record = train(run_config([*override.split(), *TINY_MODULAR]))
    assert record["status"] == "failed"
    assert message in record["error"] and "\n" not in record["error"]


# --- the contract: a new method is its module plus its config --------------------------------
NEW_METHOD = '''
from lightning.pytorch.callbacks import Callback

from grokbench.methods.base import Method


class HalveGradients(Callback):
    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        for p in pl_module.parameters():
            if p.grad is not None:
                p.grad.mul_(self.factor)


class GradientScale(Method):
    def __init__(self, factor: float, optim=None):
        super().__init__(optim=optim)
        self.factor = factor

    def callbacks(self, cfg):
        callback = HalveGradients()
        callback.factor = self.factor
        return [callback]
'''


def test_a_new_method_file_and_config_show_up_in_ls_the_suite_and_the_board(tmp_path, monkeypatch, capsys):
    conf, package = tmp_path / "conf", tmp_path / "plugins"
    shutil.copytree(CONF_DIR, conf)
    package.mkdir()
    (package / "gradient_scale.py").write_text(NEW_METHOD)
    skips = "".join(f"  {d}: {{skip: not tried}}\n" for d in DOMAINS if d != "modular")
    (conf / "method" / "gradient_scale.yaml").write_text(
        "_target_: gradient_scale.GradientScale\nname: gradient_scale\nfactor: null\nper_domain:\n"
        f"  modular: {{factor: 0.5, tuned: false, source: a test}}\n{skips}")
    monkeypatch.syspath_prepend(str(package))
    for module in (grokbench.config, grokbench.cli, grokbench.methods.catalog, grokbench.suite):
        monkeypatch.setattr(module, "CONF_DIR", conf)

    assert main(["ls"]) == 0
    listing = capsys.readouterr().out
    assert "gradient_scale" in listing.split("methods", 1)[1].splitlines()[0]
    row = next(line.split() for line in listing.splitlines() if line.split()[:1] == ["gradient_scale"])
    assert row[1:] == ["published", *["n/a"] * (len(DOMAINS) - 1)]  # modular first, in board order

    commands = {c[5]: c[6] for c in sweep_commands(load_suite("methods"), "out", None, [])}
    assert "gradient_scale" in commands["experiment=default"].split("=")[1].split(",")
    assert "gradient_scale" not in commands["experiment=quick_mnist"]

    records = tmp_path / "records"
    for method in ("baseline", "gradient_scale"):
        record = train(compose_config([f"method={method}", *TINY_MODULAR], records / f"default_{method}" / "seed0"))
        assert record["status"] == "completed", record["error"]
    assert record["method_settings"]["knobs"] == {"factor": 0.5} and record["method_settings"]["source"] == "a test"
    write_board([records], tmp_path / "board", allow_mixed=True)
    methods = (tmp_path / "board" / "README.md").read_text().split("## Methods")[1]
    assert "| gradient_scale " in methods and "factor 0.5 (published)" in methods


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
