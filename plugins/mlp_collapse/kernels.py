"""numba kernels: one call simulates one chunk of independent networks.

Every kernel is ``kernel(rng, n, *args)``: it draws only from the ``numpy.random.Generator``
``rng`` it is given (PCG64 + NumPy's ziggurat/Marsaglia–Tsang inside numba), so a chunk is
a deterministic function of its Generator; :meth:`RunContext.map_chunks` hands each chunk
its own stream and merges in chunk order, so results do not depend on the thread count.

Exact cheap samplers (rotation invariance): for any fixed x, W x with W i.i.d.
N(0, σ²/d_in) has the law σ‖x‖ g/√d_in, g ~ N(0, I_{d_out}), independently of the past.
* norms, ``chi2``:   ‖x_ℓ‖²/‖x_{ℓ−1}‖² = σ² S/d_{ℓ−1}, S = χ²_{d_ℓ} (linear) or, for
  f(z) = max(z, 0) + α min(z, 0), S = χ²_K + α²χ²_{d_ℓ−K} with K ~ Bin(d_ℓ, ½) the number
  of positive coordinates of g (one binomial and ≤ 2 gamma draws per layer);
* norms, ``vector``: S = Σ_j f(g_j)², g ∈ R^{d_ℓ} (O(d) normals);
* angles, ``gram``:  the pair (x, y) in the orthonormal frame (x̂, ê): y = cosθ x̂ + sinθ ê;
  W x̂ = g₁, W ê = g₂ are independent Gaussian vectors, and Gram–Schmidt of
  (g₁, cosθ g₁ + sinθ g₂) gives the next angle — O(d) per layer, log sinθ tracked in
  log space (no underflow, no cancellation);
* angles, ``chi2``:  the same step from its sufficient statistics (Bartlett):
  ‖g₁‖² ~ χ²_d, g₁·g₂/‖g₁‖ ~ N(0, 1), ‖g₂ − proj g₂‖² ~ χ²_{d−1}, independent — O(1),
  run on blocks of networks with vectorised exp/log (:func:`_bartlett_blocks`);
* ``matrix`` (both): explicit W ∈ R^{d_ℓ×d_{ℓ−1}} applied to explicit vectors — O(d²),
  for validation.
Where only log χ²_k is needed (linear χ² norms, Bartlett angles) it comes from the
log-gamma ziggurat of :mod:`.loggamma`; elsewhere χ²_k is 2·Gamma(k/2) by Marsaglia–Tsang
(:func:`_chi2_mt`, the same numbers as ``rng.standard_gamma``).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit
from numpy.polynomial import chebyshev

from . import simd
from .loggamma import ROW, log_chi2, log_chi2_from, tables

MODE_CHI2, MODE_VECTOR, MODE_MATRIX = 0, 1, 2
MODE_GRAM = 1                 # angles: O(d) Gaussian vectors; MODE_CHI2: O(1) Bartlett


@njit(cache=True, nogil=True)
def _chi2(rng, k: float) -> float:
    """χ²_k = 2 Gamma(k/2) (0 for k = 0)."""
    if k <= 0:
        return 0.0
    return 2.0 * rng.standard_gamma(0.5 * k)


@njit(cache=True, nogil=True)
def chi2_tables(kmax: int) -> tuple[np.ndarray, np.ndarray]:
    """The constants b_k = k/2 − 1/3, c_k = 1/√(9 b_k) of Marsaglia–Tsang for χ²_k,
    k = 0..kmax (used for k ≥ 3), computed exactly as NumPy computes them per draw."""
    b = np.zeros(kmax + 1)
    c = np.zeros(kmax + 1)
    for k in range(3, kmax + 1):
        b[k] = 0.5 * k - 1. / 3.
        c[k] = 1. / np.sqrt(9 * b[k])
    return b, c


def chi2_layers(widths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The log-χ² tables (:mod:`.loggamma`) for the output widths d_1..d_L of a network:
    (tab, off) with the row of χ²_{d_ℓ} at tab[off[ℓ−1]:], one row per distinct width."""
    out = np.asarray(widths[1:], dtype=np.int64)
    distinct = sorted(set(int(k) for k in out if k > 0))
    where = {k: i * ROW for i, k in enumerate(distinct)}
    return (tables([0.5 * k for k in distinct]),
            np.array([where.get(int(k), -1) for k in out], dtype=np.int64))


def bartlett_table(d: int) -> np.ndarray:
    """The log-χ² tables of the Bartlett angles sampler: χ²_d (offset 0), χ²_1 (offset ROW:
    |N(0, 1)| = exp(½ log χ²_1)) and, for d ≥ 2, χ²_{d−1} (offset 2·ROW)."""
    return tables([0.5 * d, 0.5] + ([0.5 * (d - 1)] if d >= 2 else []))


COV_CHEB_DEGREES = (8, 12, 16, 24, 32)
COV_CHEB_RTOL = 1e-13


@lru_cache(maxsize=None)
def cov_chebyshev(d: int, terms: int = 4096) -> np.ndarray:
    """Chebyshev coefficients, in t = 2x − 1, of g(x) = c(x)/x on x = cos²θ ∈ [0, 1], for the
    Bartlett sampler: the interpolant of lowest degree in :data:`COV_CHEB_DEGREES` whose
    x·g is within :data:`COV_CHEB_RTOL` (relative) of the series c (:func:`log_chi2_cov`)
    at 1000 points of (0, 1]. g is analytic on [0, 1) and c has a (1 − x)^{d/2} log(1 − x)
    singularity at x = 1, so this holds for d ≳ 12 (degree 16 at d = 32); for smaller d
    none does, the result is empty and the sampler sums the series."""
    x = np.linspace(0.0, 1.0, 1001)[1:]
    want = np.array([log_chi2_cov(d, v, terms) for v in x])

    def g(t: np.ndarray) -> np.ndarray:
        xs = 0.5 * (t + 1.0)
        return np.array([log_chi2_cov(d, v, terms) / v for v in xs])

    for degree in COV_CHEB_DEGREES:
        coef = chebyshev.chebinterpolate(g, degree)
        if np.max(np.abs(x * chebyshev.chebval(2 * x - 1, coef) / want - 1)) < COV_CHEB_RTOL:
            coef.setflags(write=False)
            return coef
    return np.zeros(0)


@njit(cache=True, nogil=True, inline="always")
def _chi2_mt(rng, k: int, b: np.ndarray, c: np.ndarray) -> float:
    """χ²_k = 2 Gamma(k/2), the same draws and the same bits as ``_chi2``: for k ≥ 3 NumPy's
    Marsaglia–Tsang loop (X ~ N(0,1), V = (1 + c X)³, accept b V if U < 1 − 0.0331 X⁴ or
    log U < X²/2 + b(1 − V + log V)) with b, c from :func:`chi2_tables` instead of a
    square root and a division per draw — a third of the draw's cost."""
    if k < 3:
        return _chi2(rng, k)
    bk, ck = b[k], c[k]
    while True:
        while True:
            X = rng.standard_normal()
            V = 1.0 + ck * X
            if V > 0.0:
                break
        V = V * V * V
        U = rng.random()
        if U < 1.0 - 0.0331 * (X * X) * (X * X):
            return 2.0 * (bk * V)
        if np.log(U) < 0.5 * X * X + bk * (1. - V + np.log(V)):
            return 2.0 * (bk * V)


COUNT_TABLES_MAX = 64  # count_tables: widths up to this (a table of ≈ 1 ms per K)


def count_tables(widths: np.ndarray) -> np.ndarray:
    """The log-χ² tables of χ²_K, K = 1..max d_ℓ (the row of K at offset (K − 1)·ROW), for
    the ReLU / leaky-ReLU χ² sampler; empty (Marsaglia–Tsang gammas instead) when a width
    exceeds :data:`COUNT_TABLES_MAX`."""
    kmax = int(np.max(np.asarray(widths)[1:]))
    if kmax > COUNT_TABLES_MAX:
        return np.zeros(0)
    return tables([0.5 * k for k in range(1, kmax + 1)])


@njit(cache=True, nogil=True, inline="always")
def _popcount(v: int) -> int:
    """The number of one bits of 0 ≤ v < 2⁶³ (SWAR: bit counts of pairs, nibbles, bytes)."""
    v = v - ((v >> 1) & 0x5555555555555555)
    v = (v & 0x3333333333333333) + ((v >> 2) & 0x3333333333333333)
    v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0F
    return (v * 0x0101010101010101) >> 56


@njit(cache=True, nogil=True, inline="always")
def _binomial_half(rng, d: int) -> int:
    """K ~ Bin(d, ½) exactly: the number of ones among d random bits, 53 from each uniform
    (a Generator double is m·2⁻⁵³ with m uniform on 53 bits); ``rng.binomial`` beyond
    256 bits."""
    if d > 256:
        return rng.binomial(d, 0.5)
    k = 0
    while d > 0:
        take = min(d, 53)
        bits = int(rng.random() * 9007199254740992.0)   # m = u·2⁵³
        k += _popcount(bits & ((1 << take) - 1))
        d -= take
    return k


@njit(cache=True, nogil=True, inline="always")
def _log_homogeneous_sum(rng, k: int, d: int, slope: float, tab: np.ndarray) -> float:
    """log S, S = χ²_K + α²χ²_{d−K} (α = slope), from the :func:`count_tables` ziggurats:
    log χ²_K alone for the ReLU, else log(e^{l₁} + e^{l₂}) = max + log1p(e^{−|l₁ − l₂|})
    with l₂ = log α² + log χ²_{d−K}. −inf when S = 0 (a dead ReLU layer: K = 0)."""
    l1 = log_chi2(rng, tab, (k - 1) * ROW) if k > 0 else -math.inf
    if slope == 0.0 or k == d:
        return l1
    l2 = 2.0 * math.log(abs(slope)) + log_chi2(rng, tab, (d - k - 1) * ROW)
    if k == 0:
        return l2
    hi, lo = (l1, l2) if l1 >= l2 else (l2, l1)
    return hi + math.log1p(math.exp(lo - hi))


@njit(cache=True, nogil=True)
def _unit_vector(rng, d: int) -> np.ndarray:
    x = np.empty(d)
    s = 0.0
    for k in range(d):
        x[k] = rng.standard_normal()
        s += x[k] * x[k]
    return x / math.sqrt(s)


@njit(cache=True, nogil=True)
def _f2(z: float, homogeneous: bool, a2: float) -> float:
    """f(z)² for f = identity or the leaky ReLU with squared slope a2 (0: ReLU)."""
    if homogeneous and z < 0.0:
        return a2 * z * z
    return z * z


@njit(cache=True, nogil=True, inline="always")  # a call that passes rng costs ≈ 20 ns
def _layer_log_sum(rng, mode: int, x: np.ndarray, d_in: int, d_out: int, homogeneous: bool,
                   slope: float, b: np.ndarray, c: np.ndarray) -> float:
    """log S, S = ‖f(W x)‖² d_in/(σ²‖x‖²), for one layer (−inf when S = 0: the network is
    dead); in matrix mode the unit x is overwritten by f(W x)/‖f(W x)‖ (left unchanged
    when S = 0). ``b``, ``c``: :func:`chi2_tables` up to d_out (chi2 mode: homogeneous f
    wider than :data:`COUNT_TABLES_MAX`, S = χ²_K + α²χ²_{d−K} by Marsaglia–Tsang)."""
    a2 = slope * slope
    if mode == MODE_CHI2:
        k = _binomial_half(rng, d_out)
        s = _chi2_mt(rng, k, b, c) + a2 * _chi2_mt(rng, d_out - k, b, c)
        return math.log(s) if s > 0.0 else -math.inf
    s = 0.0
    if mode == MODE_VECTOR:
        for _ in range(d_out):
            s += _f2(rng.standard_normal(), homogeneous, a2)
        return math.log(s) if s > 0.0 else -math.inf
    z = np.zeros(d_out)
    for j in range(d_out):
        acc = 0.0
        for k in range(d_in):
            acc += rng.standard_normal() * x[k]
        if homogeneous and acc < 0.0:
            acc *= slope
        z[j] = acc
        s += acc * acc
    if s > 0.0:
        r = math.sqrt(s)
        for j in range(d_out):
            x[j] = z[j] / r
    return math.log(s) if s > 0.0 else -math.inf


@njit(cache=True, nogil=True)
def norms_chunk(rng, n: int, widths: np.ndarray, mode: int, homogeneous: bool, slope: float,
                gain: float, lo: np.ndarray, inv_width: np.ndarray, bins: int,
                thr_lo: float, thr_hi: float, tab: np.ndarray, tab_of: np.ndarray):
    """Simulate ``n`` networks; per layer ℓ stream Y_ℓ = log(‖x_ℓ‖²/‖x_0‖²) over the
    networks still alive at ℓ (‖x_ℓ‖ > 0; only a ReLU layer can output 0).
    χ² mode runs a block of networks at a time (:func:`_chi2_blocks`), drawing log χ²
    from the :func:`chi2_layers` tables ``tab``, ``tab_of`` (linear) or the
    :func:`count_tables` ``tab`` (homogeneous f; ``tab_of`` unused; when it is empty,
    Marsaglia–Tsang one network at a time). The other modes use neither.

    Returns (alive[L], mean[L], M2[L], hist[L, bins+2], below[L], above[L], nsq_mean,
    nsq_M2): per layer the number of live networks, the mean and M2 = Σ(Y − mean)² over
    them, the histogram of Y_ℓ, counts of Y_ℓ < thr_lo (dead networks included) and
    Y_ℓ > thr_hi; and the mean and M2 (over all n) of ‖x_L‖²/‖x_0‖² (0 if dead).
    Moments are sums shifted by the histogram centre c_ℓ (≈ E Y_ℓ): mean = c + S₁/n,
    M2 = S₂ − S₁²/n with S_p = Σ (Y − c)^p — no division per sample, no cancellation
    since |E Y − c| ≪ sd."""
    L = len(widths) - 1
    alive = np.zeros(L, dtype=np.int64)
    s1 = np.zeros(L)
    s2 = np.zeros(L)
    hist = np.zeros((L, bins + 2), dtype=np.int64)
    below = np.zeros(L, dtype=np.int64)
    above = np.zeros(L, dtype=np.int64)
    centre = lo + 0.5 * bins / inv_width
    log_scale = np.log(gain / widths[:-1].astype(np.float64))
    if mode == MODE_CHI2 and (tab.size or not homogeneous):
        q1, q2 = _chi2_blocks(rng, n, widths, homogeneous, slope, log_scale, centre, lo,
                              inv_width, bins, thr_lo, thr_hi, tab, tab_of, alive, s1, s2,
                              hist, below, above)
    else:
        q1, q2 = _one_network_at_a_time(rng, n, widths, mode, homogeneous, slope, log_scale,
                                        centre, lo, inv_width, bins, thr_lo, thr_hi, alive,
                                        s1, s2, hist, below, above)
    a = np.maximum(alive, 1)
    mean = centre + s1 / a
    m2 = np.maximum(s2 - s1 * s1 / a, 0.0)
    return alive, mean, m2, hist, below, above, 1.0 + q1 / n, max(q2 - q1 * q1 / n, 0.0)


@njit(cache=True, nogil=True, inline="always")
def _slot(t: float, bins: int) -> int:
    """Histogram slot ⌊t⌋ + 1 of t = (Y − lo)/width, clamped to 0 and bins + 1."""
    return 0 if t < 0.0 else (bins + 1 if t >= bins else int(t) + 1)


@njit(cache=True, nogil=True)
def _one_network_at_a_time(rng, n: int, widths: np.ndarray, mode: int, homogeneous: bool,
                           slope: float, log_scale: np.ndarray, centre: np.ndarray,
                           lo: np.ndarray, inv_width: np.ndarray, bins: int, thr_lo: float,
                           thr_hi: float, alive: np.ndarray, s1: np.ndarray, s2: np.ndarray,
                           hist: np.ndarray, below: np.ndarray,
                           above: np.ndarray) -> tuple[float, float]:
    """norms_chunk for the samplers :func:`_chi2_blocks` does not run: each network
    through all its layers (a ReLU network can die). Fills the sums in place; returns the
    shifted sums (Σ(‖x_L‖² − 1), Σ(‖x_L‖² − 1)²), a dead network counting ‖x_L‖² = 0."""
    L = len(widths) - 1
    x = np.zeros(np.max(widths))
    b, c = chi2_tables(np.max(widths))
    q1 = 0.0
    q2 = 0.0
    for _ in range(n):
        if mode == MODE_MATRIX:
            x[: widths[0]] = _unit_vector(rng, widths[0])
        y = 0.0
        dead_at = L
        for ell in range(L):
            log_s = _layer_log_sum(rng, mode, x, widths[ell], widths[ell + 1], homogeneous,
                                   slope, b, c)
            if log_s == -math.inf:
                dead_at = ell
                break
            y += log_s + log_scale[ell]
            alive[ell] += 1
            e = y - centre[ell]
            s1[ell] += e
            s2[ell] += e * e
            hist[ell, _slot((y - lo[ell]) * inv_width[ell], bins)] += 1
            if y < thr_lo:
                below[ell] += 1
            if y > thr_hi:
                above[ell] += 1
        for ell in range(dead_at, L):
            below[ell] += 1
        nsq = math.exp(y) - 1.0 if dead_at == L else -1.0   # shifted by E ≈ 1
        q1 += nsq
        q2 += nsq * nsq
    return q1, q2


NORMS_BLOCK = 64  # networks advanced together, layer by layer, by the χ² norms samplers


@njit(cache=True, nogil=True)
def _chi2_blocks(rng, n: int, widths: np.ndarray, homogeneous: bool, slope: float,
                 log_scale: np.ndarray, centre: np.ndarray, lo: np.ndarray,
                 inv_width: np.ndarray, bins: int, thr_lo: float, thr_hi: float,
                 tab: np.ndarray, tab_of: np.ndarray, alive: np.ndarray, s1: np.ndarray,
                 s2: np.ndarray, hist: np.ndarray, below: np.ndarray,
                 above: np.ndarray) -> tuple[float, float]:
    """norms_chunk for the χ² sampler, :data:`NORMS_BLOCK` networks at a time, layer by
    layer: Y_ℓ = Y_{ℓ−1} + log S_ℓ + log(σ²/d_{ℓ−1}) with log S_ℓ = log χ²_{d_ℓ} from the
    :func:`chi2_layers` tables (linear) or :func:`_log_homogeneous_sum` from the
    :func:`count_tables` ``tab`` (homogeneous f). A dead network (S = 0) carries
    Y = −inf: it draws no more, counts below every threshold and nowhere else. The
    per-layer sums, tails and histogram row are then tight loops over the block. Fills
    the sums in place; returns the shifted sums (Σ(‖x_L‖² − 1), Σ(‖x_L‖² − 1)²)."""
    L = log_scale.size
    y = np.zeros(NORMS_BLOCK)
    q1 = 0.0
    q2 = 0.0
    for start in range(0, n, NORMS_BLOCK):
        m = min(NORMS_BLOCK, n - start)
        y[:m] = 0.0
        for ell in range(L):
            off, shift, d = tab_of[ell], log_scale[ell], widths[ell + 1]
            if homogeneous:
                for j in range(m):
                    if y[j] > -math.inf:
                        y[j] += _log_homogeneous_sum(rng, _binomial_half(rng, d), d, slope,
                                                     tab) + shift
            else:
                for j in range(m):
                    y[j] += log_chi2(rng, tab, off) + shift
            c, l0, iw = centre[ell], lo[ell], inv_width[ell]
            a1 = 0.0
            a2 = 0.0
            live = 0
            n_lo = 0
            n_hi = 0
            row = hist[ell]
            for j in range(m):
                n_lo += y[j] < thr_lo                 # a dead network too
                n_hi += y[j] > thr_hi
                if y[j] > -math.inf:
                    e = y[j] - c
                    a1 += e
                    a2 += e * e
                    live += 1
                    row[_slot((y[j] - l0) * iw, bins)] += 1
            s1[ell] += a1
            s2[ell] += a2
            alive[ell] += live
            below[ell] += n_lo
            above[ell] += n_hi
        for j in range(m):
            nsq = math.exp(y[j]) - 1.0  # shifted by E ≈ 1; a dead network: ‖x_L‖² = 0
            q1 += nsq
            q2 += nsq * nsq
    return q1, q2


@njit(cache=True, nogil=True)
def log_chi2_cov(d: int, rho2: float, terms: int) -> float:
    """c(ρ²) = Σ_k ρ^{2k}(k−1)!/(k (d/2)_k) = Cov(log‖u‖², log‖v‖²) (see theory)."""
    return _cov_series(rho2, 0.5 * d, _cov_ratios(d, terms))


@njit(cache=True, nogil=True)
def _cov_ratios(d: int, terms: int) -> np.ndarray:
    """The ratios k²/((k+1)(d/2 + k)) of consecutive terms of c(ρ²)/ρ^{2k}, k = 1..terms."""
    k = np.arange(1, terms + 1).astype(np.float64)
    return k * k / ((k + 1) * (0.5 * d + k))


@njit(cache=True, nogil=True, inline="always")
def _cov_series(rho2: float, alpha: float, ratios: np.ndarray) -> float:
    """c(ρ²) summed until a term is below 1e−17 of the sum (a product per term: the
    ratios are precomputed)."""
    t = rho2 / alpha
    s = 0.0
    for k in range(ratios.size):
        s += t
        t *= rho2 * ratios[k]
        if t < 1e-17 * s:
            break
    return s


@njit(cache=True, nogil=True, inline="always")  # a call that passes rng costs ≈ 20 ns
def _gram_step(rng, u: float, lv: float, d: int, g1: np.ndarray,
               g2: np.ndarray) -> tuple[float, float]:
    """One layer for the pair y = u x̂ + e^{lv} ê (u = cosθ, lv = log sinθ)."""
    n1 = 0.0
    for k in range(d):
        g1[k] = rng.standard_normal()
        n1 += g1[k] * g1[k]
    p = 0.0
    for k in range(d):
        g2[k] = rng.standard_normal()
        p += g1[k] * g2[k]
    res2 = 0.0
    c = p / n1
    for k in range(d):
        r = g2[k] - c * g1[k]
        res2 += r * r
    return _pair_update(u, lv, math.sqrt(n1), p / math.sqrt(n1), 0.5 * math.log(res2))


@njit(cache=True, nogil=True)
def _pair_update(u: float, lv: float, root_n1: float, t: float,
                 half_log_res2: float) -> tuple[float, float]:
    """New (cosθ, log sinθ) from ‖g₁‖ = root_n1, g₁·g₂/‖g₁‖ = t and ½ log of the
    residual² of g₂ against g₁."""
    a = u * root_n1 + math.exp(lv) * t          # new y along new x̂ (×‖x‖ scale)
    log_b = lv + half_log_res2                  # new y orthogonal to new x̂
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
def _matrix_step(rng, x: np.ndarray, y: np.ndarray, d: int, normalize: bool) -> float:
    """x ← W x, y ← W y (explicit W, N(0, 1/d)); optional RMS normalisation.
    Returns log sin² of the new angle (Gram–Schmidt residual of y against x)."""
    zx = np.zeros(d)
    zy = np.zeros(d)
    scale = 1.0 / math.sqrt(d)
    for j in range(d):
        ax = 0.0
        ay = 0.0
        for k in range(d):
            w = rng.standard_normal() * scale
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


@njit(cache=True, nogil=True, inline="always")
def _angle_sums(depth: int):
    """The per-layer sums of angles_chunk, zeroed: (shift, Σe, Σe², Σcos²θ, Σc(cos²θ))
    with e = Z_ℓ − shift_ℓ."""
    return (np.zeros(depth), np.zeros(depth), np.zeros(depth), np.zeros(depth),
            np.zeros(depth))


@njit(cache=True, nogil=True, inline="always")
def _angle_moments(n: int, shift: np.ndarray, s1: np.ndarray, s2: np.ndarray,
                   cos2_sum: np.ndarray, cov_sum: np.ndarray):
    """angles_chunk's result from its sums over n networks: (mean, M2, mean cos²θ,
    mean c(cos²θ)), mean = shift + S₁/n, M2 = S₂ − S₁²/n."""
    k = max(n, 1)
    return (shift + s1 / k, np.maximum(s2 - s1 * s1 / k, 0.0), cos2_sum / k, cov_sum / k)


ANGLES_BLOCK = 64  # networks advanced together, layer by layer, by the Bartlett sampler


@njit(cache=True, nogil=True, error_model="numpy")
def _bartlett_blocks(rng, n: int, d: int, depth: int, theta0: float, ratios: np.ndarray,
                     cheb: np.ndarray, tab: np.ndarray):
    """angles_chunk for the Bartlett sampler, :data:`ANGLES_BLOCK` networks at a time,
    layer by layer. Per network the state is (cosθ, sinθ, z = log sin²θ); a layer is the
    Gram step (cosθ √χ²_d + sinθ t, sinθ √χ²_{d−1}) scaled by 1/√χ²_d, which leaves the
    angle as it is and saves an exp:

        a = cosθ + sinθ t/√χ²_d,   b = sinθ √(χ²_{d−1}/χ²_d),   n² = a² + b²,
        cosθ′ = a/n,   sinθ′ = b/n,   z′ = z + log χ²_{d−1} − log χ²_d − log n²,

    with t ~ N(0, 1) = ±exp(½ log χ²_1). z is carried in logs, so it stays exact when
    sinθ underflows (then b = 0, n = |a|, cosθ′ = ±1: the angle has collapsed). Each
    layer of a block runs in four tight loops: the uniforms (the only random calls of
    the fast path), the log-χ² ziggurats from them (:func:`.loggamma.log_chi2_from`),
    c(cos²θ) for all networks (:func:`_cov_block`), and the update
    with the vectorisable :mod:`.simd` exp and log."""
    shift, s1, s2, cos2_sum, cov_sum = _angle_sums(depth)
    B = ANGLES_BLOCK
    unif = np.empty(3 * B)
    l_d = np.empty(B)                  # log χ²_d
    l_res = np.full(B, -math.inf)      # log χ²_{d−1} (−inf: d = 1, b = 0)
    l_t = np.empty(B)                  # log |t| = ½ log χ²_1
    sign_t = np.empty(B)
    u = np.empty(B)
    s = np.empty(B)
    z = np.empty(B)
    cos2 = np.empty(B)
    cov = np.empty(B)
    term = np.empty(B)
    term2 = np.empty(B)
    alpha = 0.5 * d
    z0 = 2 * math.log(math.sin(theta0))
    for start in range(0, n, B):
        m = min(B, n - start)
        u[:m] = math.cos(theta0)
        s[:m] = math.sin(theta0)
        z[:m] = z0
        for ell in range(depth):
            _bartlett_draws(rng, m, d, tab, unif, l_d, l_res, l_t, sign_t)
            cos2_sum[ell] += _cov_block(u, m, alpha, ratios, cheb, cos2, cov, term, term2)
            cov_sum[ell] += cov[:m].sum()
            for j in range(m):
                a = u[j] + s[j] * sign_t[j] * simd.exp(l_t[j] - 0.5 * l_d[j])
                log_ratio = l_res[j] - l_d[j]
                b = s[j] * simd.exp(0.5 * log_ratio)
                n2 = a * a + b * b
                inv = 1.0 / math.sqrt(n2)
                u[j] = a * inv
                s[j] = b * inv
                z[j] += log_ratio - simd.log(n2)
            if start == 0:
                shift[ell] = z[0] - z0
            c = shift[ell] + z0
            a1 = 0.0
            a2 = 0.0
            for j in range(m):
                e = z[j] - c
                a1 += e
                a2 += e * e
            s1[ell] += a1
            s2[ell] += a2
    return _angle_moments(n, shift, s1, s2, cos2_sum, cov_sum)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _cov_block(u: np.ndarray, m: int, alpha: float, ratios: np.ndarray, cheb: np.ndarray,
               cos2: np.ndarray, cov: np.ndarray, term: np.ndarray,
               term2: np.ndarray) -> float:
    """cos2 = cos²θ and cov = c(cos²θ) for the first m networks: from the Chebyshev
    coefficients ``cheb`` of :func:`cov_chebyshev` when there are any, else the series
    (:func:`_cov_series`) summed for all of them until each term is below 1e−17 of its
    sum (a few more terms for some than the scalar series: a difference below 1e−16
    relative). ``term``, ``term2``: scratch. Returns Σ cos²θ."""
    total = 0.0
    for j in range(m):
        c2 = u[j] * u[j]
        cos2[j] = c2
        total += c2
    if cheb.size:
        _clenshaw_block(cos2, m, cheb, cov, term, term2)
        return total
    for j in range(m):
        term[j] = cos2[j] / alpha
        cov[j] = 0.0
    for k in range(ratios.size):
        r = ratios[k]
        for j in range(m):
            cov[j] += term[j]
            term[j] *= cos2[j] * r
        if k % 4 == 3:                    # convergence checked every 4 terms
            live = 0
            for j in range(m):
                live += term[j] >= 1e-17 * cov[j]
            if live == 0:
                break
    return total


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _clenshaw_block(x: np.ndarray, m: int, cheb: np.ndarray, out: np.ndarray,
                    b1: np.ndarray, b2: np.ndarray) -> None:
    """out = x·Σ_k cheb[k] T_k(2x − 1) for the first m entries of x (Clenshaw's recurrence
    b_k = 2t b_{k+1} − b_{k+2} + cheb[k], run for all entries at once)."""
    for j in range(m):
        b1[j] = 0.0
        b2[j] = 0.0
    for k in range(cheb.size - 1, 0, -1):
        ck = cheb[k]
        for j in range(m):
            b0 = 2.0 * (2.0 * x[j] - 1.0) * b1[j] - b2[j] + ck
            b2[j] = b1[j]
            b1[j] = b0
    c0 = cheb[0]
    for j in range(m):
        out[j] = x[j] * ((2.0 * x[j] - 1.0) * b1[j] - b2[j] + c0)


@njit(cache=True, nogil=True, inline="always")
def _bartlett_draws(rng, m: int, d: int, tab: np.ndarray, unif: np.ndarray, l_d: np.ndarray,
                    l_res: np.ndarray, l_t: np.ndarray, sign_t: np.ndarray) -> None:
    """One layer's draws for m networks: log χ²_d, log χ²_{d−1}, and t ~ N(0, 1) as
    log|t| = ½ log χ²_1 and its sign (the top bit of its uniform; the ziggurat gets the
    rest: 2u − 1 or 2u, exact)."""
    for j in range(3 * m):
        unif[j] = rng.random()
    for j in range(m):
        l_d[j] = log_chi2_from(rng, tab, 0, unif[j])
        w = 2.0 * unif[m + j]
        neg = w >= 1.0
        l_t[j] = 0.5 * log_chi2_from(rng, tab, ROW, w - 1.0 if neg else w)
        sign_t[j] = -1.0 if neg else 1.0
        if d >= 2:
            l_res[j] = log_chi2_from(rng, tab, 2 * ROW, unif[2 * m + j])


@njit(cache=True, nogil=True)
def angles_chunk(rng, n: int, d: int, depth: int, theta0: float, mode: int,
                 normalize: bool, cov_terms: int, tab: np.ndarray, cheb: np.ndarray):
    """Simulate ``n`` networks on a pair of inputs at angle θ_0 (radians).

    Returns (mean[L], M2[L], cos2_prev_mean[L], cov_prev_mean[L]): mean and
    M2 = Σ(Z − mean)² of Z_ℓ = log(sin²θ_ℓ/sin²θ_0), and the means of cos²θ_{ℓ−1} and
    c(cos²θ_{ℓ−1}) (the ingredients of the conditional variance of the ℓ-th increment).
    ``tab``, ``cheb``: :func:`bartlett_table` and :func:`cov_chebyshev` of d (chi2 mode;
    unused by the others, which sum the series of c to ``cov_terms`` terms at most).
    Moments are sums shifted by the first network's Z_ℓ (no division per sample)."""
    if mode == MODE_CHI2:
        return _bartlett_blocks(rng, n, d, depth, theta0, _cov_ratios(d, cov_terms), cheb,
                                tab)
    shift, s1, s2, cos2_sum, cov_sum = _angle_sums(depth)
    g1 = np.empty(d)
    g2 = np.empty(d)
    x = np.empty(d)
    y = np.empty(d)
    log_s0 = 2 * math.log(math.sin(theta0))
    ratios = _cov_ratios(d, cov_terms)
    for i in range(n):
        u = math.cos(theta0)
        lv = math.log(math.sin(theta0))
        if mode == MODE_MATRIX:
            x[:] = _unit_vector(rng, d)
            e = _unit_vector(rng, d)
            e -= (e * x).sum() * x
            e /= math.sqrt((e * e).sum())
            y[:] = u * x + math.sin(theta0) * e
        cos2 = u * u
        for ell in range(depth):
            cos2_sum[ell] += cos2
            cov_sum[ell] += _cov_series(cos2, 0.5 * d, ratios)
            if mode == MODE_MATRIX:
                log_s2 = _matrix_step(rng, x, y, d, normalize)
                cos2 = -math.expm1(log_s2)
            else:
                u, lv = _gram_step(rng, u, lv, d, g1, g2)
                log_s2 = 2 * lv
                cos2 = u * u
            z = log_s2 - log_s0
            if i == 0:
                shift[ell] = z
            e = z - shift[ell]
            s1[ell] += e
            s2[ell] += e * e
    return _angle_moments(n, shift, s1, s2, cos2_sum, cov_sum)


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
def _gaussian_matrix(rng, d: int, n: int) -> np.ndarray:
    g = np.empty((d, n))
    for k in range(d):
        for j in range(n):
            g[k, j] = rng.standard_normal()
    return g


@njit(cache=True, nogil=True)
def logdet_chunk(rng, samples: int, d: int, n: int) -> np.ndarray:
    """``samples`` draws of log det(WᵀW), W ∈ R^{d×n} explicit, i.i.d. N(0, 1/d)."""
    out = np.empty(samples)
    for s in range(samples):
        out[s] = _logdet_gram(_gaussian_matrix(rng, d, n)) - n * math.log(d)
    return out


@njit(cache=True, nogil=True)
def subrotation_chunk(rng, samples: int, diag: np.ndarray, n: int) -> np.ndarray:
    """``samples`` draws of log det(UᵀD²U), U = G(GᵀG)^{−1/2} Haar (G Gaussian d×n):
    log det(UᵀD²U) = log det(GᵀD²G) − log det(GᵀG) (``diag`` holds the D_ii)."""
    d = len(diag)
    out = np.empty(samples)
    for s in range(samples):
        g = _gaussian_matrix(rng, d, n)
        dg = g * diag.reshape(d, 1)
        out[s] = _logdet_gram(dg) - _logdet_gram(g)
    return out


@njit(cache=True, nogil=True)
def normal_draws(rng, n: int) -> float:
    """Sum of ``n`` standard normal draws from the Generator (the RNG limit of the kernels)."""
    s = 0.0
    for _ in range(n):
        s += rng.standard_normal()
    return s
