"""numba kernels and streaming statistics against independent computations: the exact
ψ-sum laws, NumPy references, closed forms, and two-sample tests between the cheap
samplers and the explicit-matrix path (fixed seeds, tolerances of 4 standard errors)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import special, stats

from matexplore_plugins.mlp_collapse import kernels as K
from matexplore_plugins.mlp_collapse import theory as T
from matexplore_plugins.mlp_collapse.streaming import LayerHistogram


def G(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---- streaming ------------------------------------------------------------------------

def test_histogram_quantile_within_one_bin_of_numpy() -> None:
    rng = np.random.default_rng(1)
    y = rng.standard_normal(50_000) * 2 - 1
    h = LayerHistogram(np.array([-1.0]), np.array([2.0]), bins=512)
    slots = np.clip(np.floor((y - h.lo[0]) * h.inv_width[0]), -1, 512).astype(int) + 1
    np.add.at(h.counts[0], slots, 1)
    for q in (0.01, 0.5, 0.9):
        assert abs(h.quantile(q, 0) - np.quantile(y, q)) < h.width[0]


# ---- norms ----------------------------------------------------------------------------

WIDTHS = np.array([3, 5, 4, 6, 2], dtype=np.int64)
NO_TABLE = np.zeros(0)  # the log-χ² tables, unused outside chi2 mode


def _norms(mode: int, seed: int, n: int, widths: np.ndarray = WIDTHS):
    m = T.norms_mean_exact(widths)
    s = np.sqrt(T.norms_var_exact(widths))
    h = LayerHistogram(m, s, bins=64)
    out = K.norms_chunk(G(seed), n, widths, mode, False, 1.0, 1.0, h.lo, h.inv_width, 64,
                        math.log(1e-4), math.log(100.0), *K.chi2_layers(widths))
    return out[1:], h


@pytest.mark.parametrize("mode,n", [(K.MODE_CHI2, 40_000), (K.MODE_VECTOR, 40_000),
                                    (K.MODE_MATRIX, 20_000)])
def test_norm_samplers_match_exact_law(mode: int, n: int) -> None:
    (mean, m2, hist, *_), _ = _norms(mode, 11 + mode, n)
    var = m2 / (n - 1)
    m_ex, v_ex = T.norms_mean_exact(WIDTHS), T.norms_var_exact(WIDTHS)
    # κ4 of Σ log χ²: Σ ψ'''(d/2); Var(sample variance) ≈ (κ4 + 2σ⁴)/n
    k4 = np.cumsum(special.polygamma(3, WIDTHS[1:] / 2))
    assert np.all(np.abs(mean - m_ex) < 4 * np.sqrt(v_ex / n))
    assert np.all(np.abs(var - v_ex) < 4 * np.sqrt((k4 + 2 * v_ex**2) / n))
    assert np.all(hist.sum(axis=1) == n)


def _merged_bins(a: np.ndarray, b: np.ndarray, least: int = 20) -> np.ndarray:
    """Merge adjacent bins until each merged bin holds ≥ ``least`` counts in both rows."""
    rows, cur = [], np.zeros(2, dtype=np.int64)
    for x, y in zip(a, b):
        cur += (x, y)
        if cur.min() >= least:
            rows.append(cur.copy())
            cur[:] = 0
    rows[-1] += cur
    return np.array(rows).T


@pytest.mark.parametrize("mode", [K.MODE_VECTOR, K.MODE_MATRIX])
def test_two_sample_chi2_sampler_vs_others(mode: int) -> None:
    # homogeneity (χ² contingency) test of the final-layer histograms of two samplers
    (_, _, h_ref, *_), _ = _norms(K.MODE_CHI2, 101, 20_000)
    (_, _, h_oth, *_), _ = _norms(mode, 202, 20_000)
    table = _merged_bins(h_ref[-1], h_oth[-1])
    assert table.shape[1] > 20
    assert stats.chi2_contingency(table)[1] > 1e-3


def test_tail_counts_and_norm_sq_mean() -> None:
    w = np.array([2] * 9, dtype=np.int64)        # d = 2: heavy tails after 8 layers
    n = 40_000
    (_, _, _, below, above, nsq, nsq_m2), _ = _norms(K.MODE_VECTOR, 5, n, w)
    law = T.LogNormLaw(w)
    p_lo = law.cdf(math.log(1e-4), 8)[0]
    p_hi = 1 - law.cdf(math.log(100.0), 8)[0]
    assert abs(below[-1] / n - p_lo) < 4 * math.sqrt(p_lo * (1 - p_lo) / n)
    assert abs(above[-1] / n - p_hi) < 4 * math.sqrt(p_hi * (1 - p_hi) / n) + 1 / n
    # E‖x_L‖² = 1 (sample SE from the streamed M2)
    assert abs(nsq - 1.0) < 4 * math.sqrt(nsq_m2 / (n - 1) / n)


def test_kernels_are_deterministic_per_seed() -> None:
    a, _ = _norms(K.MODE_VECTOR, 9, 500)
    b, _ = _norms(K.MODE_VECTOR, 9, 500)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    c = K.angles_chunk(G(3), 50, 5, 6, 1.0, K.MODE_GRAM, False, 256, NO_TABLE, NO_TABLE)
    d = K.angles_chunk(G(3), 50, 5, 6, 1.0, K.MODE_GRAM, False, 256, NO_TABLE, NO_TABLE)
    assert all(np.array_equal(x, y) for x, y in zip(c, d))


# ---- angles ---------------------------------------------------------------------------

def _chunk_stats(mode: int, seed0: int, chunks: int, n: int, d: int, L: int, th: float,
                 normalize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per-chunk means and variances of Z_L (independent chunks → t-tests)."""
    means, variances = [], []
    for c in range(chunks):
        m, m2, _, _ = K.angles_chunk(G(seed0 + c), n, d, L, th, mode, normalize, 1024,
                                      K.bartlett_table(d), K.cov_chebyshev(d, 1024))
        means.append(m[-1])
        variances.append(m2[-1] / (n - 1))
    return np.array(means), np.array(variances)


@pytest.mark.parametrize("mode", [K.MODE_GRAM, K.MODE_CHI2])
def test_angles_cheap_sampler_vs_matrix_two_sample(mode: int) -> None:
    args = (30, 400, 4, 12, math.radians(60))
    mg, vg = _chunk_stats(mode, 1000, *args)
    mm, vm = _chunk_stats(K.MODE_MATRIX, 5000, *args)
    assert stats.ttest_ind(mg, mm, equal_var=False).pvalue > 1e-3
    assert stats.ttest_ind(vg, vm, equal_var=False).pvalue > 1e-3
    # and both means agree with the exact ψ-difference law
    exact = T.angles_mean_exact(4, 12)[-1]
    for m in (mg, mm):
        assert abs(m.mean() - exact) < 4 * m.std(ddof=1) / math.sqrt(len(m))


@pytest.mark.parametrize("mode", [K.MODE_GRAM, K.MODE_CHI2])
def test_angles_variance_matches_conditional_law(mode: int) -> None:
    d, L, n = 6, 15, 20_000
    m, m2, cos2, cov = K.angles_chunk(G(77), n, d, L, math.pi / 2, mode, False, 4096,
                                      K.bartlett_table(d), K.cov_chebyshev(d))
    var_law = np.cumsum(T.angle_increment_var(d, 0.0)[0] + 2 * cov)
    var = m2 / (n - 1)
    # Var of a sample variance ≤ (μ4 − σ⁴)/n; bound μ4 by 6σ⁴ (log-χ² sums: excess ≤ 3)
    assert np.all(np.abs(var - var_law) < 4 * np.sqrt(5 * var_law**2 / n))
    # the kernel's series equals the theory's
    assert K.log_chi2_cov(d, 0.7, 4096) == pytest.approx(T.log_chi2_cov(d, 0.7)[0], rel=1e-12)


def test_block_series_equals_the_scalar_series() -> None:
    """The Bartlett blocks sum c(cos²θ) for all networks of a block at once."""
    d = 5
    u = np.sqrt(np.r_[0.0, 1e-12, G(5).uniform(0, 1, 60), 0.999999, 1.0])
    cos2, cov, term = np.empty(u.size), np.empty(u.size), np.empty(u.size)
    total = K._cov_block(u, u.size, 0.5 * d, K._cov_ratios(d, 4096), NO_TABLE, cos2, cov,
                         term, term.copy())
    scalar = np.array([K.log_chi2_cov(d, c, 4096) for c in u * u])
    np.testing.assert_allclose(cov, scalar, rtol=1e-15, atol=0)
    assert total == pytest.approx((u * u).sum(), rel=1e-15)


@pytest.mark.parametrize("d", [12, 32, 300])
def test_cov_chebyshev_within_1e13_of_the_series(d: int) -> None:
    """The interpolant of c(x)/x replaces the series for d ≳ 12: checked here at points
    other than the ones it was validated on, and at x = 1 against c(1) = ψ'(d/2)."""
    cheb = K.cov_chebyshev(d)
    assert 0 < cheb.size <= 33
    x = np.r_[1e-30, G(d).uniform(0, 1, 300), 1.0]
    cov, b1, b2 = np.empty(x.size), np.empty(x.size), np.empty(x.size)
    K._clenshaw_block(x, x.size, cheb, cov, b1, b2)
    series = np.array([K.log_chi2_cov(d, v, 4096) for v in x])
    np.testing.assert_allclose(cov, series, rtol=2e-13, atol=0)
    assert cov[-1] == pytest.approx(special.polygamma(1, d / 2), rel=2e-13)


def test_small_widths_keep_the_series() -> None:
    """Below d ≈ 12 the singularity of c at x = 1 defeats a degree-32 interpolant."""
    assert K.cov_chebyshev(6).size == 0


def test_bartlett_with_the_interpolant_equals_the_series() -> None:
    """Same streams, so the angles are bit-identical; only the c(cos²θ) means differ,
    by the interpolant's error."""
    d, L, n, th = 16, 30, 300, math.radians(80)
    args = (n, d, L, th, K.MODE_CHI2, False, 4096, K.bartlett_table(d))
    fast = K.angles_chunk(G(8), *args, K.cov_chebyshev(d))
    slow = K.angles_chunk(G(8), *args, NO_TABLE)
    for a, b in zip(fast[:3], slow[:3]):
        assert np.array_equal(a, b)
    np.testing.assert_allclose(fast[3], slow[3], rtol=2e-13, atol=1e-300)


def test_bartlett_draws_have_their_laws_and_are_independent() -> None:
    """One layer's draws of the block sampler: log χ²_d, log χ²_{d−1} (KS against SciPy)
    and t = ±exp(½ log χ²_1) ~ N(0, 1), pairwise uncorrelated (|r| < 4/√n)."""
    d, m, reps = 7, 64, 800
    tab = K.bartlett_table(d)

    @njit
    def layers(rng):
        unif, out = np.empty(3 * m), np.empty((3, reps * m))
        l_d, l_res, l_t, sign = np.empty(m), np.empty(m), np.empty(m), np.empty(m)
        for r in range(reps):
            K._bartlett_draws(rng, m, d, tab, unif, l_d, l_res, l_t, sign)
            out[0, r * m:(r + 1) * m] = l_d
            out[1, r * m:(r + 1) * m] = l_res
            out[2, r * m:(r + 1) * m] = sign * np.exp(l_t)
        return out

    l_d, l_res, t = layers(G(11))
    assert stats.kstest(np.exp(l_d), stats.chi2(d).cdf).pvalue > 1e-3
    assert stats.kstest(np.exp(l_res), stats.chi2(d - 1).cdf).pvalue > 1e-3
    assert stats.kstest(t, stats.norm.cdf).pvalue > 1e-3
    n = t.size
    for a, b in ((l_d, l_res), (l_d, t), (l_res, t), (l_d, np.abs(t))):
        assert abs(np.corrcoef(a, b)[0, 1]) < 4 / math.sqrt(n)


def test_bartlett_blocks_follow_the_exact_mean_law_through_underflow() -> None:
    """d = 2, 2000 layers: log sin²θ falls ≈ 1.39 a layer, so sinθ underflows to 0 after
    ≈ 1100 layers; z = log sin²θ is carried in logs and must still follow the exact
    E Z_ℓ = ℓ[ψ(½) − ψ(1)] (200 networks: three full blocks and a partial one)."""
    d, L, n = 2, 2000, 200
    m, m2, _, _ = K.angles_chunk(G(21), n, d, L, math.radians(60), K.MODE_CHI2, False,
                                 4096, K.bartlett_table(d), K.cov_chebyshev(d))
    assert np.all(np.isfinite(m)) and m[-1] < -2000
    se = np.sqrt(m2 / (n - 1) / n)
    assert np.all(np.abs(m - T.angles_mean_exact(d, L)) < 4 * se + 1e-9)


def test_normalisation_does_not_change_angles() -> None:
    a = K.angles_chunk(G(4), 200, 8, 20, 1.2, K.MODE_MATRIX, False, 64, NO_TABLE, NO_TABLE)
    b = K.angles_chunk(G(4), 200, 8, 20, 1.2, K.MODE_MATRIX, True, 64, NO_TABLE, NO_TABLE)
    assert np.allclose(a[0], b[0], atol=1e-9)
    assert np.allclose(a[1], b[1], rtol=1e-8)


# ---- log-det and sub-rotation -----------------------------------------------------------

def test_mgs_logdet_equals_numpy_slogdet() -> None:
    g = np.random.default_rng(2).standard_normal((9, 5))
    assert K._logdet_gram(g) == pytest.approx(np.linalg.slogdet(g.T @ g)[1], rel=1e-12)


@pytest.mark.parametrize("d,n", [(6, 3), (6, 6), (40, 20)])
def test_logdet_kernel_matches_exact(d: int, n: int) -> None:
    v = K.logdet_chunk(G(123), 20_000, d, n)
    assert abs(v.mean() - T.logdet_mean_exact(d, n)) < 4 * v.std() / math.sqrt(len(v))


def test_subrotation_gram_formula_equals_explicit_haar_u() -> None:
    rng = np.random.default_rng(8)
    d2 = np.exp(rng.standard_normal(7))
    g = rng.standard_normal((7, 3))
    u = np.linalg.qr(g)[0]                       # orthonormal basis of span(G)
    direct = np.linalg.slogdet(u.T @ (d2[:, None] * u))[1]
    via_g = K._logdet_gram(np.sqrt(d2)[:, None] * g) - K._logdet_gram(g)
    assert via_g == pytest.approx(direct, rel=1e-10)


def test_subrotation_d2_closed_form_and_bounds() -> None:
    v = K.subrotation_chunk(G(31), 100_000, np.array([1.0, 2.0]), 1)  # D² = diag(1, 4)
    assert abs(v.mean() - 2 * math.log(1.5)) < 4 * v.std() / math.sqrt(len(v))
    d2 = np.exp(np.random.default_rng(4).standard_normal(16))
    w = K.subrotation_chunk(G(32), 20_000, np.sqrt(d2), 4)
    se = w.std() / math.sqrt(len(w))
    assert w.mean() > T.subrotation_fischer_lower(d2, 4) + 10 * se
    assert w.mean() < T.subrotation_jensen_upper(d2, 4)


# ---- legacy (numba np.random, per-thread global state) vs Generator streams -------------

@njit(cache=False)
def _legacy_norms(seed: int, n: int, d: int, L: int) -> np.ndarray:
    """The pre-Generator χ² sampler: Y_L = Σ log(χ²_d/d) with numba's legacy RNG."""
    np.random.seed(seed)
    out = np.empty(n)
    for i in range(n):
        y = 0.0
        for _ in range(L):
            y += math.log(np.random.chisquare(d) / d)
        out[i] = y
    return out


@njit(cache=False)
def _legacy_bartlett(seed: int, n: int, d: int, L: int, theta0: float) -> np.ndarray:
    """The pre-Generator Bartlett angle sampler: log(sin²θ_L/sin²θ_0) per network."""
    np.random.seed(seed)
    out = np.empty(n)
    for i in range(n):
        u, lv = math.cos(theta0), math.log(math.sin(theta0))
        for _ in range(L):
            u, lv = K._pair_update(u, lv, math.sqrt(np.random.chisquare(d)),
                                   np.random.standard_normal(),
                                   0.5 * math.log(np.random.chisquare(d - 1)))
        out[i] = 2 * lv - 2 * math.log(math.sin(theta0))
    return out


def test_new_chi2_sampler_equals_legacy_in_distribution() -> None:
    d, L, n = 6, 10, 40_000
    w = np.full(L + 1, d, dtype=np.int64)
    (_, _, hist, *_), h = _norms(K.MODE_CHI2, 31, n, w)
    old = _legacy_norms(32, n, d, L)
    slots = np.clip(np.floor((old - h.lo[-1]) * h.inv_width[-1]), -1, 64).astype(int) + 1
    table = _merged_bins(hist[-1], np.bincount(slots, minlength=66))
    assert stats.chi2_contingency(table)[1] > 1e-3


def test_new_bartlett_sampler_equals_legacy_in_distribution() -> None:
    d, L, n, th = 5, 12, 400, math.radians(70)
    new_m, new_v = _chunk_stats(K.MODE_CHI2, 700, 30, n, d, L, th)
    old = np.array([_legacy_bartlett(900 + c, n, d, L, th) for c in range(30)])
    old_m, old_v = old.mean(axis=1), old.var(axis=1, ddof=1)
    assert stats.ttest_ind(new_m, old_m, equal_var=False).pvalue > 1e-3
    assert stats.ttest_ind(new_v, old_v, equal_var=False).pvalue > 1e-3
