"""Gaussian expectations of piecewise-smooth functions, split at their kinks.

One-dimensional: E[h(g)], g ~ N(0, 1). Two-dimensional: E[f1(u) f2(v)] for standard
normals u, v with correlation ρ. Both are accurate to ~1e-14 (absolute, for O(1)
integrands) when the functions are smooth between the declared kinks — points where f or
one of its derivatives jumps (ReLU at 0, hardtanh at ±1) — and polynomially bounded.

Rule: composite Gauss–Legendre, ``NODES`` points per interval, on [−L, L] (L = ``L_CUT``;
the Gaussian mass beyond is 1.5e-23) cut at the graded ``EDGES`` (0, ±2, ±4.5) and at
every kink, so each interval sees a function analytic in a neighbourhood of it.

Pairs. Write u = a·p + b·q, v = a·p − b·q with p, q i.i.d. N(0, 1), a = √((1+ρ)/2),
b = √((1−ρ)/2) (so Var u = Var v = 1, Cov(u, v) = a² − b² = ρ). A kink k of f1 is the
line a·p + b·q = k, a kink of f2 the line a·p − b·q = k. For ρ ≥ 0 the lines are steep
(a ≥ b): integrate p inside, split at p = (k − b q)/a and p = (k + b q)/a, which move with
q; the inner result is then smooth in q except where two kink lines cross, q = (k₁ − k₂)/(2b),
where the outer rule is split too. For ρ < 0 the lines are flat and the roles of p and q
swap (crossings at p = (k₁ + k₂)/(2a)). Nothing in the rule has a length scale of order
√(1 − ρ²), so ρ → ±1 (1 − ρ = 1e-8, say) is as accurate as ρ = 0; ρ = ±1 itself is the
one-dimensional E[f1(g) f2(±g)]. When f1 is f2 with the same kinks the integrand is even in
the variable whose sign swaps u and v, which halves the work.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.polynomial.legendre import leggauss

ArrayFn = Callable[[np.ndarray], np.ndarray]

#: Integration range [−L_CUT, L_CUT] of each standard normal.
L_CUT = 10.0
#: Non-negative interval edges of the composite rule (mirrored for the full line).
EDGES = (0.0, 2.0, 4.5, L_CUT)
#: Gauss–Legendre points per interval.
NODES = 14
#: 2-D nodes per vectorised block of ρ values: with kinks every block builds its own node
#: arrays, fastest while they stay in cache; without, larger blocks save Python overhead.
_BLOCK_NODES = {True: 1 << 15, False: 1 << 19}

_T, _W = leggauss(NODES)
_W = _W / math.sqrt(2.0 * math.pi)  # the density's constant, folded into the weights
_HALF = np.array(EDGES)
_FULL = np.concatenate([-_HALF[:0:-1], _HALF])


def _rule(breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x and weights w·φ(x) (φ the N(0, 1) density) of NODES-point Gauss–Legendre
    on each interval between sorted breakpoints (last axis); zero-length intervals get
    zero weight."""
    a, b = breaks[..., :-1, None], breaks[..., 1:, None]
    half = 0.5 * (b - a)
    shape = breaks.shape[:-1] + (-1,)
    x = (a + half * (_T + 1.0)).reshape(shape)
    return x, (half * _W).reshape(shape) * np.exp(-0.5 * x * x)


#: The rules without cuts: {False: full line, True: half line [0, L]}.
_FIXED = {False: _rule(_FULL), True: _rule(_HALF)}


def _gauss_nodes(edges: np.ndarray, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_rule` on [edges[0], edges[-1]] cut at ``edges`` and at ``cuts`` (last axis;
    clipped to the range), broadcast over the leading axes of ``cuts``."""
    if not cuts.shape[-1]:
        return _FIXED[edges[0] == 0.0]
    breaks = np.concatenate([np.broadcast_to(edges, cuts.shape[:-1] + edges.shape),
                             np.clip(cuts, edges[0], edges[-1])], axis=-1)
    return _rule(np.sort(breaks, axis=-1))


def _as_kinks(kinks: Sequence[float]) -> np.ndarray:
    return np.asarray(tuple(kinks), float).reshape(-1)


def gaussian_rule(kinks: Sequence[float] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x_i and weights w_i with E[h(g)] ≈ Σ w_i h(x_i) for h smooth between ``kinks``
    (the weights include the Gaussian density)."""
    return _gauss_nodes(_FULL, _as_kinks(kinks))


def gaussian_expectation(h: ArrayFn, kinks: Sequence[float] = ()) -> float:
    """E[h(g)], g ~ N(0, 1), for h vectorised and smooth between ``kinks``."""
    x, w = gaussian_rule(kinks)
    return float(np.sum(w * h(x)))


def pair_expectation(f1: ArrayFn, f2: ArrayFn, rho: float | np.ndarray,
                     kinks1: Sequence[float] = (), kinks2: Sequence[float] = ()) -> np.ndarray:
    """E[f1(u) f2(v)] for standard normals u, v with correlation ρ (clipped to [−1, 1]),
    an array of the shape of ``rho``; f1 (f2) smooth between ``kinks1`` (``kinks2``). See
    the module docstring for the rule."""
    r = np.clip(np.asarray(rho, float), -1.0, 1.0)
    flat = r.reshape(-1)
    out = np.empty_like(flat)
    k1, k2 = _as_kinks(kinks1), _as_kinks(kinks2)
    sym = f1 is f2 and np.array_equal(k1, k2)
    size = max(1, _BLOCK_NODES[len(k1) + len(k2) > 0] // _nodes_per_rho(len(k1), len(k2), sym))
    for neg in (False, True):
        idx = np.nonzero((flat < 0) if neg else (flat >= 0))[0]
        for i in range(0, len(idx), size):
            sel = idx[i:i + size]
            out[sel] = _pair_block(f1, f2, k1, k2, flat[sel], neg, sym)
    return out.reshape(r.shape)


def _nodes_per_rho(n1: int, n2: int, sym: bool) -> int:
    per_dim = (len(_FULL) - 1) * NODES
    return (per_dim // (2 if sym else 1) + n1 * n2 * NODES) * (per_dim + (n1 + n2) * NODES)


def _crossing_pairs(k1: np.ndarray, k2: np.ndarray, neg: bool,
                    sym: bool) -> tuple[np.ndarray, np.ndarray]:
    """The kink pairs (k₁, k₂) whose lines cross away from 0 (k₁ ≠ k₂ for ρ ≥ 0,
    k₁ ≠ −k₂ for ρ < 0; a crossing at 0 is already an edge of the outer rule); on the
    half line of ``sym`` (ρ ≥ 0) only those at y = (k₁ − k₂)/(2b) > 0."""
    j1, j2 = (m.ravel() for m in np.meshgrid(k1, k2, indexing="ij"))
    keep = (j1 > j2) if sym and not neg else (j1 != (-j2 if neg else j2))
    return j1[keep], j2[keep]


def _pair_block(f1: ArrayFn, f2: ArrayFn, k1: np.ndarray, k2: np.ndarray, r: np.ndarray,
                neg: bool, sym: bool) -> np.ndarray:
    """E[f1(u) f2(v)] for a block of ρ of one sign: u = A·x + B·y, v = C·x + D·y with x
    the inner, y the outer variable ((A, B, C, D) = (a, b, a, −b) for ρ ≥ 0, (b, a, −b, a)
    for ρ < 0). With ``sym`` the even variable (y for ρ ≥ 0, x for ρ < 0) runs over [0, L]
    and the result is doubled."""
    a, b = np.sqrt(0.5 * (1.0 + r)), np.sqrt(0.5 * (1.0 - r))
    A, B, C, D = (b, a, -b, a) if neg else (a, b, a, -b)
    det = A * D - B * C                                 # ∓2ab: 0 only at ρ = ±1
    j1, j2 = _crossing_pairs(k1, k2, neg, sym)
    safe = np.where(det != 0.0, det, 1.0)[:, None]
    cross = np.where(det[:, None] != 0.0, (A[:, None] * j2 - C[:, None] * j1) / safe, 0.0)
    y, wy = _gauss_nodes(_HALF if sym and not neg else _FULL, cross)
    A, B, C, D = (z[:, None, None] for z in (A, B, C, D))
    Y = y[..., None]
    cuts = np.concatenate([(k1 - B * Y) / A, (k2 - D * Y) / C], axis=-1)
    x, wx = _gauss_nodes(_HALF if sym and neg else _FULL, cuts)
    inner = np.sum(wx * f1(A * x + B * Y) * f2(C * x + D * Y), axis=-1)
    return (2.0 if sym else 1.0) * np.sum(wy * inner, axis=-1)
