"""Gradient flows of balanced deep linear networks, integrated with scipy's ``solve_ivp``.

Three formulations of the same flow (they must agree when W(0) is balanced):

* factor-wise (1.6):   Ẇ_p = −(W_N⋯W_{p+1})ᵀ dE(X) (W_{p−1}⋯W_1)ᵀ, p = 1…N
  (and plain gradient descent W_p ← W_p − η ∂E/∂W_p, its small-step discretisation);
* end-to-end (4.1):    Ẋ = −Σ_{p=1}^N (XXᵀ)^{(N−p)/N} dE(X) (XᵀX)^{(p−1)/N}, fractional powers
  by symmetric eigendecompositions (N = ∞: (1/N)-normalised limit
  Ẋ = −∫_0^1 (XXᵀ)^{1−s} dE (XᵀX)^s ds by Gauss–Legendre quadrature);
* SVD coordinates (4.17–4.19), G = Uᵀ dE V, L = L_N(Σ):
  U̇ = U 𝔰((LΣ) ∘ G),  V̇ = V 𝔰((ΣL) ∘ G),  σ̇_i = −λ_ii G_ii,
  with λ_ii = N σ_i^{2−2/N} for the raw operator (4.1) — the source's (4.18) prints
  σ̇ = −Σ^{2−2/N} diag G, which is the 1/N-normalised operator's value (``source_diag``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.integrate import solve_ivp

from .theory import Depth, balance_error, end_to_end, is_inf, l_matrix

Grad = Callable[[np.ndarray], np.ndarray]


def factor_grads(ws: list[np.ndarray], de: np.ndarray) -> list[np.ndarray]:
    """∂E/∂W_p = (W_N⋯W_{p+1})ᵀ dE(X) (W_{p−1}⋯W_1)ᵀ for all p (prefix/suffix products)."""
    d = ws[0].shape[0]
    n = len(ws)
    pre = [np.eye(d)]
    for w in ws:
        pre.append(w @ pre[-1])
    suf = [np.eye(d)]
    for w in reversed(ws):
        suf.append(suf[-1] @ w)
    return [suf[n - 1 - p].T @ de @ pre[p].T for p in range(n)]


class FlowError(RuntimeError):
    """The integrator failed (e.g. colliding singular values in SVD coordinates)."""


def _solve(f, t_eval: np.ndarray, y0: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """solve_ivp(DOP853) over [t_eval[0], t_eval[-1]]; the states at t_eval, (len, dim)."""
    sol = solve_ivp(f, (float(t_eval[0]), float(t_eval[-1])), y0, method="DOP853",
                    t_eval=t_eval, rtol=rtol, atol=atol)
    if not sol.success or sol.y.shape[1] != len(t_eval):
        raise FlowError(sol.message)
    return sol.y.T


def factor_flow(ws0: list[np.ndarray], grad: Grad, t_eval: np.ndarray, rtol: float = 1e-11,
                atol: float = 1e-12) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Integrate (1.6) with DOP853 from W(t_eval[0]) = ws0; returns (X(t) for t in t_eval,
    balance errors, the factors at t_eval[-1])."""
    n, d = len(ws0), ws0[0].shape[0]

    def f(_t: float, y: np.ndarray) -> np.ndarray:
        ws = list(y.reshape(n, d, d))
        return -np.concatenate([g.ravel() for g in factor_grads(ws, grad(end_to_end(ws)))])

    ys = _solve(f, t_eval, np.concatenate([w.ravel() for w in ws0]), rtol, atol)
    wss = [list(y.reshape(n, d, d)) for y in ys]
    return (np.array([end_to_end(ws) for ws in wss]), np.array([balance_error(ws) for ws in wss]),
            wss[-1])


def factor_gd(ws0: list[np.ndarray], grad: Grad, lr: float, t_eval: np.ndarray,
              ) -> tuple[np.ndarray, np.ndarray]:
    """Plain gradient descent W_p ← W_p − η ∂E/∂W_p; time t = kη. Returns X and balance
    errors at the iterates closest to t_eval."""
    ws = [w.copy() for w in ws0]
    marks = np.rint(np.asarray(t_eval) / lr).astype(int)
    xs, bal, k = [], [], 0
    for m in marks:
        while k < m:
            gs = factor_grads(ws, grad(end_to_end(ws)))
            ws = [w - lr * g for w, g in zip(ws, gs)]
            k += 1
        xs.append(end_to_end(ws))
        bal.append(balance_error(ws))
    return np.array(xs), np.array(bal)


def _sym_power(c: np.ndarray, powers: np.ndarray) -> np.ndarray:
    """(C)^{a} for each a in ``powers``, C symmetric PSD: array (len(powers), d, d)."""
    w, q = np.linalg.eigh(c)
    w = np.clip(w, 0.0, None)
    return np.einsum("ik,pk,jk->pij", q, w[None, :] ** powers[:, None], q)


def a_fractional(x: np.ndarray, z: np.ndarray, depth: Depth, nodes: int = 32) -> np.ndarray:
    """A_{N,X}(Z) = Σ_p (XXᵀ)^{(N−p)/N} Z (XᵀX)^{(p−1)/N} (raw); N = ∞: the normalised
    ∫_0^1 (XXᵀ)^{1−s} Z (XᵀX)^s ds by ``nodes``-point Gauss–Legendre quadrature."""
    if is_inf(depth):
        s, w = np.polynomial.legendre.leggauss(nodes)
        s, w = (s + 1) / 2, w / 2
        left, right = _sym_power(x @ x.T, 1 - s), _sym_power(x.T @ x, s)
        return np.tensordot(w, left @ z @ right, axes=1)
    n = int(depth)
    p = np.arange(1, n + 1)
    left, right = _sym_power(x @ x.T, (n - p) / n), _sym_power(x.T @ x, (p - 1) / n)
    return np.sum(left @ z @ right, axis=0)


def e2e_flow(x0: np.ndarray, grad: Grad, depth: Depth, t_eval: np.ndarray, rtol: float = 1e-11,
             atol: float = 1e-12) -> np.ndarray:
    """Integrate Ẋ = −A_{N,X}(dE(X)) (4.1) with matrix fractional powers (DOP853) from
    X(t_eval[0]) = x0; returns X on t_eval."""
    d = x0.shape[0]

    def f(_t: float, y: np.ndarray) -> np.ndarray:
        x = y.reshape(d, d)
        return -a_fractional(x, grad(x), depth).ravel()

    return _solve(f, t_eval, x0.ravel(), rtol, atol).reshape(-1, d, d)


def svd_rhs(u: np.ndarray, s: np.ndarray, v: np.ndarray, grad: Grad, depth: Depth,
            normalised: bool = False, source_diag: bool = False,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U̇, σ̇, V̇) of (4.17–4.19) at X = U diag(s) Vᵀ. λ_ii = N σ^{2−2/N} (raw), σ^{2−2/N}
    (normalised, or the source's literal (4.18) with ``source_diag``), σ² (N = ∞)."""
    g = u.T @ grad(u @ (s[:, None] * v.T)) @ v
    s_abs = np.abs(s)  # σ > 0 along the flow; a loose integrator's trial stages may overshoot:
    lmat = l_matrix(s_abs, depth, normalised)  # λ_ij and L_ij depend on σ² only
    a = lmat * s[None, :] * g  # (LΣ) ∘ G
    b = s[:, None] * lmat * g  # (ΣL) ∘ G
    if is_inf(depth):
        lam_ii = s_abs ** 2
    else:
        scale = 1.0 if (normalised or source_diag) else float(depth)
        lam_ii = scale * s_abs ** (2.0 - 2.0 / depth)
    return u @ (a - a.T), -lam_ii * np.diag(g), v @ (b - b.T)


def svd_flow(usv0: tuple[np.ndarray, np.ndarray, np.ndarray], grad: Grad, depth: Depth,
             t_eval: np.ndarray, normalised: bool = False, source_diag: bool = False,
             rtol: float = 1e-11, atol: float = 1e-12,
             ) -> tuple[np.ndarray, float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Integrate (4.17–4.19) from (U, σ, V) at t_eval[0] (one SVD of X_0 by the caller, see
    :func:`svd_start`), DOP853. Returns X(t) on t_eval, the smallest relative singular-value
    gap min_{i≠j} |σ_i − σ_j|/max σ met at the outputs, and (U, σ, V) at t_eval[-1]."""
    u0, s0, v0 = usv0
    d = len(s0)

    def split(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return y[:d * d].reshape(d, d), y[d * d:d * d + d], y[d * d + d:].reshape(d, d)

    def f(_t: float, y: np.ndarray) -> np.ndarray:
        du, ds, dv = svd_rhs(*split(y), grad, depth, normalised, source_diag)
        return np.concatenate([du.ravel(), ds, dv.ravel()])

    ys = _solve(f, t_eval, np.concatenate([u0.ravel(), s0, v0.ravel()]), rtol, atol)
    xs, gap = [], np.inf
    for y in ys:
        u, s, v = split(y)
        xs.append(u @ (s[:, None] * v.T))
        if d > 1:
            diff = np.abs(s[:, None] - s[None, :])
            np.fill_diagonal(diff, np.inf)
            gap = min(gap, float(diff.min() / np.max(np.abs(s))))
    return np.array(xs), gap, split(ys[-1])


def svd_start(x0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U, σ, V) with X_0 = U diag(σ) Vᵀ."""
    u, s, vt = np.linalg.svd(x0)
    return u, s, vt.T


def free_energy_rhs(s: np.ndarray, p: float, beta: float, depth: Depth,
                    grad_s: Callable[[np.ndarray, Depth], np.ndarray]) -> np.ndarray:
    """σ̇_i = −λ_ii (σ_i^{p−1} − (1/β) ∂S/∂σ_i) for F_β = (1/p)Σσ^p − S/β (4.51–4.53),
    λ_ii = σ^{2−2/N} (normalised) or σ² (N = ∞). dF = U diag(·) Vᵀ is diagonal in the SVD
    frame, so U and V stay fixed by (4.17/4.19) and only σ moves."""
    lam_ii = s ** 2 if is_inf(depth) else s ** (2.0 - 2.0 / depth)
    return -lam_ii * (s ** (p - 1) - grad_s(s, depth) / beta)


def free_energy_flow(s0: np.ndarray, p: float, beta: float, depth: Depth, t0: float, t1: float,
                     grad_s: Callable[[np.ndarray, Depth], np.ndarray], rtol: float = 1e-10,
                     atol: float = 1e-12) -> np.ndarray:
    """σ(t1) from σ(t0) = s0 under :func:`free_energy_rhs` (DOP853)."""
    sol = solve_ivp(lambda _t, s: free_energy_rhs(s, p, beta, depth, grad_s), (t0, t1), s0,
                    method="DOP853", rtol=rtol, atol=atol)
    return sol.y[:, -1]
