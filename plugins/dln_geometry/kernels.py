"""numba kernel: the balanced flow Ẋ = −(1/N)A_{N,X}(dE(X)) for one seed at a time.

Each right-hand side takes one SVD X = UΣVᵀ and returns −U(λ ∘ UᵀdEV)Vᵀ with the
normalised eigenvalues (N = ∞: the log-mean), written with expm1 so that coinciding
singular values need no special case:
    λ_ij^N = y^{1−1/N} expm1(r)/(N expm1(r/N)),  λ_ij^∞ = y expm1(r)/r,  r = log(x/y),
    x = σ_i², y = σ_j²  (λ_ii^N = σ_i^{2−2/N}, λ_ii^∞ = σ_i²).
Integration: adaptive Dormand–Prince 5(4) with its own step-size control, resumable
(state in, state out) so that the caller can stream results and check for cancellation
between calls of bounded cost. Energies: dE = c · mask ∘ (X − target) (see theory.Energy).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

import numpy as np
from numba import njit

from .theory import Energy

# Dormand–Prince 5(4) tableau
_A = np.zeros((7, 7))
_A[1, :1] = [1 / 5]
_A[2, :2] = [3 / 40, 9 / 40]
_A[3, :3] = [44 / 45, -56 / 15, 32 / 9]
_A[4, :4] = [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729]
_A[5, :5] = [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656]
_A[6, :6] = [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]
_E = np.array([71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40])


@njit(cache=True, nogil=True)
def lam_normalised(s: np.ndarray, depth: float) -> np.ndarray:
    """Normalised eigenvalues λ_ij of (1/N)A_{N,X} (N = ∞: log-mean), via expm1."""
    d = s.shape[0]
    out = np.empty((d, d))
    for i in range(d):
        for j in range(d):
            x, y = s[i] * s[i], s[j] * s[j]
            r = math.log(x) - math.log(y)
            if math.isinf(depth):
                out[i, j] = x if r == 0.0 else y * math.expm1(r) / r
            elif r == 0.0:
                out[i, j] = x ** (1.0 - 1.0 / depth)
            else:
                out[i, j] = y ** (1.0 - 1.0 / depth) * math.expm1(r) / (depth * math.expm1(r / depth))
    return out


@njit(cache=True, nogil=True)
def flow_rhs(x: np.ndarray, target: np.ndarray, mask: np.ndarray, coef: float,
             depth: float) -> np.ndarray:
    """Ẋ = −U(λ ∘ UᵀdE(X)V)Vᵀ with dE = coef · mask ∘ (X − target)."""
    u, s, vt = np.linalg.svd(x)
    g = u.T @ (coef * mask * (x - target)) @ vt.T
    return -(u @ (lam_normalised(s, depth) * g) @ vt)


@njit(cache=True, nogil=True)
def integrate(x: np.ndarray, t: float, h: float, t_end: float, max_steps: int,
              target: np.ndarray, mask: np.ndarray, coef: float, depth: float,
              rtol: float, atol: float, e_stop: float, a: np.ndarray,
              e: np.ndarray) -> tuple[float, float, int]:
    """Advance X in place by at most ``max_steps`` Dormand–Prince steps towards t_end.

    Returns (t, h, status): status 0 = not finished, 1 = reached t_end, 2 = failed
    (step size underflow or non-finite state), 3 = converged early: Σ_I (X_ij − ℓ_ij)² <
    e_stop at a zero-energy minimiser, where the rest of the flow moves X by O(√e_stop)
    (integrating on only costs time: the flow is stiff there, λ ~ σ_max²)."""
    d = x.shape[0]
    k = np.empty((7, d, d))
    k[0] = flow_rhs(x, target, mask, coef, depth)
    for _ in range(max_steps):
        if t >= t_end:
            return t, h, 1
        r = mask * (x - target)
        if np.sum(r * r) < e_stop:
            return t, h, 3
        h = min(h, t_end - t)
        for st in range(1, 7):
            y = x.copy()
            for m in range(st):
                if a[st, m] != 0.0:
                    y += h * a[st, m] * k[m]
            k[st] = flow_rhs(y, target, mask, coef, depth)
        err = np.zeros((d, d))
        for m in range(7):
            err += h * e[m] * k[m]
        scale = atol + rtol * np.maximum(np.abs(x), np.abs(y))
        en = math.sqrt(np.mean((err / scale) ** 2))
        if not math.isfinite(en):
            h *= 0.2
        elif en <= 1.0:
            t += h
            x[:, :] = y
            k[0] = k[6]
            h *= min(5.0, max(0.2, 0.9 * en ** -0.2)) if en > 0 else 5.0
        else:
            h *= max(0.2, 0.9 * en ** -0.2)
        if h < 1e-13 * (1.0 + abs(t)) or not np.all(np.isfinite(x)):
            return t, h, 2
    return t, h, 1 if t >= t_end else 0


def warm_up() -> None:
    """Compile (or load from cache) the kernel on a 2×2 problem."""
    x = np.eye(2) * 0.5 + 0.1 * np.arange(4.0).reshape(2, 2)
    integrate(x, 0.0, 0.01, 0.02, 5, np.eye(2), np.eye(2), 1.0, math.inf, 1e-6, 1e-9, 0.0,
              _A, _E)


def run_seeds(x0s: np.ndarray, energy: Energy, depth: float, t_end: float,
              cancelled: Callable[[], bool], rtol: float = 1e-8, atol: float = 1e-10,
              e_stop: float = 1e-14, chunk_seconds: float = 0.04) -> Iterator[tuple[int, np.ndarray, int]]:
    """Integrate each X_0 in ``x0s`` (S, d, d) to t_end; yield (index, X(t_end), status) as
    each seed finishes. Kernel calls are sized to ≈ ``chunk_seconds``; stops silently when
    ``cancelled()`` becomes true."""
    coef = 2.0 if energy.kind == "completion-diag" else 1.0
    target = np.ascontiguousarray(energy.target, dtype=float)
    mask = np.ascontiguousarray(energy.mask, dtype=float)
    budget = 50
    for i, x0 in enumerate(x0s):
        x = np.array(x0, dtype=float, order="C")
        t, h, status = 0.0, 1e-3, 0
        while status == 0:
            if cancelled():
                return
            start = time.perf_counter()
            t, h, status = integrate(x, t, h, t_end, budget, target, mask, coef, float(depth),
                                     rtol, atol, e_stop, _A, _E)
            spent = time.perf_counter() - start
            budget = int(min(max(budget * chunk_seconds / max(spent, 1e-4), 10), 100_000))
        yield i, x, status
