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


def sum_components(logits: torch.Tensor, sums: torch.Tensor, p: int) -> torch.Tensor:
    """F[k, c] = sum over pairs of logits[pair, c] exp(-i w_k s), k = 0 .. p // 2, where s = a + b
    mod p of each pair (`sums`): the coefficients of the logits, as a table over (a, b), along
    cos(w_k (a + b)) (real part) and sin(w_k (a + b)) (minus the imaginary part). Computed from
    the logits' sums over each residue s, so it never builds the p x p x p table."""
    by_sum = torch.zeros(p, logits.shape[-1], dtype=torch.float64, device=logits.device)
    by_sum.index_add_(0, sums, logits.double())
    return torch.fft.rfft(by_sum, dim=0)


def key_components(coefficients: torch.Tensor, frequencies: list[int], p: int) -> torch.Tensor:
    """The logits' part along cos(w_k (a+b)) and sin(w_k (a+b)) for these frequencies, summed, as
    a (p sums x outputs) table: every pair (a, b) takes the row of s = a + b mod p. For each
    output it is the projection of the logit table over all p^2 pairs onto the two unit
    directions of each frequency (each of squared norm p^2 / 2 for 0 < k < p / 2)."""
    s = torch.arange(p, dtype=torch.float64, device=coefficients.device)
    part = torch.zeros(p, coefficients.shape[-1], dtype=torch.float64, device=coefficients.device)
    for k in frequencies:
        w = 2 * torch.pi * k / p
        cos_part, sin_part = coefficients[k].real, -coefficients[k].imag
        part += (torch.cos(w * s)[:, None] * cos_part + torch.sin(w * s)[:, None] * sin_part) * 2 / p ** 2
    return part


def frequency_energy(coefficients: torch.Tensor, p: int) -> torch.Tensor:
    """The squared norm of each frequency's (a+b) component of the logit table, k = 0 .. p // 2."""
    return coefficients.abs().pow(2).sum(-1) * 2 / p ** 2
