"""numba kernels: one call simulates one chunk of independent networks.

Each kernel seeds numba's (per-thread) generator with ``np.random.seed(seed)`` first,
so a chunk is a deterministic function of its seed; chunks are merged in a fixed order
(:mod:`.streaming`), so results do not depend on thread scheduling.

Exact cheap samplers (rotation invariance): for any fixed x, W x with W i.i.d.
N(0, 1/d_in) has the law ‖x‖ g/√d_in, g ~ N(0, I_{d_out}), independently of the past.
* norms, ``chi2``:   ‖x_ℓ‖²/‖x_{ℓ−1}‖² = χ²_{d_ℓ}/d_{ℓ−1} (one gamma draw per layer);
* norms, ``vector``: the same ratio as ‖g‖²/d_{ℓ−1}, g ∈ R^{d_ℓ} (O(d) normals);
* angles, ``gram``:  the pair (x, y) in the orthonormal frame (x̂, ê): y = cosθ x̂ + sinθ ê;
  W x̂ = g₁, W ê = g₂ are independent Gaussian vectors, and Gram–Schmidt of
  (g₁, cosθ g₁ + sinθ g₂) gives the next angle — O(d) per layer, log sinθ tracked in
  log space (no underflow, no cancellation);
* angles, ``chi2``:  the same step from its sufficient statistics (Bartlett):
  ‖g₁‖² ~ χ²_d, g₁·g₂/‖g₁‖ ~ N(0, 1), ‖g₂ − proj g₂‖² ~ χ²_{d−1}, independent — O(1);
* ``matrix`` (both): explicit W ∈ R^{d_ℓ×d_{ℓ−1}} applied to explicit vectors — O(d²),
  for validation.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

MODE_CHI2, MODE_VECTOR, MODE_MATRIX = 0, 1, 2
MODE_GRAM = 1                 # angles: O(d) Gaussian vectors; MODE_CHI2: O(1) Bartlett


@njit(cache=True, nogil=True)
def _unit_vector(d: int) -> np.ndarray:
    x = np.empty(d)
    s = 0.0
    for k in range(d):
        x[k] = np.random.standard_normal()
        s += x[k] * x[k]
    return x / math.sqrt(s)


@njit(cache=True, nogil=True)
def _norm_ratio(mode: int, x: np.ndarray, d_in: int, d_out: int) -> float:
    """‖W x‖²/‖x‖² for one layer; in matrix mode x (unit) is overwritten by W x/‖W x‖."""
    if mode == MODE_CHI2:
        return np.random.chisquare(d_out) / d_in
    s = 0.0
    if mode == MODE_VECTOR:
        for _ in range(d_out):
            g = np.random.standard_normal()
            s += g * g
        return s / d_in
    z = np.zeros(d_out)
    for j in range(d_out):
        acc = 0.0
        for k in range(d_in):
            acc += np.random.standard_normal() * x[k]
        z[j] = acc
        s += acc * acc
    r = math.sqrt(s)
    for j in range(d_out):
        x[j] = z[j] / r
    return s / d_in


@njit(cache=True, nogil=True)
def norms_chunk(seed: int, n: int, widths: np.ndarray, mode: int, lo: np.ndarray,
                inv_width: np.ndarray, bins: int, thr_lo: float, thr_hi: float):
    """Simulate ``n`` networks; per layer ℓ stream Y_ℓ = log(‖x_ℓ‖²/‖x_0‖²).

    Returns (mean[L], M2[L], hist[L, bins+2], below[L], above[L], nsq_mean, nsq_M2):
    Welford moments of Y_ℓ, the histogram of Y_ℓ, counts of Y_ℓ < thr_lo and Y_ℓ > thr_hi,
    and the Welford moments of ‖x_L‖² = e^{Y_L} (‖x_0‖ = 1)."""
    np.random.seed(seed)
    L = len(widths) - 1
    mean = np.zeros(L)
    m2 = np.zeros(L)
    hist = np.zeros((L, bins + 2), dtype=np.int64)
    below = np.zeros(L, dtype=np.int64)
    above = np.zeros(L, dtype=np.int64)
    nsq_mean = 0.0
    nsq_m2 = 0.0
    x = np.zeros(np.max(widths))
    for i in range(n):
        if mode == MODE_MATRIX:
            x[: widths[0]] = _unit_vector(widths[0])
        y = 0.0
        for ell in range(L):
            y += math.log(_norm_ratio(mode, x, widths[ell], widths[ell + 1]))
            delta = y - mean[ell]
            mean[ell] += delta / (i + 1)
            m2[ell] += delta * (y - mean[ell])
            b = math.floor((y - lo[ell]) * inv_width[ell])
            slot = 0 if b < 0 else (bins + 1 if b >= bins else int(b) + 1)
            hist[ell, slot] += 1
            if y < thr_lo:
                below[ell] += 1
            if y > thr_hi:
                above[ell] += 1
        nsq = math.exp(y)
        delta = nsq - nsq_mean
        nsq_mean += delta / (i + 1)
        nsq_m2 += delta * (nsq - nsq_mean)
    return mean, m2, hist, below, above, nsq_mean, nsq_m2


@njit(cache=True, nogil=True)
def log_chi2_cov(d: int, rho2: float, terms: int) -> float:
    """c(ρ²) = Σ_k ρ^{2k}(k−1)!/(k (d/2)_k) = Cov(log‖u‖², log‖v‖²) (see theory)."""
    alpha = 0.5 * d
    t = rho2 / alpha
    s = 0.0
    for k in range(1, terms + 1):
        s += t
        t *= rho2 * k * k / ((k + 1) * (alpha + k))
        if t < 1e-17 * s:
            break
    return s


@njit(cache=True, nogil=True)
def _gram_step(u: float, lv: float, d: int, g1: np.ndarray,
               g2: np.ndarray) -> tuple[float, float]:
    """One layer for the pair y = u x̂ + e^{lv} ê (u = cosθ, lv = log sinθ)."""
    n1 = 0.0
    for k in range(d):
        g1[k] = np.random.standard_normal()
        n1 += g1[k] * g1[k]
    p = 0.0
    for k in range(d):
        g2[k] = np.random.standard_normal()
        p += g1[k] * g2[k]
    res2 = 0.0
    c = p / n1
    for k in range(d):
        r = g2[k] - c * g1[k]
        res2 += r * r
    return _pair_update(u, lv, n1, p / math.sqrt(n1), res2)


@njit(cache=True, nogil=True)
def _bartlett_step(u: float, lv: float, d: int) -> tuple[float, float]:
    """The Gram step from its sufficient statistics χ²_d, N(0, 1), χ²_{d−1}."""
    return _pair_update(u, lv, np.random.chisquare(d), np.random.standard_normal(),
                        np.random.chisquare(d - 1))


@njit(cache=True, nogil=True)
def _pair_update(u: float, lv: float, n1: float, t: float,
                 res2: float) -> tuple[float, float]:
    """New (cosθ, log sinθ) from ‖g₁‖² = n1, g₁·g₂/‖g₁‖ = t, residual² = res2."""
    a = u * math.sqrt(n1) + math.exp(lv) * t    # new y along new x̂ (×‖x‖ scale)
    log_b = lv + 0.5 * math.log(res2)           # new y orthogonal to new x̂
    if a == 0.0:                                # y ⊥ x exactly: cosθ = 0, sinθ = 1
        return 0.0, 0.0
    log_a = math.log(abs(a))
    if log_a >= log_b:
        log_n2 = 2 * log_a + math.log1p(math.exp(2 * (log_b - log_a)))
    else:
        log_n2 = 2 * log_b + math.log1p(math.exp(2 * (log_a - log_b)))
    u_new = math.copysign(math.exp(log_a - 0.5 * log_n2), a)
    return u_new, log_b - 0.5 * log_n2


@njit(cache=True, nogil=True)
def _matrix_step(x: np.ndarray, y: np.ndarray, d: int, normalize: bool) -> float:
    """x ← W x, y ← W y (explicit W, N(0, 1/d)); optional RMS normalisation.
    Returns log sin² of the new angle (Gram–Schmidt residual of y against x)."""
    zx = np.zeros(d)
    zy = np.zeros(d)
    scale = 1.0 / math.sqrt(d)
    for j in range(d):
        ax = 0.0
        ay = 0.0
        for k in range(d):
            w = np.random.standard_normal() * scale
            ax += w * x[k]
            ay += w * y[k]
        zx[j] = ax
        zy[j] = ay
    if normalize:
        zx /= math.sqrt((zx * zx).sum() / d)
        zy /= math.sqrt((zy * zy).sum() / d)
    x[:] = zx
    y[:] = zy
    nx = (x * x).sum()
    c = (x * y).sum() / nx
    r = y - c * x
    return math.log((r * r).sum()) - math.log((y * y).sum())


@njit(cache=True, nogil=True)
def angles_chunk(seed: int, n: int, d: int, depth: int, theta0: float, mode: int,
                 normalize: bool, cov_terms: int):
    """Simulate ``n`` networks on a pair of inputs at angle θ_0 (radians).

    Returns (mean[L], M2[L], cos2_prev_mean[L], cov_prev_mean[L]): Welford moments of
    Z_ℓ = log(sin²θ_ℓ/sin²θ_0), and the means of cos²θ_{ℓ−1} and c(cos²θ_{ℓ−1}) (the
    ingredients of the conditional variance of the ℓ-th increment)."""
    np.random.seed(seed)
    mean = np.zeros(depth)
    m2 = np.zeros(depth)
    cos2_mean = np.zeros(depth)
    cov_mean = np.zeros(depth)
    g1 = np.empty(d)
    g2 = np.empty(d)
    x = np.empty(d)
    y = np.empty(d)
    log_s0 = 2 * math.log(math.sin(theta0))
    for i in range(n):
        u = math.cos(theta0)
        lv = math.log(math.sin(theta0))
        if mode == MODE_MATRIX:
            x[:] = _unit_vector(d)
            e = _unit_vector(d)
            e -= (e * x).sum() * x
            e /= math.sqrt((e * e).sum())
            y[:] = u * x + math.sin(theta0) * e
        cos2 = u * u
        for ell in range(depth):
            cos2_mean[ell] += (cos2 - cos2_mean[ell]) / (i + 1)
            cov_mean[ell] += (log_chi2_cov(d, cos2, cov_terms) - cov_mean[ell]) / (i + 1)
            if mode == MODE_MATRIX:
                log_s2 = _matrix_step(x, y, d, normalize)
                cos2 = -math.expm1(log_s2)
            else:
                if mode == MODE_CHI2:
                    u, lv = _bartlett_step(u, lv, d)
                else:
                    u, lv = _gram_step(u, lv, d, g1, g2)
                log_s2 = 2 * lv
                cos2 = u * u
            z = log_s2 - log_s0
            delta = z - mean[ell]
            mean[ell] += delta / (i + 1)
            m2[ell] += delta * (z - mean[ell])
    return mean, m2, cos2_mean, cov_mean


@njit(cache=True, nogil=True)
def _logdet_gram(g: np.ndarray) -> float:
    """log det(GᵀG) = Σ_j log r_jj² by modified Gram–Schmidt (G: d×n, n ≤ d)."""
    d, n = g.shape
    q = g.copy()
    out = 0.0
    for j in range(n):
        for i in range(j):
            c = 0.0
            for k in range(d):
                c += q[k, i] * q[k, j]
            for k in range(d):
                q[k, j] -= c * q[k, i]
        r2 = 0.0
        for k in range(d):
            r2 += q[k, j] * q[k, j]
        r = math.sqrt(r2)
        for k in range(d):
            q[k, j] /= r
        out += math.log(r2)
    return out


@njit(cache=True, nogil=True)
def _gaussian_matrix(d: int, n: int) -> np.ndarray:
    g = np.empty((d, n))
    for k in range(d):
        for j in range(n):
            g[k, j] = np.random.standard_normal()
    return g


@njit(cache=True, nogil=True)
def logdet_chunk(seed: int, samples: int, d: int, n: int) -> np.ndarray:
    """``samples`` draws of log det(WᵀW), W ∈ R^{d×n} explicit, i.i.d. N(0, 1/d)."""
    np.random.seed(seed)
    out = np.empty(samples)
    for s in range(samples):
        out[s] = _logdet_gram(_gaussian_matrix(d, n)) - n * math.log(d)
    return out


@njit(cache=True, nogil=True)
def subrotation_chunk(seed: int, samples: int, diag: np.ndarray, n: int) -> np.ndarray:
    """``samples`` draws of log det(UᵀD²U), U = G(GᵀG)^{−1/2} Haar (G Gaussian d×n):
    log det(UᵀD²U) = log det(GᵀD²G) − log det(GᵀG) (``diag`` holds the D_ii)."""
    np.random.seed(seed)
    d = len(diag)
    out = np.empty(samples)
    for s in range(samples):
        g = _gaussian_matrix(d, n)
        dg = g * diag.reshape(d, 1)
        out[s] = _logdet_gram(dg) - _logdet_gram(g)
    return out


@njit(cache=True, nogil=True)
def normal_draws(seed: int, n: int) -> float:
    """Sum of ``n`` standard normal draws (to time numba's Gaussian generator)."""
    np.random.seed(seed)
    s = 0.0
    for _ in range(n):
        s += np.random.standard_normal()
    return s
