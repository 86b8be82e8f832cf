"""The log-gamma ziggurat (loggamma.py) against SciPy's own log-gamma law: KS distance,
mean ψ(a) and variance ψ'(a) within 4 SE, the far tails (which exercise the exact tail
sampler) against binomial SEs, and the ziggurat's layers all of one area."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import special, stats

from matexplore_plugins.mlp_collapse import loggamma as LG

SHAPES = [0.5, 1.0, 1.5, 5.0, 15.5, 500.0]


@njit  # not cached: numba's cache would not see a change in loggamma.py
def draws(rng, tab, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = LG.log_gamma(rng, tab, 0)
    return out


@pytest.mark.parametrize("a", SHAPES)
def test_log_gamma_has_the_log_gamma_law(a: float) -> None:
    n = 400_000
    y = draws(np.random.default_rng(int(a * 10)), LG.tables([a]), n)
    assert stats.kstest(y, stats.loggamma(a).cdf).pvalue > 1e-3
    v = special.polygamma(1, a)
    assert abs(y.mean() - special.digamma(a)) < 4 * math.sqrt(v / n)
    k4 = special.polygamma(3, a)  # Var of a sample variance ≈ (κ4 + 2σ⁴)/n
    assert abs(y.var() - v) < 4 * math.sqrt((k4 + 2 * v * v) / n)


@pytest.mark.parametrize("a", [0.5, 5.0, 500.0])
def test_far_tails_have_the_right_mass(a: float) -> None:
    # beyond the outermost layer the sampler switches to its exponential-envelope tail
    # rejection: compare P(Y < q) and P(Y > q') at the 2e-4 quantiles with binomial SEs
    n, p = 2_000_000, 2e-4
    y = draws(np.random.default_rng(7), LG.tables([a]), n)
    law = stats.loggamma(a)
    for frac in ((y < law.ppf(p)).mean(), (y > law.isf(p)).mean()):
        assert abs(frac - p) < 4 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("a", SHAPES)
def test_every_layer_has_the_same_area(a: float) -> None:
    row = LG.table(a)
    n, n_right = int(row[2]), int(row[3])
    width = row[LG._W: LG._W + n]
    lo, hi = row[LG._LO: LG._LO + n], row[LG._HI: LG._HI + n]
    area = width * (hi - lo)  # the base layers: width v/h(r) × height h(r)
    np.testing.assert_allclose(area, area[0], rtol=1e-9)
    assert abs(n - LG.LAYERS) <= 16 and 0 < n_right < n
    for top in (n_right - 1, n - 1):  # each side's last layer reaches the mode
        assert hi[top] >= 1.0 and row[LG._IN + top] == 0.0


def test_log_chi2_is_log2_plus_log_gamma() -> None:
    tab = LG.tables([2.5])
    a = draws(np.random.default_rng(3), tab, 10)

    @njit
    def chi(rng, tab, n):
        return np.array([LG.log_chi2(rng, tab, 0) for _ in range(n)])

    np.testing.assert_allclose(chi(np.random.default_rng(3), tab, 10), math.log(2) + a,
                               rtol=0, atol=1e-15)
