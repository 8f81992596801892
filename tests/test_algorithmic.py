"""Operator tables against brute force, S5 group axioms, split properties, the novel-pair
held-out set of commutative operators split by ordered pairs."""

import itertools

import pytest
import torch
from conftest import compose_config

from grokbench.errors import GrokbenchError
from grokbench.run import train
from grokbench.tasks.algorithmic import (
    MODULAR_ALIASES,
    MODULAR_OPS,
    PERMUTATIONS,
    S5_OPS,
    ModularArithmetic,
    PermutationGroup,
    SymmetricGroupS6,
    compose,
    inverse,
    permutations,
    split_pairs,
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



def test_s6_table_is_composition_on_s6_and_its_heldout_pairs_a_seeded_subset():
    built = [SymmetricGroupS6(train_fraction=0.08, val_pairs=300, split_seed=3).build_splits() for _ in range(2)]
    splits, elements = built[0], permutations(6)
    assert (len(elements), len(splits.train_targets), len(splits.val_targets)) == (720, round(0.08 * 720**2), 300)
    assert torch.equal(splits.val_inputs, built[1].val_inputs)  # seeded by the split seed
    for (a, _op, b, _eq), c in zip(splits.val_inputs.tolist(), splits.val_targets.tolist()):
        assert elements[c] == compose(elements[a], elements[b])


COMMUTATIVE = {"x+y", "x*y", "x**2+y**2", "x**2+xy+y**2"}  # c(a, b) = c(b, a) by the formula


def _built(op, split, p=11, train_fraction=0.5, split_seed=0):
    task = ModularArithmetic(op=op, p=p, train_fraction=train_fraction, split=split, split_seed=split_seed)
    task.setup()
    return task


def _operands(inputs):
    """(a, b) of each `a op b =` sequence."""
    return {(int(row[0]), int(row[2])) for row in inputs}


@pytest.mark.parametrize("op", list(MODULAR_OPS))
def test_commutativity_is_read_from_the_table(op):
    assert _built(op, "unordered").commutative == (op in COMMUTATIVE)


@pytest.mark.parametrize("op", list(MODULAR_OPS))
def test_unordered_split_keeps_each_pair_and_its_mirror_on_one_side(op):
    p, fraction = 11, 0.3
    task = _built(op, "unordered", p=p, train_fraction=fraction)
    train, val = _operands(task.splits.train_inputs), _operands(task.splits.val_inputs)
    a, b, _ = task.table()
    assert not train & val and train | val == set(zip(a.tolist(), b.tolist()))  # disjoint, complete
    if op in COMMUTATIVE:
        assert not any((y, x) in train for x, y in val)  # nothing held out is answered by symmetry
        unordered = {frozenset(pair) for pair in train}  # the fraction counts unordered pairs
        assert len(unordered) == round(fraction * p * (p + 1) / 2)
        assert len(train) == sum(2 - (len(pair) == 1) for pair in unordered)
    else:  # nothing to keep together: the ordered split of Power et al.
        assert len(train) == round(fraction * len(a))
    assert task.eval_splits == ("train_eval", "val")


def test_unordered_split_is_seeded():
    first, again, other = (_operands(_built("x+y", "unordered", split_seed=s).splits.train_inputs)
                           for s in (0, 0, 1))
    assert first == again and first != other


@pytest.mark.parametrize("op", ["x+y", "x*y", "x-y", "x/y"])
@pytest.mark.parametrize("split", ["ordered", "unordered"])
def test_val_novel_exists_exactly_for_commutative_operators_split_by_ordered_pairs(op, split):
    task = _built(op, split)
    has_novel = op in COMMUTATIVE and split == "ordered"
    assert task.eval_splits == (("train_eval", "val", "val_novel") if has_novel else ("train_eval", "val"))
    assert task.detection.val_split == ("val_novel" if has_novel else "val") and task.detection.exact
    assert len(task.val_dataloader()) == len(task.eval_splits)
    if not has_novel:
        return
    train, val = _operands(task.splits.train_inputs), _operands(task.splits.val_inputs)
    novel_inputs, novel_targets = task.splits.extra_eval["val_novel"]
    novel = _operands(novel_inputs)
    assert novel == {(x, y) for x, y in val if (y, x) not in train}  # diagonal pairs included
    assert any(x == y for x, y in novel) and 0 < len(novel) < len(val)
    held_out = dict(zip(map(tuple, task.splits.val_inputs.tolist()), task.splits.val_targets.tolist()))
    assert all(held_out[tuple(x)] == y for x, y in zip(novel_inputs.tolist(), novel_targets.tolist()))
    assert task.params()["num_val_novel"] == len(novel)


def test_ordered_split_with_no_novel_pair_left_fails_in_one_line():
    """24 of x+y mod 5's 25 pairs for training: the one held-out pair, off the diagonal, has
    its mirror in training, so no held-out pair tests more than symmetry."""
    a, b, _ = ModularArithmetic(op="x+y", p=5).table()
    seed = next(s for s in range(100) if all(a[i] != b[i] for i in split_pairs(a, b, 0.96, s, False)[1]))
    task = ModularArithmetic(op="x+y", p=5, train_fraction=0.96, split="ordered", split_seed=seed)
    with pytest.raises(GrokbenchError, match=r"leaves no held-out pair whose mirror is outside training"):
        task.setup()


def test_run_on_commutative_ordered_split_logs_and_detects_val_novel(tmp_path):
    tiny = ["~experiment", "task.p=7", "model=token_mlp", "trainer.max_steps=20", "eval.every=10", "threads=1"]
    ordered = train(compose_config([*tiny, "task.split=ordered"], tmp_path / "ordered"))
    assert ordered["status"] == "completed", ordered["error"]
    assert {"val_novel/acc", "val_novel/loss", "val/acc"} <= set(ordered["final"])
    assert all("val_novel/acc" in row for row in ordered["curve"])  # at every evaluation point
    assert ordered["detector"]["settings"]["val_metric"] == "val_novel/acc"
    assert ordered["detector"]["settings"]["val_loss"] == "val_novel/loss"
    unordered = train(compose_config([*tiny, "task.split=unordered"], tmp_path / "unordered"))
    assert unordered["status"] == "completed", unordered["error"]
    assert not any(k.startswith("val_novel/") for k in unordered["final"])
    assert unordered["detector"]["settings"]["val_metric"] == "val/acc"


def test_unknown_split_fails_in_one_line_naming_the_allowed_values(tmp_path):
    with pytest.raises(GrokbenchError, match=r"task.split='sideways' is unknown; allowed: ordered, unordered"):
        ModularArithmetic(split="sideways")
    record = train(compose_config(["~experiment", "task.p=7", "task.split=sideways", "threads=1"], tmp_path))
    assert record["status"] == "failed"
    assert "task.split='sideways' is unknown; allowed: ordered, unordered" in record["error"]
    assert "\n" not in record["error"]
