"""Path energies in the DLN metric and a numerically optimised path between two matrices.

Energy of a path γ: [0, 1] → M_d:  ℰ[γ] = ∫_0^1 g^N_γ(γ̇, γ̇) dt, with
g^N_X(Z, Z) = Σ_kl (u_kᵀZv_l)²/λ_kl (theory.metric), by Gauss–Legendre quadrature.
For a constant-speed minimising geodesic ℰ = length², and no other path with the same
end points has lower energy.

The optimised path is a polynomial with the given end points,
    X(t) = (1 − t)A + tB + t(1 − t) Σ_{k<K} C_k T_k(2t − 1)   (T_k Chebyshev),
whose energy is minimised over C_0…C_{K−1} by L-BFGS with batched central-difference
gradients. Every member of the family is a genuine path, so its (accurately integrated)
energy is an upper bound of the minimal energy: it can beat a claimed geodesic only if
that curve is not minimising.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev
from scipy.optimize import minimize

from .theory import Depth, metric


class _Stopped(Exception):
    """Raised inside the optimiser to abandon it (cancellation)."""


def gauss_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n-point Gauss–Legendre nodes and weights on [0, 1]."""
    s, w = np.polynomial.legendre.leggauss(n)
    return (s + 1) / 2, w / 2


def path_energy(x: np.ndarray, dx: np.ndarray, weights: np.ndarray, depth: Depth) -> np.ndarray:
    """Σ_q w_q g_{X_q}(Ẋ_q, Ẋ_q) for samples (..., Q, d, d); +inf where X_q is singular."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        e = np.sum(weights * metric(x, dx, depth), axis=-1)
    return np.where(np.isfinite(e), e, np.inf)


@dataclass
class PolyPath:
    """The family X(t) = (1 − t)A + tB + t(1 − t) Σ_k C_k T_k(2t − 1) at fixed nodes t."""

    a: np.ndarray
    b: np.ndarray
    t: np.ndarray
    modes: int

    def __post_init__(self) -> None:
        t, eye = self.t, np.eye(self.modes)
        tk = np.array([chebyshev.chebval(2 * t - 1, eye[k]) for k in range(self.modes)])
        dtk = np.array([2 * chebyshev.chebval(2 * t - 1, chebyshev.chebder(eye[k]))
                        for k in range(self.modes)])
        self.basis = t * (1 - t) * tk  # (K, Q)
        self.dbasis = (1 - 2 * t) * tk + t * (1 - t) * dtk

    def sample(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """X and Ẋ at the nodes for coefficients c (..., K, d, d) → (..., Q, d, d)."""
        t = self.t[:, None, None]
        x = (1 - t) * self.a + t * self.b + np.einsum("kq,...kij->...qij", self.basis, c)
        dx = (self.b - self.a) + np.einsum("kq,...kij->...qij", self.dbasis, c)
        return x, dx

    def fit(self, x: np.ndarray) -> np.ndarray:
        """Least-squares coefficients of the family closest to samples x (Q, d, d)."""
        t = self.t[:, None, None]
        resid = (x - (1 - t) * self.a - t * self.b).reshape(len(self.t), -1)
        c, *_ = np.linalg.lstsq(self.basis.T, resid, rcond=None)
        return c.reshape(self.modes, *self.a.shape)


def optimise_path(a: np.ndarray, b: np.ndarray, depth: Depth, modes: int, eval_nodes: int,
                  opt_nodes: int = 24, start: np.ndarray | None = None, maxiter: int = 400,
                  should_stop: Callable[[], bool] = lambda: False,
                  ) -> tuple[float, np.ndarray, int] | None:
    """Minimise the energy over the polynomial family with ``opt_nodes``-point quadrature
    (from the straight line, or from the least-squares fit of ``start``, samples of a path
    at those nodes); report the optimum's energy with ``eval_nodes``-point quadrature.

    Returns (energy, coefficients, iterations), or None if ``should_stop()`` became true."""
    t, w = gauss_nodes(opt_nodes)
    fam = PolyPath(a, b, t, modes)
    shape = (modes, *a.shape)
    c0 = np.zeros(shape) if start is None else fam.fit(start)
    n = c0.size

    def energy(c: np.ndarray) -> float:
        return float(path_energy(*fam.sample(c.reshape(shape)), w, depth))

    def grad(c: np.ndarray) -> np.ndarray:
        if should_stop():
            raise _Stopped
        h = 1e-6 * max(1.0, float(np.max(np.abs(c))))
        pert = c[None, :] + h * np.concatenate([np.eye(n), -np.eye(n)])
        e = path_energy(*fam.sample(pert.reshape(2 * n, *shape)), w, depth)
        return (e[:n] - e[n:]) / (2 * h)

    try:
        res = minimize(energy, c0.ravel(), jac=grad, method="L-BFGS-B",
                       options={"maxiter": maxiter, "ftol": 1e-15, "gtol": 1e-11})
    except _Stopped:
        return None
    coef = res.x.reshape(shape)
    te, we = gauss_nodes(eval_nodes)
    return float(path_energy(*PolyPath(a, b, te, modes).sample(coef), we, depth)), coef, int(res.nit)
