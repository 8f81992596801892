"""Binary-operation tables (Power et al. 2022): modular arithmetic over Z_p and the symmetric groups
S5 and S6 (Chughtai et al. 2023 study both).

Every example is the token sequence `a op b =` with label `c`, where `a op b = c`. Tokens
0..n-1 are the elements, n is the operator token and n+1 the equals token, so the same
tensors serve a transformer (as a sequence) and an MLP (as embedded operands).
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from collections.abc import Callable

import torch

from grokbench.errors import GrokbenchError, require
from grokbench.tasks.base import Detection, GrokTask, Splits


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n ** 0.5) + 1))


def _div(x, y, p):
    return (x * torch.tensor([pow(int(v), -1, p) if int(v) else 0 for v in y])) % p


# name -> (f(x, y, p) on integer tensors, pairs allowed, needs a prime modulus)
MODULAR_OPS: dict[str, tuple[Callable, Callable, bool]] = {
    "x+y": (lambda x, y, p: (x + y) % p, lambda x, y: True, False),
    "x-y": (lambda x, y, p: (x - y) % p, lambda x, y: True, False),
    "x*y": (lambda x, y, p: (x * y) % p, lambda x, y: True, False),
    "x/y": (_div, lambda x, y: y != 0, True),
    "x**2+y**2": (lambda x, y, p: (x**2 + y**2) % p, lambda x, y: True, False),
    "x**2+xy+y**2": (lambda x, y, p: (x**2 + x * y + y**2) % p, lambda x, y: True, False),
    "x**2+xy+y**2+x": (lambda x, y, p: (x**2 + x * y + y**2 + x) % p, lambda x, y: True, False),
    "x**3+xy": (lambda x, y, p: (x**3 + x * y) % p, lambda x, y: True, False),
    "x**3+xy**2+y": (lambda x, y, p: (x**3 + x * y**2 + y) % p, lambda x, y: True, False),
    "x/y_if_odd_else_x-y": (
        lambda x, y, p: torch.where(y % 2 == 1, _div(x, y, p), (x - y) % p),
        lambda x, y: True, True),
}
# Names without characters that need quoting on a command line.
MODULAR_ALIASES = {"add": "x+y", "sub": "x-y", "mul": "x*y", "div": "x/y",
                   "sq_sum": "x**2+y**2", "quad": "x**2+xy+y**2", "quad_x": "x**2+xy+y**2+x",
                   "cubic": "x**3+xy", "cubic2": "x**3+xy**2+y", "mixed": "x/y_if_odd_else_x-y"}


SPLITS = ("ordered", "unordered")
VAL_NOVEL = "val_novel"  # held-out pairs whose mirror is not in training (commutative, ordered split)


def is_commutative(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, n: int) -> bool:
    """Whether the table gives c(a, b) = c(b, a) for every pair whose mirror is in it."""
    result = torch.full((n, n), -1, dtype=torch.long)
    result[a, b] = c
    both = (result >= 0) & (result.T >= 0)
    return bool((result[both] == result.T[both]).all())


def split_pairs(a: torch.Tensor, b: torch.Tensor, n_train_fraction: float, split_seed: int,
                unordered: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (train, val) of a seeded random split of the table's pairs.

    `unordered` draws unordered pairs {a, b} and puts both orders on the same side, so no
    held-out pair is answered by the mirror of a training pair (Power et al.'s random split
    of ordered pairs leaks half of the held-out set that way for commutative operators).
    """
    key = torch.minimum(a, b) * (int(max(a.max(), b.max())) + 1) + torch.maximum(a, b) if unordered else \
        torch.arange(len(a))
    groups, group_of = torch.unique(key, return_inverse=True)
    order = torch.randperm(len(groups), generator=torch.Generator().manual_seed(split_seed))
    n_train = round(n_train_fraction * len(groups))
    require(0 < n_train < len(groups),
            f"task.train_fraction={n_train_fraction} leaves an empty split of {len(groups)} pairs")
    is_train = torch.zeros(len(groups), dtype=torch.bool)
    is_train[order[:n_train]] = True
    train = is_train[group_of]
    return train.nonzero().flatten(), (~train).nonzero().flatten()


def novel_pairs(a: torch.Tensor, b: torch.Tensor, train: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
    """The held-out indices whose mirror (b, a) is not a training pair: for a commutative
    operator, the only held-out pairs not answered by symmetry. A diagonal pair (a, a) is its
    own mirror, so it is novel whenever it is held out."""
    width = int(max(a.max(), b.max())) + 1
    mirror_in_train = torch.isin(b[val] * width + a[val], a[train] * width + b[train])
    return val[~mirror_in_train]


def operands(tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """a and b of `a op b =` sequences (the inverse of `sequences`)."""
    return tokens[:, 0], tokens[:, 2]


def sequences(a: torch.Tensor, b: torch.Tensor, n_elements: int) -> torch.Tensor:
    op = torch.full_like(a, n_elements)
    eq = torch.full_like(a, n_elements + 1)
    return torch.stack([a, op, b, eq], dim=1)


class _BinaryOpTask(GrokTask):
    """Shared parts: the train fraction check, the token layout, the split."""

    n_elements: int
    detection = Detection(metric="acc", exact=True)  # every held-out answer follows from the rule
    train_size_key = "train_fraction"

    def __init__(self, train_fraction: float = 0.5, split: str = "unordered", **kwargs):
        super().__init__(**kwargs)
        require(0.0 < float(train_fraction) < 1.0,
                f"task.train_fraction={train_fraction} is outside the allowed range (0, 1)")
        require(split in SPLITS, f"task.split={split!r} is unknown; allowed: {', '.join(SPLITS)}")
        self.train_fraction, self.split = float(train_fraction), split
        self.commutative: bool | None = None

    def table(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """All allowed pairs (a, b) and their results c."""
        raise NotImplementedError

    def build_splits(self) -> Splits:
        """The split; for a commutative operator split by ordered pairs, also `val_novel`,
        the held-out pairs whose mirror is not in training, which the detector then reads
        (on the rest of `val`, symmetry alone answers)."""
        a, b, c = self.table()
        self.commutative = is_commutative(a, b, c, self.n_elements)
        unordered = self.split == "unordered" and self.commutative
        train, val = split_pairs(a, b, self.train_fraction, self.split_seed, unordered)
        inputs = sequences(a, b, self.n_elements)
        extra = {}
        if self.commutative and not unordered:
            novel = novel_pairs(a, b, train, val)
            require(len(novel) > 0,
                    f"task.train_fraction={self.train_fraction} with task.split=ordered leaves no held-out "
                    f"pair whose mirror is outside training ({self.op} is commutative); allowed: "
                    "task.split=unordered or a smaller train_fraction")
            extra[VAL_NOVEL] = (inputs[novel], c[novel])
            self.detection = Detection(metric="acc", val_split=VAL_NOVEL, exact=True)
        return Splits(inputs[train], c[train], inputs[val], c[val], extra)

    def train_groups(self) -> torch.Tensor:
        """With the unordered split a pair and its mirror are one group, as the split drew them."""
        a, b = operands(self.splits.train_inputs)
        if self.split != "unordered" or not self.commutative:
            return super().train_groups()
        return torch.minimum(a, b) * self.n_elements + torch.maximum(a, b)

    @property
    def num_outputs(self) -> int:
        return self.n_elements

    def params(self) -> dict:
        novel = self.splits.extra_eval.get(VAL_NOVEL) if self.splits is not None else None
        return {**super().params(), "op": self.op, "train_fraction": self.train_fraction,
                "split": self.split, "commutative": self.commutative,
                "num_val_novel": None if novel is None else len(novel[1])}

    def extra_dims(self) -> dict:
        return {"vocab_size": self.n_elements + 2, "seq_len": 4}


PAIR_BYTES = 128  # one pair of the table at its peak: inputs, labels, split keys and sorting, in int64


def memory_bytes() -> int:
    """This machine's physical memory."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_table_fits(p: int) -> None:
    """The p² pairs are built in memory at once: a p too large fails here, in one line, rather than
    in the allocator."""
    memory = memory_bytes()
    largest = math.isqrt(memory // PAIR_BYTES)
    require(p <= largest, f"task.p={p} needs about {p * p * PAIR_BYTES / 1e9:,.0f} GB for its {p * p:,} pairs, "
                          f"more than this machine's {memory / 1e9:,.0f} GB; allowed: task.p <= {largest:,}")


class ModularArithmetic(_BinaryOpTask):
    """a op b mod p for the operator set of Power et al. 2022."""

    name = "modular"
    title, board_order = "Modular arithmetic", 10

    def __init__(self, op: str = "x+y", p: int = 97, **kwargs):
        super().__init__(**kwargs)
        op = MODULAR_ALIASES.get(op, op)
        if op not in MODULAR_OPS:
            raise GrokbenchError(f"task.op={op!r} is unknown; allowed: {', '.join(MODULAR_OPS)} "
                                 f"(or aliases {', '.join(MODULAR_ALIASES)})")
        require(isinstance(p, int) and p >= 2, f"task.p={p!r} is invalid; allowed: an integer >= 2")
        check_table_fits(p)
        needs_prime = MODULAR_OPS[op][2]
        require(not needs_prime or is_prime(p),
                f"task.p={p} is not prime; {op} divides, so it needs a prime modulus (e.g. 97, 113)")
        self.op, self.p, self.n_elements = op, p, p

    def table(self):
        x, y = torch.cartesian_prod(torch.arange(self.p), torch.arange(self.p)).unbind(1)
        fn, allowed, _ = MODULAR_OPS[self.op]
        keep = allowed(x, y)
        if keep is not True:
            x, y = x[keep], y[keep]
        return x, y, fn(x, y, self.p)

    def params(self) -> dict:
        return {**super().params(), "p": self.p}


@functools.cache
def permutations(degree: int) -> list[tuple[int, ...]]:
    """The degree! elements of S_degree, lexicographic."""
    return list(itertools.permutations(range(degree)))


PERMUTATIONS = permutations(5)  # the 120 elements of S5


def compose(a: tuple, b: tuple) -> tuple:
    """(a ∘ b)(i) = a(b(i)): apply b first."""
    return tuple(a[b[i]] for i in range(len(b)))


def inverse(a: tuple) -> tuple:
    inv = [0] * len(a)
    for i, ai in enumerate(a):
        inv[ai] = i
    return tuple(inv)


S5_OPS: dict[str, Callable[[tuple, tuple], tuple]] = {
    "a*b": compose,
    "a*b*a_inv": lambda a, b: compose(compose(a, b), inverse(a)),
    "a*b*a": lambda a, b: compose(compose(a, b), a),
}
S5_ALIASES = {"compose": "a*b", "conjugate": "a*b*a_inv", "aba": "a*b*a"}


class PermutationGroup(_BinaryOpTask):
    """Binary operations on the symmetric group S_degree (S5), all (degree!)² pairs."""

    name = "s5"
    title, board_order = "S5", 20
    degree = 5

    def __init__(self, op: str = "a*b", **kwargs):
        super().__init__(**kwargs)
        op = S5_ALIASES.get(op, op)
        if op not in S5_OPS:
            raise GrokbenchError(f"task.op={op!r} is unknown for {self.name}; allowed: {', '.join(S5_OPS)} "
                                 f"(or aliases {', '.join(S5_ALIASES)})")
        self.op = op
        self.n_elements = len(permutations(self.degree))

    def table(self):
        fn, elements = S5_OPS[self.op], permutations(self.degree)
        index = {perm: i for i, perm in enumerate(elements)}
        pairs = [(i, j, index[fn(a, b)]) for i, a in enumerate(elements) for j, b in enumerate(elements)]
        return torch.tensor(pairs).unbind(1)


class SymmetricGroupS6(PermutationGroup):
    """Binary operations on S6, all 720² = 518,400 pairs.

    Its held-out set is evaluated on a seeded subset of `val_pairs` pairs: all of them (about
    480,000 at the preset's train fraction) at every evaluation would cost more than the training
    between evaluations, and 20,000 already puts the chance band (accuracy 1/720) within ±0.001.
    """

    name = "s6"
    title, board_order = "S6", 25
    degree = 6

    def __init__(self, op: str = "a*b", val_pairs: int | None = 20_000, **kwargs):
        super().__init__(op=op, **kwargs)
        require(val_pairs is None or (isinstance(val_pairs, int) and val_pairs >= 1),
                f"task.val_pairs={val_pairs!r} is invalid; allowed: an integer >= 1 or null (every held-out pair)")
        self.val_pairs = val_pairs

    def build_splits(self) -> Splits:
        splits = super().build_splits()
        if self.val_pairs is None or self.val_pairs >= len(splits.val_targets):
            return splits
        drawn = torch.Generator().manual_seed(self.split_seed)
        keep = torch.randperm(len(splits.val_targets), generator=drawn)[:self.val_pairs].sort().values
        return Splits(splits.train_inputs, splits.train_targets, splits.val_inputs[keep], splits.val_targets[keep],
                      splits.extra_eval)

    def params(self) -> dict:
        return {**super().params(), "val_pairs": self.val_pairs}
