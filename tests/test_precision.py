"""Mixed precision: every model (each file in conf/model/) trains a few steps with
`trainer.precision=bf16-mixed` on CPU, where Lightning autocasts to bfloat16, and the record keeps
the precision it ran with. Tiny sizes on generated data, one torch thread."""

from __future__ import annotations

import pytest
import torch
from conftest import compose_config
from fixtures.generated_data import generated_source

from grokbench.cli import options
from grokbench.run import train

BUDGET = ["threads=1", "trainer.max_steps=2", "eval.every=2", "trainer.precision=bf16-mixed"]
TINY_TOKENS = ["task=modular", "task.p=7"]
TINY_MOLECULES = ["experiment=quick_qm9", "task.n_train=8", "task.n_val=8"]
TINY_TRANSFORMER = [*TINY_TOKENS, "model.d_model=8", "model.n_heads=2", "model.d_mlp=16"]

# model -> (data the task reads, task and size overrides); a new model file needs a line here
MODEL_CASES = {
    "transformer": (None, TINY_TRANSFORMER),
    "transformer_small": (None, TINY_TRANSFORMER),
    "nanda_transformer": (None, TINY_TRANSFORMER),
    "token_mlp": (None, [*TINY_TOKENS, "model.d_embed=8", "model.width=16"]),
    "mlp": ("mnist", ["task=mnist", "task.n_train=20", "model.width=16"]),
    "cnn": ("cifar10", ["task=cifar10", "task.n_train=20", "task.n_test=10", "model.width=4", "model.depth=1"]),
    "resnet18": ("cifar10", ["task=cifar10", "task.n_train=20", "task.n_test=10", "model.width=4"]),
    "lstm": ("imdb", ["task=imdb", "task.n_train=12", "task.n_test=8", "task.vocab_size=16",
                         "task.seq_len=8", "model.d_embed=8", "model.hidden=8", "model.layers=1"]),
    "nnconv": ("qm9", [*TINY_MOLECULES, "model.channels=[8,4]", "model.edge_hidden=8",
                             "model.head_width=8"]),
    "mpnn": ("qm9", [*TINY_MOLECULES, "model.width=8", "model.head_width=8"]),
}




@pytest.fixture(autouse=True)
def one_thread_no_figure(monkeypatch):
    """`threads=1` sets torch's global thread count: give the next test file its own back.
    Drawing curves.png takes most of a 2-step run's time and is tested elsewhere."""
    monkeypatch.setattr("grokbench.run.plot_run", lambda record, path: None)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_every_model_has_a_precision_case():
    assert set(MODEL_CASES) == set(options("model"))


@pytest.mark.parametrize("model", sorted(MODEL_CASES))
def test_model_trains_in_bf16_mixed_on_cpu_and_the_record_keeps_it(model, tmp_path):
    data, overrides = MODEL_CASES[model]
    source = [f"task.source={generated_source(data, tmp_path)}"] if data else []
    cfg = compose_config([*overrides, f"model={model}", *source, *BUDGET], tmp_path / "run")
    record = train(cfg)
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported() and model == "lstm":  # this CPU: no bf16 LSTM kernel
        assert record["status"] == "failed" and "trainer.precision=bf16-mixed: this CPU has no bf16" in record["error"]
        assert record["traceback"] is None  # one line, not torch's error
        return
    assert record["status"] in ("completed", "diverged"), record["error"]
    assert record["steps"] == 2 and record["hardware"]["precision"] == "bf16-mixed"
    assert record["config"]["trainer"]["precision"] == "bf16-mixed"
