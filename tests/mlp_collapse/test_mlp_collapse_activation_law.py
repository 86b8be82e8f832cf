"""The exact ReLU / leaky-ReLU norm law against independent computations: mpmath
quadrature of the Beta integrals, the Frullani representation of E log S, 2-D quadrature
over the two χ variables, derivatives of the characteristic function, and Monte-Carlo of
the O(1), vector and explicit-matrix samplers (fixed seeds, 4-SE tolerances)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy import integrate, special, stats

from matexplore_plugins.mlp_collapse import activation_law as A
from matexplore_plugins.mlp_collapse import kernels as K
from matexplore_plugins.mlp_collapse import theory as T
from matexplore_plugins.mlp_collapse.norms import generic_chunk
from matexplore_plugins.mlp_collapse.streaming import LayerHistogram


@pytest.mark.parametrize("slope", [0.1, 0.5])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_beta_log_moments_equal_mpmath(slope: float, k: int) -> None:
    d, a2 = 6, slope * slope
    got = A.beta_log_moments(k, d, a2)
    with mpmath.workdps(30):   # tanh-sinh, breakpoints where log(α² + (1−α²)u) bends
        a, b, m_a2 = mpmath.mpf(k) / 2, mpmath.mpf(d - k) / 2, mpmath.mpf(a2)
        dens = lambda u: u ** (a - 1) * (1 - u) ** (b - 1) / mpmath.beta(a, b)  # noqa: E731
        for p in (1, 2, 3, 4):
            ref = mpmath.quad(lambda u: mpmath.log(m_a2 + (1 - m_a2) * u) ** p * dens(u),
                              [0, 1e-4, 1e-3, 1e-2, 0.1, 0.5, 1])
            assert got[p - 1] == pytest.approx(float(ref), abs=1e-10)


@pytest.mark.parametrize("slope", [0.0, 0.1, 0.7])
def test_layer_mean_equals_frullani_mixture(slope: float) -> None:
    """E log S = ∫_0^∞ (e^{−t} − E e^{−tS})/t dt, E e^{−tS} = (1+2t)^{−K/2}(1+2α²t)^{−(d−K)/2}:
    independent of the Beta decomposition used by the code."""
    d, d_in, gain = 5, 7, 1.3
    ks = range(1, d + 1) if slope == 0 else range(d + 1)
    w = np.array([math.comb(d, k) for k in ks], dtype=float)
    w /= w.sum()
    a2 = mpmath.mpf(slope) ** 2
    e_log = 0.0
    for k, p in zip(ks, w):
        f = lambda t: (mpmath.exp(-t) - (1 + 2 * t) ** (-mpmath.mpf(k) / 2)  # noqa: E731
                       * (1 + 2 * a2 * t) ** (-mpmath.mpf(d - k) / 2)) / t
        e_log += p * float(mpmath.quad(f, [0, 1, 10, 100, mpmath.inf]))
    mean, _, _ = A.layer_cumulants(d_in, d, slope, gain)
    assert mean == pytest.approx(e_log + math.log(gain / d_in), abs=1e-10)


def test_layer_variance_equals_2d_quadrature() -> None:
    """E log^p(A + α²B), A = a², B = b², a ~ χ_K, b ~ χ_{d−K}: plain 2-D quadrature."""
    d, slope, k = 3, 0.3, 2
    c = 1 / (2 ** (k / 2 - 1) * math.gamma(k / 2) * 2 ** ((d - k) / 2 - 1)
             * math.gamma((d - k) / 2))          # χ_k density a^{k−1}e^{−a²/2}/(2^{k/2−1}Γ(k/2))

    def moment(p: int) -> float:
        f = lambda b, a: (math.log(a * a + slope**2 * b * b) ** p * c  # noqa: E731
                          * a ** (k - 1) * b ** (d - k - 1) * math.exp(-(a * a + b * b) / 2))
        return integrate.dblquad(f, 0, 10, 0, 10, epsabs=1e-10, epsrel=1e-10)[0]

    m1, m2 = moment(1), moment(2)
    h1, h2, _, _ = A.beta_log_moments(k, d, slope**2)
    assert special.digamma(d / 2) + math.log(2) + h1 == pytest.approx(m1, abs=1e-8)
    # Var log S = ψ'(d/2) + Var h(U) (the χ²_d factor is independent of U)
    assert special.polygamma(1, d / 2) + h2 - h1**2 == pytest.approx(m2 - m1**2, abs=1e-8)


@pytest.mark.parametrize("slope", [0.0, 0.2])
def test_characteristic_function_derivatives_give_mean_and_variance(slope: float) -> None:
    """The CF (closed form / Gauss–Jacobi) vs the moments (digamma / QUADPACK)."""
    layers = A.HomogeneousLayers([8, 6, 9], slope, A.variance_preserving_gain(slope))
    h = 1e-4    # central differences: truncation ~h²κ₃/6 ≈ 1e-7, rounding ~1e-16/h² = 1e-8
    t = np.array([-h, 0.0, h])
    lc = sum(layers.log_cf(t, k) for k in range(2))
    assert abs(lc[1]) < 1e-12
    assert ((lc[2] - lc[0]) / (2 * h)).imag == pytest.approx(layers.mean[-1], abs=1e-7)
    assert (-(lc[2] - 2 * lc[1] + lc[0]) / h**2).real == pytest.approx(layers.var[-1], abs=1e-6)


def test_linear_limit_slope_one_is_the_chi2_law() -> None:
    w = [5, 7, 4]
    lin, hom = T.LinearLayers(w, 1.0), A.HomogeneousLayers(w, 1.0, 1.0)
    assert np.allclose(hom.mean, lin.mean, atol=1e-12)
    assert np.allclose(hom.var, lin.var, atol=1e-12)
    assert np.allclose(hom.kappa4, lin.kappa4, atol=1e-10)


def _run(mode: int, slope: float, widths: list[int], n: int, seed: int,
         ziggurat: bool = True):
    """norms_chunk for a homogeneous f; chi2 mode draws log χ²_K from the count_tables
    ziggurats (``ziggurat``) or χ²_K by Marsaglia–Tsang."""
    gain = A.variance_preserving_gain(slope)
    layers = A.HomogeneousLayers(widths, slope, gain)
    h = LayerHistogram(layers.mean, np.sqrt(layers.var), bins=64)
    tab = K.count_tables(np.array(widths)) if ziggurat and mode == K.MODE_CHI2 else np.zeros(0)
    out = K.norms_chunk(np.random.default_rng(seed), n, np.array(widths), mode, True, slope,
                        gain, h.lo, h.inv_width, 64, math.log(1e-4), math.log(100.0),
                        tab, np.zeros(len(widths) - 1, dtype=np.int64))
    return out, layers


@pytest.mark.parametrize("slope", [0.0, 0.3])
@pytest.mark.parametrize("mode,n,ziggurat", [(K.MODE_CHI2, 40_000, True),
                                             (K.MODE_CHI2, 40_000, False),
                                             (K.MODE_VECTOR, 20_000, False),
                                             (K.MODE_MATRIX, 8_000, False)])
def test_samplers_match_exact_law_on_survivors(slope: float, mode: int, n: int,
                                               ziggurat: bool) -> None:
    widths = [3, 4, 2, 5, 3]
    (alive, mean, m2, hist, *_), layers = _run(mode, slope, widths, n, 7 + mode, ziggurat)
    var = m2 / (alive - 1)
    assert np.all(np.abs(mean - layers.mean) < 4 * np.sqrt(layers.var / alive))
    assert np.all(np.abs(var - layers.var) < 4 * np.sqrt((layers.kappa4 + 2 * layers.var**2)
                                                         / alive))
    surv = A.survival_probability(widths, slope)
    se = np.sqrt(surv * (1 - surv) / n)
    assert np.all(np.abs(alive / n - surv) <= 4 * se + 1e-12)
    assert np.array_equal(hist.sum(axis=1), alive)


@pytest.mark.parametrize("d", [1, 5, 53, 60, 130])
def test_popcount_binomial_is_bin_d_half(d: int) -> None:
    """K = the number of ones among d random bits (53 a uniform) against scipy's Bin(d, ½):
    χ² goodness of fit over the bins with expected count ≥ 20."""
    from numba import njit

    @njit
    def draws(rng, n):
        return np.array([K._binomial_half(rng, d) for _ in range(n)])

    n = 100_000
    k = draws(np.random.default_rng(d), n)
    counts = np.bincount(k, minlength=d + 1)
    expected = n * stats.binom(d, 0.5).pmf(np.arange(d + 1))
    keep = expected >= 20
    obs = np.r_[counts[keep], counts[~keep].sum()]
    exp = np.r_[expected[keep], expected[~keep].sum()]
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-3
    assert abs(k.mean() - d / 2) < 4 * math.sqrt(d / 4 / n)


def test_count_tables_ziggurat_equals_marsaglia_tsang_in_distribution() -> None:
    """The leaky-ReLU χ² sampler both ways: final-layer histograms homogeneous (χ²
    contingency), the same survivor counts law."""
    widths = [6, 5, 7, 6, 4]
    (_, _, _, h_z, *_), _ = _run(K.MODE_CHI2, 0.2, widths, 30_000, 41, True)
    (_, _, _, h_m, *_), _ = _run(K.MODE_CHI2, 0.2, widths, 30_000, 42, False)
    a, b = h_z[-1], h_m[-1]
    keep = (a + b) >= 40
    table = np.array([np.r_[a[keep], a[~keep].sum()], np.r_[b[keep], b[~keep].sum()]])
    table = table[:, table.sum(axis=0) > 0]
    assert table.shape[1] > 20
    assert stats.chi2_contingency(table)[1] > 1e-3


def test_count_tables_only_for_small_widths() -> None:
    assert K.count_tables(np.array([3, 7, 2])).size == 7 * K.ROW
    assert K.count_tables(np.array([3, K.COUNT_TABLES_MAX + 1])).size == 0


def test_relu_cdf_by_inversion_matches_monte_carlo() -> None:
    widths = [4] * 7
    layers = A.HomogeneousLayers(widths, 0.0, 2.0)
    law = T.LogNormLaw(layers)
    (alive, *_), _ = _run(K.MODE_CHI2, 0.0, widths, 1, 0)   # compile
    rng = np.random.default_rng(3)
    y = np.zeros(30_000)
    ok = np.ones(30_000, bool)
    for _ in range(6):        # plain NumPy: K ~ Bin(4, ½), χ²_K, ratio 2χ²_K/4
        k = rng.binomial(4, 0.5, size=y.shape)
        ok &= k > 0
        y += np.log(np.where(k > 0, 2 * rng.standard_gamma(np.maximum(k, 1) / 2), 1.0) * 2 / 4)
    res = stats.kstest(y[ok], lambda v: law.cdf(v, 6))
    assert res.pvalue > 1e-3


def test_generic_numpy_path_matches_exact_relu_law() -> None:
    widths = np.array([6, 5, 7, 6])
    layers = A.HomogeneousLayers(list(widths), 0.0, 2.0)
    lo, iw = layers.mean - 8, np.full(3, 4.0)
    out = generic_chunk(np.random.default_rng(5), 20_000, widths, lambda z: np.maximum(z, 0),
                        2.0, lo, iw, 64, math.log(1e-4), math.log(100.0))
    alive, mean = out[0], out[1]
    assert np.all(np.abs(mean - layers.mean) < 4 * np.sqrt(layers.var / alive))
    # E‖x_ℓ‖²/‖x_0‖² = Π σ² E f(g)² d_k/d_{k−1} = d_ℓ/d_0 under He init (SE from the sample)
    assert out[6] == pytest.approx(6 / 6, abs=4 * math.sqrt(out[7] / 20_000 / 19_999))


def test_norm_moments_closed_form_and_one_layer_monte_carlo() -> None:
    w = [3, 5, 4]
    m1, m2 = A.norm_moments(w, 1.0, 1.0)      # linear: E(χ²_d)² = d(d + 2)
    assert m1 == pytest.approx([5 / 3, 5 / 3 * 4 / 5], rel=1e-12)
    assert m2[-1] == pytest.approx(5 * 7 / 9 * 4 * 6 / 25, rel=1e-12)
    rng = np.random.default_rng(9)               # one leaky layer by plain NumPy, d = 6
    g = rng.standard_normal((400_000, 6))
    s = (np.where(g > 0, g, 0.3 * g) ** 2).sum(axis=1) * 1.5 / 4   # σ² = 1.5, d_in = 4
    m1, m2 = A.norm_moments([4, 6], 0.3, 1.5)
    se = (s**2).std() / math.sqrt(len(s))
    assert abs((s**2).mean() - m2[0]) < 4 * se
    assert abs(s.mean() - m1[0]) < 4 * s.std() / math.sqrt(len(s))
