"""Progress measures: each against hand-computed values on tiny generated data, the Fourier
measures on a hand-built Fourier-multiplication model whose key frequencies are known; the
contract (a new measure is two files, found by `ls` and logged into the record's curve and
metrics.csv); one line for a measure that does not apply or does not exist; the metric
declarations that replaced the name-suffix rules."""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import pytest
import torch
from conftest import compose_config
from torch import nn
from torch.nn import functional as F

import grokbench.cli
import grokbench.config
import grokbench.measures.catalog
from grokbench.cli import main
from grokbench.config import CONF_DIR
from grokbench.errors import GrokbenchError
from grokbench.kinds import MetricDeclaration, declare_run
from grokbench.measures.base import EvalPoint
from grokbench.measures.catalog import build, measure_names
from grokbench.measures.compressed_size import CompressedSize
from grokbench.measures.effective_rank import effective_rank
from grokbench.measures.fourier_sparsity import FourierSparsity
from grokbench.measures.key_frequency_loss import KeyFrequencyLoss, pair_logits, strongest_frequencies
from grokbench.measures.sparsity import near_zero_fraction
from grokbench.measures.weight_norm import WeightNormPerGroup
from grokbench.models.cnn import CNN
from grokbench.models.lstm import LSTMClassifier
from grokbench.models.mlp import MLP, TokenMLP
from grokbench.models.mpnn import MPNN
from grokbench.models.nnconv import NNConvNet
from grokbench.models.resnet import PreActResNet18
from grokbench.models.transformer import Transformer
from grokbench.progress import metric_line
from grokbench.run import summarize_metrics, train
from grokbench.tasks.algorithmic import ModularArithmetic
from grokbench.weights import total_norm as weight_norm

P, KEY_FREQUENCIES = 23, [2, 5, 9]
TINY_MODULAR = ["task.p=11", "task.train_fraction=0.6", "model=token_mlp", "model.d_embed=8",
                "model.width=16", "trainer.max_steps=8", "eval.every=4", "module.warmup_steps=0", "threads=1"]


class FourierAdder(nn.Module):
    """Nanda et al. 2023's algorithm written by hand: embed a as cos(w_k a), sin(w_k a) for the
    key frequencies, combine a and b by the angle-sum identities into cos/sin(w_k (a + b)), and
    read logit c as scale * sum_k cos(w_k (a + b - c))."""

    def __init__(self, p: int, frequencies: list[int], scale: float = 3.0):
        super().__init__()
        w = 2 * math.pi * torch.tensor(frequencies, dtype=torch.float64) / p
        residues = torch.arange(p, dtype=torch.float64)[:, None]
        table = torch.cat([torch.cos(w * residues), torch.sin(w * residues)], dim=1)
        self.embedding = nn.Embedding.from_pretrained(torch.cat([table, torch.zeros(2, 2 * len(w))]).float())
        self.register_buffer("w", w.float())
        self.p, self.k, self.scale = p, len(frequencies), scale

    def token_embeddings(self) -> torch.Tensor:
        return self.embedding.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        a, b = self.embedding(tokens[:, 0]), self.embedding(tokens[:, 2])
        cos_a, sin_a, cos_b, sin_b = a[:, :self.k], a[:, self.k:], b[:, :self.k], b[:, self.k:]
        cos_ab, sin_ab = cos_a * cos_b - sin_a * sin_b, sin_a * cos_b + cos_a * sin_b
        c = torch.arange(self.p, dtype=torch.float32)
        return self.scale * (cos_ab @ torch.cos(self.w[:, None] * c) + sin_ab @ torch.sin(self.w[:, None] * c))


class LookupTable(nn.Module):
    """A memorizer: an arbitrary logit vector for every pair (a, b)."""

    def __init__(self, p: int):
        super().__init__()
        self.p = p
        self.logits = nn.Parameter(torch.randn(p * p, p, generator=torch.Generator().manual_seed(0)))
        self.embedding = nn.Parameter(torch.randn(p + 2, 16, generator=torch.Generator().manual_seed(1)))

    def token_embeddings(self) -> torch.Tensor:
        return self.embedding

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.logits[tokens[:, 0] * self.p + tokens[:, 2]]


def eval_point(model: nn.Module, task: ModularArithmetic) -> EvalPoint:
    """What the callback hands a measure: the model's outputs on every evaluation set."""
    with torch.no_grad():
        outputs = {split: model(inputs) for split, (inputs, _) in task.splits.eval_sets().items()}
    return EvalPoint(step=0, model=model, task=task, outputs=outputs)


@pytest.fixture(scope="module")
def addition_task():
    task = ModularArithmetic(op="x+y", p=P, train_fraction=0.6)
    task.setup()
    return task


def test_the_fourier_measures_find_the_key_frequencies_of_a_hand_built_fourier_model(addition_task):
    model = FourierAdder(P, KEY_FREQUENCIES)
    point = eval_point(model, addition_task)
    table = pair_logits(point)
    assert strongest_frequencies(table, len(KEY_FREQUENCIES)) == KEY_FREQUENCIES
    # the embeddings hold only the key frequencies: all their norm lies in the top 3
    assert FourierSparsity(top_k=len(KEY_FREQUENCIES)).compute(point)[""] == pytest.approx(1.0, abs=1e-6)
    losses = KeyFrequencyLoss(top_k=len(KEY_FREQUENCIES)).compute(point)
    # the logits are nothing but the key components: restricting to them changes nothing, and
    # removing them leaves a constant, i.e. uniform guessing at log p
    full = F.cross_entropy(table.logits, table.labels)
    assert losses["restricted"] == pytest.approx(float(full), rel=1e-5)
    assert losses["excluded"] == pytest.approx(math.log(P), rel=1e-5)
    assert int(table.train.sum()) == addition_task.num_train and len(table.labels) == P * P


def test_the_fourier_measures_see_no_structure_in_a_memorizing_lookup_table(addition_task):
    point = eval_point(LookupTable(P), addition_task)
    top_k = len(KEY_FREQUENCIES)
    fraction = FourierSparsity(top_k=top_k).compute(point)[""]
    assert fraction < 2 * top_k / (P // 2)  # random embeddings spread over all 11 frequencies
    losses = KeyFrequencyLoss(top_k=top_k).compute(point)
    assert losses["restricted"] > math.log(P) - 0.1  # key components of noise predict nothing
    # fixed frequencies (e.g. a finished run's) are used as given
    fixed = KeyFrequencyLoss(frequencies=KEY_FREQUENCIES).compute(eval_point(FourierAdder(P, KEY_FREQUENCIES), addition_task))
    assert fixed["excluded"] == pytest.approx(math.log(P), rel=1e-5)


def test_effective_rank_sparsity_weight_norm_and_compressed_size_match_hand_values():
    # rank 3 with equal singular values: entropy log 3, effective rank 3; a single direction: 1
    assert effective_rank(torch.eye(5)[:, :3] * 2.0) == pytest.approx(3.0)
    assert effective_rank(torch.ones(4, 6)) == pytest.approx(1.0)
    assert effective_rank(torch.zeros(4, 6)) == 0.0
    hidden = torch.tensor([[0.0, 1.0, 2.0, 0.0], [0.0, 3.0, 0.001, 1.0]])  # RMS 1.32: 0.001 counts as zero
    assert near_zero_fraction(hidden, 0.01) == pytest.approx(4 / 8)
    model = TokenMLP(vocab_size=13, seq_len=4, num_outputs=11, d_embed=8, width=16)
    groups = WeightNormPerGroup(depth=2).compute(EvalPoint(0, model, None))
    assert sorted(groups) == ["embedding", "mlp.0", "mlp.2"]
    assert math.sqrt(sum(v ** 2 for v in groups.values())) == pytest.approx(float(weight_norm(model)), rel=1e-5)
    flat = nn.Linear(64, 64)
    random_size = CompressedSize().compute(EvalPoint(0, flat, None))[""]
    with torch.no_grad():
        flat.weight.fill_(0.5)
    assert CompressedSize().compute(EvalPoint(0, flat, None))[""] < random_size / 10


GRAPHS = (torch.rand(2, 6, 5), (torch.rand(2, 4, 6, 6) > 0.7).float(), torch.ones(2, 6))
MODELS = {  # each model in models/ with tiny sizes, and an input
    "transformer": (Transformer(13, 4, 11, d_model=16, n_heads=2), torch.randint(0, 13, (3, 4))),
    "token_mlp": (TokenMLP(13, 4, 11, d_embed=4, width=8), torch.randint(0, 13, (3, 4))),
    "mlp": (MLP(12, 3, width=8), torch.rand(3, 12)),
    "cnn": (CNN(3, 10, width=4, depth=2), torch.rand(3, 3, 8, 8)),
    "resnet18": (PreActResNet18(3, 10, width=2), torch.rand(3, 3, 8, 8)),
    "lstm": (LSTMClassifier(20, 2, d_embed=4, hidden=8, layers=1), torch.randint(0, 20, (3, 5))),
    "mpnn": (MPNN(5, 4, width=8, layers=2, head_width=8), GRAPHS),
    "nnconv": (NNConvNet(5, 4, channels=[8, 4], edge_hidden=8, head_width=8), GRAPHS),
}


@pytest.mark.parametrize("name", MODELS)
def test_every_model_declares_the_readout_whose_input_is_its_last_hidden_representation(name):
    model, inputs = MODELS[name]
    seen = []
    hook = model.readout().register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    outputs = model(inputs)
    hook.remove()
    assert len(seen) == 1 and seen[0].shape[-1] == model.readout().in_features
    assert torch.allclose(model.readout()(seen[0]), outputs, atol=1e-6)  # nothing after the readout


def test_measures_land_in_the_curve_metrics_csv_and_the_record_with_their_declarations(run_config):
    names = ["weight_norm", "logit_scale", "effective_rank", "activation_sparsity", "fourier_sparsity",
             "key_frequency_loss", "compressed_size"]
    cfg = run_config([*TINY_MODULAR, "task.op=x+y", f"+measures=[{','.join(names)}]"])
    record = train(cfg)
    assert record["status"] == "completed", record["error"]
    assert sorted(record["measures"]) == sorted(names) and record["measures_skipped"] == {}
    keys = {k for row in record["curve"] for k in row if k.startswith("measures/")}
    assert {"measures/logit_scale", "measures/key_frequency_loss/restricted",
            "measures/key_frequency_loss/excluded", "measures/weight_norm/mlp.0"} <= keys
    assert all(len([r for r in record["curve"] if k in r]) == 2 for k in keys)  # steps 4 and 8
    assert record["metrics"]["measures/key_frequency_loss/excluded"]["direction"] == "up"
    assert record["best"]["measures/key_frequency_loss/restricted"] == min(
        r["measures/key_frequency_loss/restricted"] for r in record["curve"])
    assert "measures/logit_scale" not in record["best"]  # direction none: no best
    assert all(m["evaluations"] == 2 and m["seconds"] >= 0 for m in record["measures"].values())
    with open(next(Path(cfg.run_dir).rglob("metrics.csv"))) as f:
        assert keys <= set(next(csv.reader(f)))


def test_a_measure_that_does_not_apply_is_skipped_with_one_line(run_config, capsys):
    record = train(run_config(["task.p=11", "task.op=x*y", "model=transformer_small", "model.d_model=8",
                               "model.d_mlp=8", "trainer.max_steps=4", "eval.every=4", "threads=1",
                               "measures=[fourier_sparsity,activation_sparsity,weight_norm]"]))  # the recipe's replaced
    assert record["status"] == "completed", record["error"]
    assert record["measures_skipped"] == {
        "fourier_sparsity": "measure fourier_sparsity does not apply to task modular with task.op=x*y; "
                            "it applies to task.op x+y",
        "activation_sparsity": "measure activation_sparsity does not apply to model Transformer; it "
                               "applies to models MLP, TokenMLP, CNN, NNConvNet, MPNN"}
    assert list(record["measures"]) == ["weight_norm"]
    printed = capsys.readouterr().out
    assert printed.count("skipped: measure") == 2


def test_an_unknown_measure_or_knob_gets_one_line_naming_the_allowed_ones(capsys):
    assert main(["run", "+measures=[weight_norm,bogus]"]) == 2
    assert capsys.readouterr().err.strip() == (f"error: unknown measures 'bogus'; available: "
                                               f"{', '.join(measure_names())}")
    with pytest.raises(GrokbenchError, match=r"measures.weight_norm.colour is not a knob of measure weight_norm"):
        build("weight_norm", {"_target_": "grokbench.measures.weight_norm.WeightNormPerGroup",
                              "direction": "down", "cost": "weights", "colour": 1})
    with pytest.raises(GrokbenchError, match=r"direction='sideways' is invalid; allowed: up, down, none"):
        build("weight_norm", {"_target_": "grokbench.measures.weight_norm.WeightNormPerGroup",
                              "direction": "sideways", "cost": "weights"})


NEW_MEASURE = '''
from grokbench.measures.base import Measure


class FirstWeight(Measure):
    """The first parameter's first entry: a test measure."""

    def __init__(self, factor: float = 1.0):
        self.factor = factor

    def compute(self, point):
        return {"": float(next(point.model.parameters()).flatten()[0]) * self.factor}
'''


def test_a_new_measure_is_a_module_and_a_config_found_by_ls_and_logged_by_a_run(tmp_path, monkeypatch, capsys):
    conf, package = tmp_path / "conf", tmp_path / "plugins"
    shutil.copytree(CONF_DIR, conf)
    package.mkdir()
    (package / "first_weight.py").write_text(NEW_MEASURE)
    (conf / "measures" / "first_weight.yaml").write_text(
        "first_weight:\n  _target_: first_weight.FirstWeight\n  direction: none\n  cost: weights\n"
        "  applies_to: {kinds: [classification], domains: [modular]}\n  factor: 2.0\n")
    monkeypatch.syspath_prepend(str(package))
    for module in (grokbench.config, grokbench.cli, grokbench.measures.catalog):
        monkeypatch.setattr(module, "CONF_DIR", conf)

    assert main(["ls"]) == 0
    listing = capsys.readouterr().out
    assert "first_weight: progress none; cost weights (every evaluation); kinds classification; " \
           "domains modular; models all" in listing
    record = train(compose_config([*TINY_MODULAR, "+measures=[first_weight]"], tmp_path / "run"))
    assert record["status"] == "completed", record["error"]
    assert record["measures"]["first_weight"]["knobs"] == {"factor": 2.0}
    assert all("measures/first_weight" in row for row in record["curve"])  # beside the recipe's own
    assert record["metrics"]["measures/first_weight"]["direction"] == "none"
    assert "measures/first_weight" not in record["best"]


def test_best_and_the_progress_line_follow_declarations_not_names():
    declarations = declare_run("regression", ["train_eval", "val"])
    declarations["measures/x"] = MetricDeclaration("down", "measure", None, "x")
    history = [{"step": 1, "val/mse": 2.0, "val/r2": 0.1, "val/loss": 2.0, "weights/l2": 5.0, "measures/x": 3.0,
                "other": 1.0},
               {"step": 2, "val/mse": 1.0, "val/r2": 0.5, "val/loss": 1.0, "weights/l2": 4.0, "measures/x": 4.0,
                "other": 2.0}]
    final, best = summarize_metrics(history, declarations)
    assert best == {"val/mse": 1.0, "val/r2": 0.5, "val/loss": 1.0, "measures/x": 3.0}  # undeclared, none: no best
    assert final["other"] == 2.0
    shown = {k for k, d in declarations.items() if d.shown}
    assert shown == {"train_eval/r2", "val/r2"}
    line = metric_line(2, 10, {"val/loss": 1.0, "val/r2": 0.5, "a/b": 0.0}, 1.0, shown)
    assert line.startswith("step 2/10  val/r2 0.5  a/b 0  val/loss 1")
