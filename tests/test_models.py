"""Model forward/backward shapes, the initialization scale, GrokModule's evaluation sets."""

import functools

import pytest
import torch

from grokbench.models.mlp import MLP, TokenMLP
from grokbench.models.transformer import Transformer
from grokbench.module import GrokModule, scale_initialization
from grokbench.weights import total_norm as weight_norm

TOKENS = torch.randint(0, 13, (6, 4))


@pytest.mark.parametrize("model", [
    Transformer(vocab_size=13, seq_len=4, num_outputs=11, d_model=32, n_heads=4),
    Transformer(vocab_size=13, seq_len=4, num_outputs=11, n_layers=1, d_model=32, d_mlp=64,
                layer_norm=False),
    TokenMLP(vocab_size=13, seq_len=4, num_outputs=11, d_embed=8, width=16, depth=2),
    TokenMLP(vocab_size=13, seq_len=4, num_outputs=11, width=16, depth=2, encoding="one_hot", bias=False),
])
def test_token_models_map_sequences_to_logits_and_backpropagate(model):
    out = model(TOKENS)
    assert out.shape == (6, 11)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_transformer_is_causal_before_the_last_position():
    """Changing the last token must not change what earlier positions see: check via the
    prediction read at the last position changing, and a prefix-only model agreeing."""
    torch.manual_seed(0)
    model = Transformer(vocab_size=13, seq_len=4, num_outputs=11, d_model=32).eval()
    a, b = TOKENS.clone(), TOKENS.clone()
    b[:, -1] = (b[:, -1] + 1) % 13
    assert not torch.allclose(model(a), model(b))
    assert torch.allclose(model(a[:, :3]), model(b[:, :3]))


def test_flat_mlp():
    model = MLP(input_size=784, num_outputs=10, width=200, depth=2)
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    assert sum(p.numel() for p in model.parameters()) == 784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10


def test_transformer_rejects_width_not_divisible_by_heads():
    with pytest.raises(ValueError, match="d_model=30 is not divisible by model.n_heads=4"):
        Transformer(vocab_size=13, seq_len=4, num_outputs=11, d_model=30, n_heads=4)


def test_one_hot_token_mlp_reads_only_the_operands_through_its_first_layer():
    model = TokenMLP(vocab_size=13, seq_len=4, num_outputs=11, width=16, depth=2, encoding="one_hot", bias=False)
    assert model.mlp[0].weight.shape == (16, 2 * 13)  # one-hot(a) | one-hot(b), as in Prieto et al.
    assert all(layer.bias is None for layer in model.mlp if isinstance(layer, torch.nn.Linear))
    other_op = TOKENS.clone()
    other_op[:, 1] = (other_op[:, 1] + 1) % 13
    assert torch.equal(model(TOKENS), model(other_op))
    first = torch.zeros(6, 26)
    first[torch.arange(6), TOKENS[:, 0]] = 1
    first[torch.arange(6), 13 + TOKENS[:, 2]] = 1
    assert torch.allclose(model(TOKENS), model.mlp(first))


def test_token_mlp_rejects_an_unknown_encoding():
    with pytest.raises(ValueError, match="model.encoding='binary' is unknown; allowed: embedding, one_hot"):
        TokenMLP(vocab_size=13, seq_len=4, num_outputs=11, encoding="binary")


def test_init_scale_multiplies_every_parameter():
    torch.manual_seed(0)
    model = TokenMLP(vocab_size=13, seq_len=4, num_outputs=11)
    before = weight_norm(model)
    scale_initialization(model, 8.0)
    assert float(weight_norm(model)) == pytest.approx(8.0 * float(before), rel=1e-5)


def test_last_position_shortcut_gives_the_full_computation():
    torch.manual_seed(0)
    model = Transformer(vocab_size=13, seq_len=4, num_outputs=11, d_model=32).eval()
    h = model.token_embedding(TOKENS) + model.position_embedding
    for block in model.blocks:
        h = block(h)  # every position, causal attention throughout
    full = model.unembed(model.final_norm(h[:, -1]))
    assert torch.allclose(model(TOKENS), full, atol=1e-6)


def test_module_keeps_metrics_for_each_declared_eval_split_in_dataloader_order():
    model = TokenMLP(vocab_size=13, seq_len=4, num_outputs=11, width=16, depth=1)
    optimizer = functools.partial(torch.optim.SGD, lr=0.1)
    assert tuple(GrokModule(model, "classification", 11, optimizer).eval_metrics) == ("train_eval", "val")
    module = GrokModule(model, "classification", 11, optimizer, eval_splits=("train_eval", "val", "val_novel"))
    assert tuple(module.eval_metrics) == tuple(module.eval_losses) == ("train_eval", "val", "val_novel")
    targets = model(TOKENS).argmax(-1)  # the model's own answers: accuracy 1 on this set
    module.validation_step((TOKENS, targets), 0, dataloader_idx=2)
    assert float(module.eval_metrics["val_novel"].compute()["acc"]) == 1.0
    assert module.eval_losses["val"].update_count == 0  # nothing went to the other sets
