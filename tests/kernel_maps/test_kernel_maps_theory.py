"""Theory checks for kernel_maps against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss
from scipy.integrate import quad
from scipy.stats import norm

from matexplore_plugins.kernel_maps import theory as th
from matexplore_plugins.kernel_maps.activations import BUILTIN, kernel_map

RHOS = np.linspace(-1, 1, 41)


def gauss_hermite_2d(f, rho: float, n: int = 300) -> float:
    """E[f(u) f(v)] by plain tensor-product Gauss–Hermite (independent of theory's rule)."""
    x, w = hermegauss(n)
    w = w / math.sqrt(2 * math.pi)
    s = math.sqrt(max(0.0, 1 - rho * rho))
    v = rho * x[:, None] + s * x[None, :]
    return float(np.sum(w[:, None] * w[None, :] * f(x)[:, None] * f(v)))


NEAR_ONE = np.array([1 - 1e-3, 1 - 1e-5, 1 - 1e-8, -1 + 1e-3, -1 + 1e-8])


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "erf", "sin"])
def test_quadrature_matches_closed_forms(name):
    """The split quadrature (with the built-in kinks) reproduces every closed form to 1e-12,
    on a grid of [−1, 1] and at 1 ∓ ρ = 1e-3 … 1e-8."""
    act = BUILTIN[name]
    rhos = np.concatenate([RHOS, NEAR_ONE])
    quad = th.pair_expectation(act.fn, act.fn, rhos, act.kinks, act.kinks)
    quad_p = th.pair_expectation(act.deriv, act.deriv, rhos, act.kinks, act.kinks)
    assert np.max(np.abs(quad - act.kernel(rhos))) < 1e-12
    assert np.max(np.abs(quad_p - act.kernel_prime(rhos))) < 1e-12


def leaky_pair_by_scipy(a: float, rho: float) -> float:
    """E[f(u) f(v)] for leaky ReLU via adaptive 1-D quad of f(u)·E[f(ρu + s z) | u], where
    E[max(μ + sZ, 0)] = μΦ(μ/s) + sφ(μ/s) and f = max(x,0) + a·min(x,0) = (1−a)max(x,0) + a x."""
    s = math.sqrt(1 - rho * rho)

    def inner(u: float) -> float:
        mu = rho * u
        pos = mu * norm.cdf(mu / s) + s * norm.pdf(mu / s)
        return (1 - a) * pos + a * mu

    fn, _ = th.leaky(a)
    val, _ = quad(lambda u: float(fn(np.array(u))) * inner(u) * norm.pdf(u), -12, 12,
                  points=[0.0], epsabs=1e-13, epsrel=1e-13, limit=200)
    return val


@pytest.mark.parametrize("slope", [0.0, 0.2, -0.5])
def test_leaky_kernel_against_scipy_quad(slope):
    k, _ = th.leaky_kernel(slope)
    for rho in (-0.7, 0.0, 0.3, 0.9):
        assert abs(leaky_pair_by_scipy(slope, rho) - float(k(rho))) < 1e-9


@pytest.mark.parametrize("name", ["tanh", "gelu", "silu", "softplus"])
def test_smooth_quadrature_against_gauss_hermite(name):
    """Smooth activations: the split Gauss–Legendre rule agrees with plain GH to 1e-9."""
    act = BUILTIN[name]
    for rho in (-0.9, -0.2, 0.4, 0.95):
        assert abs(th.pair_expectation(act.fn, act.fn, rho) - gauss_hermite_2d(act.fn, rho)) < 1e-9


def test_kappa_prime_is_derivative_of_kappa():
    """Price's theorem: κ' = dκ/dρ (finite differences of the quadrature κ)."""
    for name in ("tanh", "elu", "gelu"):
        km = kernel_map(BUILTIN[name])
        for rho in (-0.5, 0.2, 0.7):
            fd = (km.kappa(rho + 1e-5) - km.kappa(rho - 1e-5)) / 2e-5
            assert abs(fd - km.kappa_prime(rho)) < 1e-6


def test_hermite_coefficients_reproduce_kappa():
    """Σ c_k² ρ^k with 60 terms reproduces κ for a smooth φ, and Σ c_k² → 1."""
    km = kernel_map(BUILTIN["gelu"])
    c2 = km.hermite_sq(60)
    assert abs(c2.sum() - 1) < 1e-8
    for rho in (-0.6, 0.3, 0.8):
        assert abs(np.polynomial.polynomial.polyval(rho, c2) - km.kappa(rho)) < 1e-8
    relu = kernel_map(BUILTIN["relu"])
    c2 = relu.hermite_sq(4)
    assert c2 == pytest.approx([1 / math.pi, 0.5, 1 / (2 * math.pi), 0.0], abs=1e-10)


def bisection_fixed_point(km: th.KernelMap) -> float:
    """ρ* by a fine grid and bisection (independent of theory.fixed_point)."""
    rs = np.linspace(-0.999, 0.999, 2001)
    g = km.kappa(rs) - rs
    idx = np.nonzero((g[:-1] > 0) & (g[1:] <= 0))[0]
    if len(idx) == 0:
        return 1.0
    lo, hi = rs[idx[-1]], rs[idx[-1] + 1]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if km.kappa(mid) - mid > 0 else (lo, mid)
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("name", ["tanh", "gelu", "silu", "elu", "relu", "softplus", "erf"])
def test_fixed_point_against_bisection(name):
    km = kernel_map(BUILTIN[name])
    assert th.fixed_point(km) == pytest.approx(bisection_fixed_point(km), abs=1e-9)


# the shared notes' table (kernel-maps.md), checked independently there
TABLE = {  # name: (c0², ρ*, κ'(ρ*), κ'(1))
    "tanh": (0.0, 0.0, 0.93047, 1.17781),
    "erf": (0.0, 0.0, 0.91358, 1.22570),
    "sin": (0.0, 0.0, 0.85092, 1.31304),
    "gelu": (0.18714, 0.760402, 0.93273, 1.07203),
    "silu": (0.12000, 0.658667, 0.93538, 1.06663),
    "elu": (0.03995, 0.597568, 0.96971, 1.0358),
    "relu": (1 / math.pi, 1.0, 1.0, 1.0),
}


@pytest.mark.parametrize("name", list(TABLE))
def test_shared_table_numbers(name):
    c0, rho_star, kp_star, kp1 = TABLE[name]
    km = kernel_map(BUILTIN[name])
    rs = th.fixed_point(km)
    assert km.kappa_0 == pytest.approx(c0, abs=1e-5)
    assert rs == pytest.approx(rho_star, abs=1e-6)
    assert km.kappa_prime(rs) == pytest.approx(kp_star, abs=1e-5)
    assert km.kappa_prime_1 == pytest.approx(kp1, abs=2e-4)  # ELU: 1.0358 here, 1.0359 in §1


def test_bound_verdicts_of_shared_table():
    """tanh/erf/sin: bound A violated, B and κ'(ρ*) hold; GELU: all hold; ReLU: no β."""
    cases = (("tanh", False, 150), ("erf", False, 400), ("sin", False, 400), ("gelu", True, 150))
    for name, a_holds, depth in cases:  # quadrature kernels (tanh, GELU) at a smaller depth
        km = kernel_map(BUILTIN[name])
        rs = th.fixed_point(km)
        b = th.betas(km, rs)
        verdict = th.bounds_hold_globally(km, rs, b, depth=depth)
        assert verdict == {"A": a_holds, "B": True, "kstar": True}, name
    km = kernel_map(BUILTIN["relu"])
    b = th.betas(km, th.fixed_point(km))
    assert b.A is None and b.B is None and b.kstar is None and b.reason


def test_tanh_beta_a_value_and_asymptotic_rate():
    km = kernel_map(BUILTIN["tanh"])
    b = th.betas(km, 0.0)
    assert b.A == pytest.approx(0.849, abs=1e-3)
    dist = np.abs(th.trajectory(km, 0.5, 300))
    assert th.empirical_rate(dist) == pytest.approx(km.hermite_sq(2)[1], abs=1e-4)


def test_centred_relu_beta_need_and_verdicts():
    """Detailed notes §1: centred ReLU has ρ* = 0, κ'(1) = 1.4669, A = .682 fails,
    sup_ρ R(ρ) = .7434."""
    km = kernel_map(BUILTIN["relu"], centered=True)
    rs = th.fixed_point(km)
    b = th.betas(km, rs)
    assert rs == pytest.approx(0.0, abs=1e-12)
    assert km.kappa_prime_1 == pytest.approx(1.4669, abs=1e-4)
    assert b.A == pytest.approx(0.682, abs=1e-3)
    assert b.need == pytest.approx(0.7434, abs=1e-4)
    assert th.bounds_hold_globally(km, rs, b, depth=150)["A"] is False


def test_polynomial_custom_kernel_refutes_proof_beta():
    """κ = ½ + ½ρ³: ρ* = (√5−1)/2, the proof's β = max{1−c0², 1−ρ*, κ'(ρ*)} = .5729 fails
    (from ρ₀ = 0.999), β_need suffices."""
    km = th.custom_kernel([0.5, 0, 0, 0.5])
    rs = th.fixed_point(km)
    assert rs == pytest.approx((math.sqrt(5) - 1) / 2, abs=1e-12)
    b = th.betas(km, rs)
    assert b.B == pytest.approx(0.5729, abs=1e-4)
    verdict = th.bounds_hold_globally(km, rs, b, depth=150)
    assert verdict["B"] is False and verdict["kstar"] is False
    traj = th.trajectory(km, th.starting_points(), 150).T
    for t in traj:
        assert th.bound_holds(np.abs(t - rs), th.bound_curve(t[0], rs, b.need, 150))


def test_regimes():
    assert th.regime(1.0, 1.0) == "critical"
    km = kernel_map(BUILTIN["softplus"])
    assert th.regime(th.fixed_point(km), km.kappa_prime_1) == "ordered"
    km = kernel_map(BUILTIN["gelu"])
    assert th.regime(th.fixed_point(km), km.kappa_prime_1) == "chaotic"
