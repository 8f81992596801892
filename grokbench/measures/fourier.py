"""Fourier analysis over the residues mod p, shared by the modular-addition measures (Nanda et
al. 2023): the power of each frequency in a matrix indexed by residue, and the components of a
logit table along cos(w(a+b)) and sin(w(a+b)), w = 2 pi k / p. Not a measure itself (it has no
config)."""

from __future__ import annotations

import torch


def frequency_power(matrix: torch.Tensor) -> torch.Tensor:
    """Power of frequencies k = 0 .. p // 2 in `matrix` (p residues x features): |F_k|^2 summed
    over features, with k and p - k together (a real signal's two halves of one frequency)."""
    p = matrix.shape[0]
    spectrum = torch.fft.rfft(matrix.double(), dim=0).abs().pow(2).sum(dim=tuple(range(1, matrix.dim())))
    both_halves = torch.full_like(spectrum, 2.0)
    both_halves[0] = 1.0
    if p % 2 == 0:
        both_halves[-1] = 1.0  # the Nyquist frequency has no mirror
    return spectrum * both_halves


def top_fraction(power: torch.Tensor, k: int) -> tuple[float, list[int]]:
    """The share of the total power in the k strongest non-constant frequencies, and those."""
    strongest = torch.argsort(power[1:], descending=True)[:k] + 1
    return float(power[strongest].sum() / power.sum()), sorted(int(f) for f in strongest)


def sum_components(logits: torch.Tensor) -> torch.Tensor:
    """F[k, c] = sum_{a,b} logits[a, b, c] exp(-i w_k (a + b)) for k = 0 .. p // 2: the logits'
    coefficients along cos and sin of w_k (a + b) (real and minus imaginary part), computed from
    their sums over each residue s = a + b mod p."""
    p = logits.shape[0]
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    by_sum = torch.zeros(p, logits.shape[-1], dtype=torch.float64, device=logits.device)
    by_sum.index_add_(0, ((a + b) % p).flatten().to(logits.device), logits.reshape(p * p, -1).double())
    return torch.fft.rfft(by_sum, dim=0)


def key_components(logits: torch.Tensor, frequencies: list[int]) -> torch.Tensor:
    """The part of logits (p x p x outputs) along cos(w_k (a+b)) and sin(w_k (a+b)) for these
    frequencies, summed: each is the projection, for every output c, of the table over (a, b)
    onto the two unit directions of that frequency (norm^2 p^2 / 2 each for 0 < k < p / 2)."""
    p = logits.shape[0]
    coefficients = sum_components(logits)
    s = torch.arange(p, dtype=torch.float64, device=logits.device)
    part = torch.zeros(p, logits.shape[-1], dtype=torch.float64, device=logits.device)
    for k in frequencies:
        w = 2 * torch.pi * k / p
        cos_part, sin_part = coefficients[k].real, -coefficients[k].imag
        part += (torch.cos(w * s)[:, None] * cos_part + torch.sin(w * s)[:, None] * sin_part) * 2 / p ** 2
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    return part[((a + b) % p).to(logits.device)]  # (p, p, outputs)


def frequency_energy(logits: torch.Tensor) -> torch.Tensor:
    """The squared norm of each frequency's (a+b) component of the table, k = 0 .. p // 2."""
    p = logits.shape[0]
    return sum_components(logits).abs().pow(2).sum(-1) * 2 / p ** 2
