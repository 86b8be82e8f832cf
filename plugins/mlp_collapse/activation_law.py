"""Exact finite-width law of log‖x_ℓ‖² for MLPs with a positively homogeneous activation.

x_ℓ = f(W_ℓ x_{ℓ−1}), W_ℓ i.i.d. N(0, σ²/d_{ℓ−1}), f(z) = max(z, 0) + α min(z, 0)
(α = 0: ReLU). Given x_{ℓ−1}, W_ℓ x_{ℓ−1} = σ‖x_{ℓ−1}‖ g/√d_{ℓ−1} with g ~ N(0, I_{d_ℓ})
fresh (rotation invariance), and f(c z) = c f(z) for c > 0, so the per-layer ratio

    R_ℓ = d_{ℓ−1}‖x_ℓ‖²/(σ²‖x_{ℓ−1}‖²) = Σ_j f(g_j)² = χ²_K + α² χ²_{d_ℓ−K},
    K = #{j: g_j > 0} ~ Bin(d_ℓ, ½),

independent across layers (the source's D W x with D = diag(f'), D_jj ∈ {1, α}). Write
χ²_K + α²χ²_{d−K} = χ²_d · (α² + (1 − α²) U) with χ²_d independent of (K, U),
U | K ~ Beta(K/2, (d−K)/2). Hence, with T_ℓ = log(σ² R_ℓ/d_{ℓ−1}) and h(u) = log(α² + (1−α²)u),

    E T_ℓ = log(2σ²/d_{ℓ−1}) + ψ(d_ℓ/2) + Σ_K p_K E[h(U) | K],
    Var T_ℓ = ψ'(d_ℓ/2) + Σ_K p_K E[h(U)² | K] − (Σ_K p_K E[h(U) | K])²,

1-D integrals against the Beta density (adaptive QUADPACK QAWS with the algebraic weight
u^{K/2−1}(1−u)^{(d−K)/2−1}, ≤ 1e-12; K = 0 and K = d are atoms h = log α², 0).
ReLU (α = 0): the layer dies (x_ℓ = 0) iff K = 0, probability 2^{−d_ℓ}; the law of
surviving networks conditions every layer on K ≥ 1, and then E[h | K] = ψ(K/2) − ψ(d/2),
Var[h | K] = ψ'(K/2) − ψ'(d/2) in closed form. Y_ℓ = Σ_{k≤ℓ} T_k: means and variances add.
Characteristic function (for the median and tails by Fourier inversion):
E e^{itT} = (2σ²/d_{ℓ−1})^{it} Γ(d/2 + it)/Γ(d/2) · Σ_K p_K E[e^{it h(U)} | K], the last
factor in closed form for α = 0 (Γ(K/2 + it)Γ(d/2)/(Γ(K/2)Γ(d/2 + it))) and by 256-node
Gauss–Jacobi quadrature otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import integrate, special, stats

JACOBI_NODES = 256


def variance_preserving_gain(slope: float) -> float:
    """σ² = 2/(1 + α²): E‖x_ℓ‖² = (d_ℓ/d_{ℓ−1}) E‖x_{ℓ−1}‖² (He init for ReLU)."""
    return 2.0 / (1.0 + slope * slope)


def survival_probability(widths: Sequence[int], slope: float) -> np.ndarray:
    """P(network alive after layer ℓ) = Π_{k≤ℓ} (1 − 2^{−d_k}) for ReLU, 1 otherwise."""
    out = np.asarray(widths[1:], dtype=float)
    if slope != 0.0:
        return np.ones(len(out))
    return np.cumprod(-np.expm1(-out * np.log(2.0)))


def norm_moments(widths: Sequence[int], slope: float, gain: float) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """(E‖x_ℓ‖²/‖x_0‖², E‖x_ℓ‖⁴/‖x_0‖⁴) for ℓ = 1..L over all networks (dead ones = 0),
    leaky ReLU with slope α (α = 1: linear): products over layers of
    E R = (σ²/d_in)(K̄ + α²(d − K̄)) and E R² = (σ²/d_in)² E_K[2K + 2α⁴(d−K) + (K + α²(d−K))²]
    with S = χ²_K + α²χ²_{d−K}, E[S | K] = K + α²(d − K), Var[S | K] = 2K + 2α⁴(d − K)."""
    a2 = slope * slope
    m1, m2 = [], []
    for d_in, d in zip(widths[:-1], widths[1:]):
        k = np.arange(d + 1)
        p = stats.binom.pmf(k, d, 0.5)
        mean_s = k + a2 * (d - k)
        c = gain / d_in
        m1.append(c * float(p @ mean_s))
        m2.append(c * c * float(p @ (2 * k + 2 * a2 * a2 * (d - k) + mean_s**2)))
    return np.cumprod(m1), np.cumprod(m2)


def _k_weights(d: int, slope: float) -> tuple[np.ndarray, np.ndarray]:
    """(K values, P(K) = C(d, K)/2^d), conditioned on K ≥ 1 for ReLU; values with
    P(K) < 1e-20 (beyond ~9 sd for wide layers) are dropped."""
    k = np.arange(d + 1)
    p = stats.binom.pmf(k, d, 0.5)
    keep = (p >= 1e-20) & ((k >= 1) | (slope != 0.0))
    return k[keep], p[keep] / p[keep].sum()


def _h(u: np.ndarray | float, a2: float) -> np.ndarray:
    return np.log(a2 + (1.0 - a2) * np.asarray(u))


@lru_cache(maxsize=256)
def beta_log_moments(k: int, d: int, a2: float) -> tuple[float, float, float, float]:
    """(E h, E h², E h³, E h⁴) for U ~ Beta(k/2, (d−k)/2), h = log(a2 + (1 − a2) U)."""
    if k == d:
        return 0.0, 0.0, 0.0, 0.0
    if k == 0:
        h = float(np.log(a2))
        return h, h**2, h**3, h**4
    a, b = k / 2, (d - k) / 2
    if a2 == 0.0:   # cumulants of log U: ψ^{(n−1)}(a) − ψ^{(n−1)}(a + b)
        c1, c2, c3, c4 = (float(special.polygamma(n, a) - special.polygamma(n, a + b))
                          for n in range(4))
        return (c1, c2 + c1**2, c3 + 3 * c2 * c1 + c1**3,
                c4 + 4 * c3 * c1 + 3 * c2**2 + 6 * c2 * c1**2 + c1**4)
    norm = np.exp(special.betaln(a, b))
    out = []
    for power in (1, 2, 3, 4):
        val, _ = integrate.quad(lambda u: _h(u, a2) ** power, 0.0, 1.0, weight="alg",
                                wvar=(a - 1, b - 1), epsabs=1e-14, epsrel=1e-13, limit=200)
        out.append(val / norm)
    return out[0], out[1], out[2], out[3]


@lru_cache(maxsize=64)
def layer_cumulants(d_in: int, d_out: int, slope: float, gain: float
                    ) -> tuple[float, float, float]:
    """(E T, Var T, κ₄(T)) of one layer: T = log(2σ²/d_in) + log(χ²_d/2) + h(U), the last
    two independent; log(χ²_d/2) has cumulants ψ^{(n−1)}(d/2)."""
    a2 = slope * slope
    ks, p = _k_weights(d_out, slope)
    raw = p @ np.array([beta_log_moments(int(k), d_out, a2) for k in ks])
    m1 = raw[0]
    mu2 = raw[1] - m1**2
    mu4 = raw[3] - 4 * raw[2] * m1 + 6 * raw[1] * m1**2 - 3 * m1**4
    mean = np.log(2 * gain / d_in) + special.digamma(d_out / 2) + m1
    var = special.polygamma(1, d_out / 2) + mu2
    return float(mean), float(var), float(special.polygamma(3, d_out / 2) + mu4 - 3 * mu2**2)


@lru_cache(maxsize=64)
def _jacobi(k: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Jacobi nodes/weights on [0, 1] for the Beta(k/2, (d−k)/2) law (weights sum 1)."""
    x, w = special.roots_jacobi(JACOBI_NODES, (d - k) / 2 - 1, k / 2 - 1)
    return (1 + x) / 2, w / w.sum()


class HomogeneousLayers:
    """The per-layer terms T_k of Y_ℓ for leaky ReLU / ReLU (surviving networks)."""

    def __init__(self, widths: Sequence[int], slope: float, gain: float) -> None:
        self.widths = [int(w) for w in widths]
        self.slope, self.gain = float(slope), float(gain)
        cum = np.array([layer_cumulants(self.widths[k], self.widths[k + 1], self.slope,
                                        self.gain) for k in range(len(self.widths) - 1)])
        self.mean, self.var, self.kappa4 = np.cumsum(cum, axis=0).T
        self._cache: dict[tuple, np.ndarray] = {}

    def log_cf(self, t: np.ndarray, k: int) -> np.ndarray:
        """log E e^{it T_k} (k = 0 … L−1); cached per (d_{k−1}, d_k) for the same grid."""
        t = np.asarray(t, dtype=float)
        key = (self.widths[k], self.widths[k + 1], len(t), float(t[0]), float(t[-1]))
        if key not in self._cache:
            self._cache = {key: self._log_cf(t, *key[:2]), **self._cache}
        return self._cache[key]

    def _log_cf(self, t: np.ndarray, d_in: int, d: int) -> np.ndarray:
        a2 = self.slope * self.slope
        base = 1j * t * np.log(2 * self.gain / d_in)
        ks, p = _k_weights(d, self.slope)
        if a2 == 0.0:   # Σ_K p_K Γ(K/2 + it)/Γ(K/2): the χ²_d factor cancels
            terms = special.loggamma(ks[:, None] / 2 + 1j * t[None, :]) \
                - special.gammaln(ks[:, None] / 2)
            return base + special.logsumexp(terms, axis=0, b=p[:, None])
        mix = np.zeros(len(t), dtype=complex)
        for kk, pk in zip(ks, p):
            if kk in (0, d):
                mix += pk * np.exp(1j * t * _h(1.0 if kk == d else 0.0, a2))
                continue
            u, w = _jacobi(int(kk), d)
            mix += pk * (np.exp(1j * np.outer(t, _h(u, a2))) @ w)
        return base + special.loggamma(d / 2 + 1j * t) - special.gammaln(d / 2) + np.log(mix)
