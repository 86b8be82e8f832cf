"""Closed forms of mlp_collapse.theory against independent computations: quadrature,
scipy.stats distributions, high-precision Monte-Carlo, and hand-computed source formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from matexplore_plugins.mlp_collapse import theory as T


# ---- norms: exact law -----------------------------------------------------------------

@pytest.mark.parametrize("k,c", [(1, 1), (3, 5), (10, 10), (7, 2)])
def test_single_layer_log_chi2_moments_match_quadrature(k: int, c: int) -> None:
    # Y = log(χ²_k / c): E and Var by quadrature of the χ² density
    pdf = stats.chi2(k).pdf
    m = integrate.quad(lambda x: np.log(x / c) * pdf(x), 0, np.inf, limit=200)[0]
    v = integrate.quad(lambda x: (np.log(x / c) - m) ** 2 * pdf(x), 0, np.inf, limit=200)[0]
    widths = [c, k]               # d_0 = c, d_1 = k
    assert T.norms_mean_exact(widths)[0] == pytest.approx(m, abs=1e-8)
    assert T.norms_var_exact(widths)[0] == pytest.approx(v, abs=1e-7)


def test_layer_sums_are_cumulative_over_varying_widths() -> None:
    w = [5, 3, 8, 2]
    single = [T.norms_mean_exact([a, b])[0] for a, b in zip(w[:-1], w[1:])]
    assert np.allclose(T.norms_mean_exact(w), np.cumsum(single))
    assert np.allclose(T.norms_var_exact(w), np.cumsum([special.polygamma(1, b / 2)
                                                         for b in w[1:]]))


def test_exact_mean_high_precision_mc() -> None:
    # 4·10⁶ log-χ² sums drawn with NumPy's gamma sampler (independent of the kernels)
    rng = np.random.default_rng(7)
    w = [4, 6, 3, 5]
    n = 4_000_000
    y = sum(np.log(rng.chisquare(b, n) / a) for a, b in zip(w[:-1], w[1:]))
    se = y.std() / math.sqrt(n)
    assert abs(y.mean() - T.norms_mean_exact(w)[-1]) < 4 * se
    assert abs(y.var() - T.norms_var_exact(w)[-1]) < 4 * y.var() * math.sqrt(2.0 / n) * 3


def test_lognorm_cdf_single_layer_equals_chi2_cdf() -> None:
    law = T.LogNormLaw([10, 10])
    ys = np.array([-3.0, -1.0, -0.1, 0.0, 0.5, 1.0])
    assert np.allclose(law.cdf(ys, 1), stats.chi2(10).cdf(10 * np.exp(ys)), atol=1e-10)


def test_lognorm_cdf_two_layers_equals_convolution_quadrature() -> None:
    w = [3, 4, 2]
    law = T.LogNormLaw(w)
    for y in (-4.0, -1.0, 0.3, 1.5):
        # P(log(χ²_4/3) + log(χ²_2/4) ≤ y) = ∫ f_4(u) F_2(12 e^y / u) du
        c = 12 * math.exp(y)
        ref = integrate.quad(lambda u: stats.chi2(4).pdf(u) * stats.chi2(2).cdf(c / u),
                             0, np.inf, limit=200)[0]
        assert law.cdf(y, 2)[0] == pytest.approx(ref, abs=1e-9)


def test_lognorm_median_and_tails_d10_match_source_figures() -> None:
    # the source's qualitative quotes (d = 10): median ‖x_L‖ and tails at L = 100
    law = T.LogNormLaw([10] * 101)
    assert math.exp(law.quantile(0.5, 100) / 2) == pytest.approx(0.0058, abs=2e-4)
    assert law.cdf(math.log(1e-4), 100)[0] > 0.5                   # "more than half"
    assert 1 - law.cdf(math.log(100.0), 100)[0] == pytest.approx(1e-3, rel=0.5)


def test_norms_source_formulas_hand_computed() -> None:
    w = [10, 10, 20, 5]           # output widths 10, 20, 5
    assert np.allclose(T.norms_mean_source(w), [-0.05, -0.075, -0.175])
    assert np.allclose(T.norms_var_source(w), [0.2, 0.3, 0.7])
    # source mean is half the leading-order exact mean for square layers
    assert T.norms_mean_source([32] * 101)[-1] == pytest.approx(-1.5625)
    assert T.norms_mean_exact([32] * 101)[-1] == pytest.approx(-3.158, abs=1e-3)


# ---- angles ---------------------------------------------------------------------------

def test_angle_source_formulas_hand_computed() -> None:
    assert T.angles_mean_source(32, 100)[-1] == pytest.approx(-3.125)
    assert T.angles_var_source(32, 100)[-1] == pytest.approx(25.0)
    assert T.angles_mean_exact(32, 100)[-1] == pytest.approx(-3.278, abs=1e-3)


def test_log_chi2_cov_endpoints_and_mc() -> None:
    d = 4
    assert T.log_chi2_cov(d, 0.0)[0] == 0.0
    assert T.log_chi2_cov(d, 1.0)[0] == pytest.approx(special.polygamma(1, d / 2), rel=1e-6)
    rng = np.random.default_rng(3)
    rho, n = 0.8, 2_000_000
    u = rng.standard_normal((n, d))
    v = rho * u + math.sqrt(1 - rho**2) * rng.standard_normal((n, d))
    a, b = np.log((u * u).sum(1)), np.log((v * v).sum(1))
    prod = (a - a.mean()) * (b - b.mean())
    assert abs(prod.mean() - T.log_chi2_cov(d, rho**2)[0]) < 4 * prod.std() / math.sqrt(n)


def test_angle_increment_moments_mc() -> None:
    # one layer, exact Gaussian G (d×2), inputs at 60°: mean ψ((d−1)/2) − ψ(d/2),
    # conditional variance ψ'((d−1)/2) − ψ'(d/2) + 2c(cos²θ)
    rng = np.random.default_rng(11)
    d, n, th = 6, 1_000_000, math.pi / 3
    g1, g2 = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    x, y = g1, math.cos(th) * g1 + math.sin(th) * g2
    xx, yy, xy = (x * x).sum(1), (y * y).sum(1), (x * y).sum(1)
    delta = np.log1p(-xy**2 / (xx * yy)) - math.log(math.sin(th) ** 2)
    se = delta.std() / math.sqrt(n)
    assert abs(delta.mean() - T.angle_increment_mean(d)) < 4 * se
    v_th = T.angle_increment_var(d, math.cos(th) ** 2)[0]
    se_var = delta.var() * math.sqrt(2 / n) * 2      # generous: log-χ² has excess kurtosis
    assert abs(delta.var() - v_th) < 4 * se_var


def test_angle_increment_var_limits() -> None:
    d = 32
    assert T.angle_increment_var(d, 1.0)[0] == pytest.approx(
        T.angle_increment_var_small_angle(d), rel=1e-9)
    assert T.angle_increment_var(d, 0.0)[0] == pytest.approx(2 / d**2, rel=0.1)  # ψ'(x−½)−ψ'(x) ≈ 1/(2x²)


# ---- Lyapunov -------------------------------------------------------------------------

def test_lyapunov_gap_equals_half_digamma_difference() -> None:
    for d in (2, 16, 64):
        assert T.lyapunov_gap(d) == pytest.approx(0.5 * T.angle_increment_mean(d))
    assert T.lyapunov_gap(64) == pytest.approx(-1 / 128, rel=0.03)


# ---- Wishart log-det ------------------------------------------------------------------

def test_logdet_exact_vs_bartlett_quadrature() -> None:
    # Σ_i E log(χ²_{d−i}/d) by quadrature, each term independently
    d, n = 12, 5
    m = sum(integrate.quad(lambda x, k=k: np.log(x / d) * stats.chi2(k).pdf(x), 0, np.inf)[0]
            for k in range(d, d - n, -1))
    assert T.logdet_mean_exact(d, n) == pytest.approx(m, abs=1e-8)


def test_logdet_source_and_corrected_series_hand_computed() -> None:
    assert T.logdet_mean_source_expansion(64, 32) == pytest.approx(-8 - 4 / 3 - 4 / 3)
    assert T.logdet_mean_leading_corrected(64, 32) == pytest.approx(-8.25)
    assert T.logdet_var_clt(64, 32) == pytest.approx(1.0)
    assert T.logdet_mean_exact(64, 32) == pytest.approx(-10.165, abs=1e-3)
    # n = 1: exact −1/d to leading order, the source says −1/(2d)
    assert T.logdet_mean_exact(1000, 1) == pytest.approx(-1e-3, rel=2e-3)
    assert T.logdet_mean_source_expansion(1000, 1) == pytest.approx(-5e-4, rel=2e-3)
    # corrected series tracks the exact sum much better than the source's
    for d, n in ((100, 10), (400, 20)):
        exact = T.logdet_mean_exact(d, n)
        assert abs(T.logdet_mean_series_corrected(d, n) - exact) < 0.01
        assert abs(T.logdet_mean_source_expansion(d, n) - exact) > 0.02


def test_logdet_exact_vs_numpy_slogdet_mc() -> None:
    rng = np.random.default_rng(5)
    d, n, s = 10, 4, 200_000
    w = rng.standard_normal((s, d, n)) / math.sqrt(d)
    ld = np.linalg.slogdet(np.einsum("sdi,sdj->sij", w, w))[1]
    se = ld.std() / math.sqrt(s)
    assert abs(ld.mean() - T.logdet_mean_exact(d, n)) < 4 * se
    assert abs(ld.var() - T.logdet_var_exact(d, n)) < 4 * ld.var() * math.sqrt(2 / s) * 1.5


# ---- sub-rotation ---------------------------------------------------------------------

def test_subrotation_bounds_hand_computed_and_closed_form_d2() -> None:
    d2 = np.array([1.0, 4.0])
    assert T.subrotation_claimed(d2, 1) == pytest.approx(math.log(2))
    assert T.subrotation_fischer_lower(d2, 1) == pytest.approx(math.log(2))
    assert T.subrotation_jensen_upper(d2, 1) == pytest.approx(math.log(2.5))
    # d = 2, n = 1: u = (cos φ, sin φ), (1/2π)∫ log(a²cos² + b²sin²) dφ = 2 log((a+b)/2)
    exact = 2 * math.log(1.5)
    assert T.subrotation_claimed(d2, 1) < exact < T.subrotation_jensen_upper(d2, 1)
