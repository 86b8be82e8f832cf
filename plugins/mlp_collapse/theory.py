"""Closed forms for deep linear MLPs with Gaussian weights (pure NumPy/SciPy).

Setting: x_ℓ = W_ℓ x_{ℓ−1}, W_ℓ ∈ R^{d_ℓ×d_{ℓ−1}} with i.i.d. N(0, 1/d_{ℓ−1}) entries,
‖x_0‖ = 1; ψ = digamma, ψ' = trigamma. Each quantity comes in two flavours:

* ``*_exact`` — the finite-width law (rotation invariance + Bartlett decomposition);
* ``*_source`` — the formula exactly as the thesis draft states it (wrong where noted).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import optimize, special

LN10 = float(np.log(10.0))

# --------------------------------------------------------------------------------------
# 1. Norms: Y_ℓ = log(‖x_ℓ‖²/‖x_0‖²) = Σ_{k≤ℓ} log(χ²_{d_k}/d_{k−1}), independent terms
# --------------------------------------------------------------------------------------


def _widths(widths: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(widths, dtype=float)
    if w.ndim != 1 or len(w) < 2 or np.any(w < 1):
        raise ValueError("widths must list d_0, …, d_L (at least two positive integers)")
    return w[1:], w[:-1]


def norms_mean_exact(widths: Sequence[int]) -> np.ndarray:
    """E Y_ℓ = Σ_{k≤ℓ} [ψ(d_k/2) + log(2/d_{k−1})] for ℓ = 1..L (exact)."""
    out_w, in_w = _widths(widths)
    return np.cumsum(special.digamma(out_w / 2) + np.log(2 / in_w))


def norms_var_exact(widths: Sequence[int]) -> np.ndarray:
    """Var Y_ℓ = Σ_{k≤ℓ} ψ'(d_k/2) for ℓ = 1..L (exact)."""
    out_w, _ = _widths(widths)
    return np.cumsum(special.polygamma(1, out_w / 2))


def norms_mean_source(widths: Sequence[int]) -> np.ndarray:
    """Source's Corollary 1 mean: −Σ_{k≤ℓ} 1/(2 d_k) (off by a factor 2)."""
    out_w, _ = _widths(widths)
    return np.cumsum(-1 / (2 * out_w))


def norms_var_source(widths: Sequence[int]) -> np.ndarray:
    """Source's Corollary 1 variance: Σ_{k≤ℓ} 2/d_k."""
    out_w, _ = _widths(widths)
    return np.cumsum(2 / out_w)


def norms_log_cf(t: np.ndarray, widths: Sequence[int]) -> np.ndarray:
    """log of the characteristic function of Y_ℓ for every layer, shape (L, len(t)).

    E exp(it·log(χ²_k/c)) = (2/c)^{it} Γ(k/2 + it)/Γ(k/2), multiplied over layers."""
    out_w, in_w = _widths(widths)
    t = np.asarray(t, dtype=float)[None, :]
    k = out_w[:, None] / 2
    per_layer = 1j * t * np.log(2 / in_w[:, None]) + special.loggamma(k + 1j * t) \
        - special.gammaln(k)
    return np.cumsum(per_layer, axis=0)


class LinearLayers:
    """Per-layer terms T_k = log(σ² χ²_{d_k}/d_{k−1}) of Y_ℓ = Σ_{k≤ℓ} T_k (linear MLP)."""

    def __init__(self, widths: Sequence[int], gain: float = 1.0) -> None:
        self.widths = list(widths)
        shift = np.arange(1, len(self.widths)) * np.log(gain)
        self.mean = norms_mean_exact(widths) + shift
        self.var = norms_var_exact(widths)
        self.kappa4 = np.cumsum(special.polygamma(3, np.asarray(widths[1:], float) / 2))
        self._log_gain = float(np.log(gain))

    def log_cf(self, t: np.ndarray, k: int) -> np.ndarray:
        """log E e^{it T_k} (k = 0 … L−1)."""
        return norms_log_cf(t, self.widths[k:k + 2])[0] + 1j * t * self._log_gain


class LogNormLaw:
    """The exact law of Y_ℓ (every layer) by Fourier inversion of its characteristic
    function: Gil-Pelaez, F(y) = ½ − (1/π) ∫_0^∞ Im[e^{−ity} φ(t)]/t dt, midpoint rule.

    ``layers`` gives the independent per-layer terms (``mean``/``var`` of the partial sums
    and ``log_cf(t, k)``): :class:`LinearLayers` (a list of widths is accepted for it) or
    :class:`HomogeneousLayers`. The step h = 2π/span keeps the aliasing error below the
    mass of Y outside E Y ± span/2 (span ≥ 80 standard deviations + 80); the grid stops
    where |φ| < 1e-17. φ_ℓ is built layer by layer (a running product), so memory stays
    O(grid) and visiting the layers in increasing order costs O(L · grid).
    """

    def __init__(self, layers: Sequence[int] | LinearLayers | HomogeneousLayers) -> None:
        if not hasattr(layers, "log_cf"):
            layers = LinearLayers(layers)
        self.layers = layers
        self.mean, self.var = layers.mean, layers.var
        span = 80.0 * np.sqrt(self.var[-1]) + 80.0 + 2 * np.max(np.abs(self.mean))
        self.h = 2 * np.pi / span
        t_max = self._t_max()
        self.t = (np.arange(int(np.ceil(t_max / self.h))) + 0.5) * self.h
        self._layer = 0
        self._log_phi = np.zeros(len(self.t), dtype=complex)

    def _t_max(self) -> float:
        t = 1.0
        while np.exp(self.layers.log_cf(np.array([t]), 0)[0].real) > 1e-17:
            t *= 1.5
        return t

    def _phi(self, layer: int) -> np.ndarray:
        if layer < self._layer:
            self._layer, self._log_phi = 0, np.zeros(len(self.t), dtype=complex)
        while self._layer < layer:
            self._log_phi = self._log_phi + self.layers.log_cf(self.t, self._layer)
            self._layer += 1
        keep = max(int(np.count_nonzero(self._log_phi.real > np.log(1e-18))), 1)
        return np.exp(self._log_phi[:keep])   # |φ| decreases in t: drop the tail

    def cdf(self, y: np.ndarray | float, layer: int) -> np.ndarray:
        """P(Y_layer ≤ y), layer counted from 1."""
        y = np.atleast_1d(np.asarray(y, dtype=float))
        phi = self._phi(layer)
        t = self.t[: len(phi)]
        z = np.exp(-1j * np.outer(y, t)) * phi[None, :]
        val = 0.5 - (self.h / np.pi) * (z.imag / t[None, :]).sum(axis=1)
        return np.clip(val, 0.0, 1.0)

    def quantile(self, q: float, layer: int) -> float:
        """The q-quantile of Y_layer (Brent's method on the CDF)."""
        m, s = self.mean[layer - 1], np.sqrt(self.var[layer - 1])
        lo, hi = m - 40 * s - 40, m + 40 * s + 40
        return float(optimize.brentq(lambda y: self.cdf(y, layer)[0] - q, lo, hi,
                                     xtol=1e-10))


def gaussian_cdf(y: np.ndarray | float, mean: float, var: float) -> np.ndarray:
    """Φ((y − mean)/√var): the CDF a Gaussian law (e.g. the source's) predicts."""
    return special.ndtr((np.asarray(y, dtype=float) - mean) / np.sqrt(var))


# --------------------------------------------------------------------------------------
# 2. Angles: Z_ℓ = log(sin²θ_ℓ / sin²θ_0) for two inputs through the same network
# --------------------------------------------------------------------------------------


def angle_increment_mean(d: int) -> float:
    """E[log sin²θ_ℓ − log sin²θ_{ℓ−1}] = ψ((d−1)/2) − ψ(d/2) ≈ −1/d, for every angle."""
    return float(special.digamma((d - 1) / 2) - special.digamma(d / 2))


def angle_increment_var_small_angle(d: int) -> float:
    """Per-layer variance once aligned (θ → 0): ψ'((d−1)/2) + ψ'(d/2) ≈ 4/d."""
    return float(special.polygamma(1, (d - 1) / 2) + special.polygamma(1, d / 2))


def log_chi2_cov(d: int, rho2: np.ndarray | float, terms: int = 4096) -> np.ndarray:
    """Cov(log‖u‖², log‖v‖²) for d i.i.d. pairs (u_i, v_i) with correlation ρ.

    Lancaster expansion of Kibble's bivariate gamma (shape α = d/2) with
    E[log X · L_k^{(α−1)}(X)] = −1/k:  c(ρ²) = Σ_{k≥1} ρ^{2k} (k−1)! / (k (α)_k);
    c(1) = ψ'(α). Truncated after ``terms`` terms (relative error ≲ terms^{−α}/α)."""
    alpha = d / 2
    k = np.arange(1, terms + 1, dtype=float)
    log_coef = special.gammaln(k) - np.log(k) - (special.gammaln(alpha + k)
                                                  - special.gammaln(alpha))
    rho2 = np.atleast_1d(np.asarray(rho2, dtype=float))
    with np.errstate(divide="ignore"):
        log_r = np.log(rho2)[:, None]
    return np.exp(log_coef[None, :] + k[None, :] * log_r).sum(axis=1)


def angle_increment_var(d: int, cos2: np.ndarray | float) -> np.ndarray:
    """Exact Var[Δ log sin²θ | θ] = ψ'((d−1)/2) − ψ'(d/2) + 2 c(cos²θ).

    From Δ = log det GᵀG − log‖Ga‖² − log‖Gb‖² (G d×2 Gaussian, a, b unit inputs)
    and Bartlett: Cov(log det GᵀG, log‖Ga‖²) = ψ'(d/2). Interpolates between
    ≈ 2/d² (orthogonal inputs) and ψ'((d−1)/2) + ψ'(d/2) (aligned); ≈ 4cos²θ/d."""
    base = float(special.polygamma(1, (d - 1) / 2) - special.polygamma(1, d / 2))
    return base + 2 * log_chi2_cov(d, cos2)


def angles_mean_exact(d: int, depth: int) -> np.ndarray:
    """E Z_ℓ = ℓ·[ψ((d−1)/2) − ψ(d/2)] (exact at every angle), ℓ = 1..depth."""
    return np.arange(1, depth + 1) * angle_increment_mean(d)


def angles_var_small_angle(d: int, depth: int) -> np.ndarray:
    """Var Z_ℓ in the small-angle regime: ℓ·[ψ'((d−1)/2) + ψ'(d/2)]."""
    return np.arange(1, depth + 1) * angle_increment_var_small_angle(d)


def angles_mean_source(d: int, depth: int) -> np.ndarray:
    """Source's Corollary 2 mean: −Σ 1/d_ℓ = −ℓ/d."""
    return -np.arange(1, depth + 1) / d


def angles_var_source(d: int, depth: int) -> np.ndarray:
    """Source's Corollary 2 variance: Σ 8/d_ℓ = 8ℓ/d (wrong: adds correlated variances)."""
    return 8 * np.arange(1, depth + 1) / d


# --------------------------------------------------------------------------------------
# 3. Lyapunov exponents of Gaussian products
# --------------------------------------------------------------------------------------


def lyapunov_exponent(d: int, i: int) -> float:
    """λ_i = ½[ψ((d−i+1)/2) + log(2/d)]: log σ_i(W_k⋯W_1)/k → λ_i (N(0, 1/d) entries)."""
    return 0.5 * float(special.digamma((d - i + 1) / 2) + np.log(2 / d))


def lyapunov_gap(d: int) -> float:
    """λ_2 − λ_1 = ½[ψ((d−1)/2) − ψ(d/2)] ≈ −1/(2d): slope of log σ_2/σ_1 per factor."""
    return lyapunov_exponent(d, 2) - lyapunov_exponent(d, 1)


# --------------------------------------------------------------------------------------
# 4. Wishart log-determinants, W ∈ R^{d×n}, i.i.d. N(0, 1/d)
# --------------------------------------------------------------------------------------


def logdet_mean_exact(d: int, n: int) -> float:
    """E log det WᵀW = n log(2/d) + Σ_{i=0}^{n−1} ψ((d−i)/2) (Bartlett, exact)."""
    i = np.arange(n)
    return float(n * np.log(2 / d) + special.digamma((d - i) / 2).sum())


def logdet_var_exact(d: int, n: int) -> float:
    """Var log det WᵀW = Σ_{i=0}^{n−1} ψ'((d−i)/2) (exact)."""
    i = np.arange(n)
    return float(special.polygamma(1, (d - i) / 2).sum())


def logdet_mean_source_expansion(d: int, n: int) -> float:
    """Source's series −n²/2d − n³/6d² − n⁴/3d³ (misses −n/(2d); n⁴ term wrong)."""
    return -n**2 / (2 * d) - n**3 / (6 * d**2) - n**4 / (3 * d**3)


def logdet_mean_leading_corrected(d: int, n: int) -> float:
    """Corrected leading order −n(n+1)/(2d)."""
    return -n * (n + 1) / (2 * d)


def logdet_mean_series_corrected(d: int, n: int) -> float:
    """Corrected series −n(n+1)/(2d) − n³/(6d²) − n⁴/(12d³) (+ lower-order terms)."""
    return -n * (n + 1) / (2 * d) - n**3 / (6 * d**2) - n**4 / (12 * d**3)


def logdet_var_clt(d: int, n: int) -> float:
    """Source's CLT variance 2n/d (small n/d only)."""
    return 2 * n / d


def logdet_var_log(d: int, n: int) -> float:
    """Large-(n, d) variance −2 log(1 − n/d) (∞ at n = d)."""
    return float(-2 * np.log1p(-n / d)) if n < d else float("inf")


# --------------------------------------------------------------------------------------
# 5. Sub-rotation "lemma": E log det(UᵀD²U), U Haar d×n with orthonormal columns
# --------------------------------------------------------------------------------------


def subrotation_claimed(d2: np.ndarray, n: int) -> float:
    """The source's claim (n/d) log det D² — only a lower bound (Fischer), not equal."""
    d2 = np.asarray(d2, dtype=float)
    return float(n / len(d2) * np.log(d2).sum())


def subrotation_fischer_lower(d2: np.ndarray, n: int) -> float:
    """(n/d) log det D² ≤ E log det(UᵀD²U): the conditional variances of successive
    columns decrease (Fischer), so the mean of the first n log-Schur complements is at
    least the mean of all d, whose sum is log det D². Same number as the claim."""
    return subrotation_claimed(d2, n)


def subrotation_jensen_upper(d2: np.ndarray, n: int) -> float:
    """E log det(UᵀD²U) ≤ log det E[UᵀD²U] = n log(tr D²/d) (Jensen)."""
    d2 = np.asarray(d2, dtype=float)
    return float(n * np.log(d2.mean()))
