"""Operator tables against brute force, S5 group axioms, split properties."""

import itertools

import pytest
import torch

from grokbench.errors import GrokbenchError
from tasks.algorithmic import (
    MODULAR_ALIASES,
    MODULAR_OPS,
    PERMUTATIONS,
    S5_OPS,
    ModularArithmetic,
    PermutationGroup,
    compose,
    inverse,
)

P = 7  # prime, so every operator (division included) is defined


def brute_force(op: str, x: int, y: int, p: int) -> int | None:
    """The operator from its textbook definition; None where the pair is excluded."""
    def div(a, b):
        return next(c for c in range(p) if (c * b) % p == a % p)
    table = {
        "x+y": lambda: (x + y) % p, "x-y": lambda: (x - y) % p, "x*y": lambda: (x * y) % p,
        "x/y": lambda: None if y == 0 else div(x, y),
        "x**2+y**2": lambda: (x * x + y * y) % p,
        "x**2+xy+y**2": lambda: (x * x + x * y + y * y) % p,
        "x**2+xy+y**2+x": lambda: (x * x + x * y + y * y + x) % p,
        "x**3+xy": lambda: (x ** 3 + x * y) % p,
        "x**3+xy**2+y": lambda: (x ** 3 + x * y * y + y) % p,
        "x/y_if_odd_else_x-y": lambda: div(x, y) if y % 2 == 1 else (x - y) % p,
    }
    return table[op]()


@pytest.mark.parametrize("op", list(MODULAR_OPS))
def test_every_modular_operator_matches_brute_force(op):
    a, b, c = ModularArithmetic(op=op, p=P).table()
    got = {(int(x), int(y)): int(z) for x, y, z in zip(a, b, c)}
    expected = {(x, y): brute_force(op, x, y, P) for x in range(P) for y in range(P)}
    expected = {k: v for k, v in expected.items() if v is not None}
    assert got == expected


def test_aliases_name_the_same_operators():
    for alias, op in MODULAR_ALIASES.items():
        assert ModularArithmetic(op=alias, p=P).op == op


def test_sequences_are_a_op_b_eq_with_labels():
    task = ModularArithmetic(op="x+y", p=P, train_fraction=0.5)
    task.setup()
    x = task.splits.train_inputs
    assert x.shape[1] == 4 and (x[:, 1] == P).all() and (x[:, 3] == P + 1).all()
    assert torch.equal((x[:, 0] + x[:, 2]) % P, task.splits.train_targets)
    assert task.dims == {"num_outputs": P, "vocab_size": P + 2, "seq_len": 4}


def test_division_needs_a_prime_modulus():
    with pytest.raises(GrokbenchError, match=r"task.p=91 is not prime"):
        ModularArithmetic(op="x/y", p=91)
    ModularArithmetic(op="x+y", p=91)  # addition is fine with any modulus


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_train_fraction_outside_open_interval_is_rejected(fraction):
    with pytest.raises(GrokbenchError, match=r"train_fraction=.* \(0, 1\)"):
        ModularArithmetic(train_fraction=fraction)


def test_unknown_operator_lists_the_allowed_ones():
    with pytest.raises(GrokbenchError, match=r"task.op='x%y' is unknown; allowed: x\+y, x-y"):
        ModularArithmetic(op="x%y")


def _pairs(splits):
    return {tuple(row.tolist()) for row in splits.train_inputs}, {tuple(row.tolist()) for row in splits.val_inputs}


def test_split_is_disjoint_complete_and_seeded():
    def split(seed):
        task = ModularArithmetic(op="x/y", p=11, train_fraction=0.3, split_seed=seed)
        task.setup()
        return task.splits
    first, again, other = split(0), split(0), split(1)
    train, val = _pairs(first)
    assert not train & val
    assert len(train) + len(val) == 11 * 10  # every pair with y != 0, once
    assert len(train) == round(0.3 * 110)
    assert _pairs(again) == (train, val)
    assert _pairs(other)[0] != train


def test_s5_is_a_group():
    identity = tuple(range(5))
    assert len(set(PERMUTATIONS)) == 120 and identity in PERMUTATIONS
    elements = set(PERMUTATIONS)
    for a, b in itertools.product(PERMUTATIONS[::7], PERMUTATIONS[::11]):
        assert compose(a, b) in elements  # closure
    for a in PERMUTATIONS:
        assert compose(a, identity) == a == compose(identity, a)
        assert compose(a, inverse(a)) == identity == compose(inverse(a), a)


@pytest.mark.parametrize("op", list(S5_OPS))
def test_s5_tables_cover_all_pairs(op):
    _a, _b, c = PermutationGroup(op=op).table()
    assert len(c) == 120 * 120 and int(c.min()) >= 0 and int(c.max()) < 120
    i, j = 17, 93
    pa, pb = PERMUTATIONS[i], PERMUTATIONS[j]
    expected = {"a*b": compose(pa, pb), "a*b*a_inv": compose(compose(pa, pb), inverse(pa)),
                "a*b*a": compose(compose(pa, pb), pa)}[op]
    assert PERMUTATIONS[int(c[i * 120 + j])] == expected
