"""The Gaussian quadrature split at kinks against independent high-precision references.

References (none uses the rule under test):
- mpmath.quad at 30 digits for E f(g)² and for pairs whose inner conditional expectation
  E[f(ρu + s w) | u] (s = √(1−ρ²)) has a closed form (GELU, ELU, hardtanh, shifted
  ABReLU): the outer 1-D integral is split at the kinks k and the boundary layer at k/ρ;
- nested scipy.integrate.quad at 1e-14 for smooth pairs without such a form (tanh, SiLU,
  softplus), itself checked against 30-digit nested mpmath.quad values;
- the arc-cosine / erf / sin closed forms.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from scipy.integrate import quad

from matexplore import Activation
from matexplore.plugins import load_registry, set_registry
from matexplore.testing import run_experiment
from matexplore_plugins.kernel_maps import quadrature as qd
from matexplore_plugins.kernel_maps import theory as th
from matexplore_plugins.kernel_maps.activations import BUILTIN, kernel_map

pytestmark = pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
mp.mp.dps = 30
TOL = 1e-12
NEAR = (1 - 1e-3, 1 - 1e-5, 1 - 1e-8)


def npdf(x):
    return mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)


def ncdf(x):
    return mp.ncdf(x)


def relu_mean(m, s):
    """E max(X, 0), X ~ N(m, s²)."""
    return m * ncdf(m / s) + s * npdf(m / s)


# --- mpmath activations and their conditional expectations E f(X), X ~ N(m, s²) -------
def gelu_mp(x):
    return x * ncdf(x)


def gelu_cond(m, s):
    t = mp.sqrt(1 + s * s)
    return m * ncdf(m / t) + s * s / t * npdf(m / t)


def gelu_prime_mp(x):
    return ncdf(x) + x * npdf(x)


def gelu_prime_cond(m, s):
    t = mp.sqrt(1 + s * s)
    return ncdf(m / t) + m * npdf(m / t) / t**3


def elu_mp(x):
    return x if x > 0 else mp.expm1(x)


def elu_cond(m, s):
    return relu_mean(m, s) + mp.exp(m + s * s / 2) * ncdf(-(m + s * s) / s) - ncdf(-m / s)


def elu_prime_mp(x):
    return mp.mpf(1) if x > 0 else mp.exp(x)


def elu_prime_cond(m, s):
    return ncdf(m / s) + mp.exp(m + s * s / 2) * ncdf(-(m + s * s) / s)


def hardtanh_mp(x):
    return max(-1, min(1, x))


def hardtanh_cond(m, s):  # clip(x) = relu(x + 1) − relu(x − 1) − 1
    return relu_mean(m + 1, s) - relu_mean(m - 1, s) - 1


def hardtanh_prime_mp(x):
    return mp.mpf(1) if abs(x) < 1 else mp.mpf(0)


def hardtanh_prime_cond(m, s):
    return ncdf((1 - m) / s) - ncdf((-1 - m) / s)


# shifted ABReLU f(x) = A·min(x − c, 0) + B·max(x − c, 0), kink at c (quadrature only)
AB_A, AB_B, AB_C = -0.3, 1.2, 0.5


def abrelu(x):
    y = np.asarray(x) - AB_C
    return np.where(y > 0, AB_B * y, AB_A * y)


def abrelu_prime(x):
    return np.where(np.asarray(x) > AB_C, AB_B, AB_A)


def abrelu_mp(x):
    y = x - AB_C
    return AB_B * y if y > 0 else AB_A * y


def abrelu_cond(m, s):
    return AB_A * (m - AB_C) + (AB_B - AB_A) * relu_mean(m - AB_C, s)


def abrelu_prime_mp(x):
    return mp.mpf(AB_B) if x > AB_C else mp.mpf(AB_A)


def abrelu_prime_cond(m, s):
    return AB_A + (AB_B - AB_A) * ncdf((m - AB_C) / s)


def hardtanh(x):
    return np.clip(x, -1.0, 1.0)


def hardtanh_prime(x):
    return (np.abs(x) < 1).astype(float)


# name: (fn, deriv, kinks, f_mp, cond, f'_mp, cond')
CLOSED_INNER = {
    "gelu": (th.gelu, th.gelu_prime, (), gelu_mp, gelu_cond, gelu_prime_mp, gelu_prime_cond),
    "elu": (th.elu, th.elu_prime, (0.0,), elu_mp, elu_cond, elu_prime_mp, elu_prime_cond),
    "hardtanh": (hardtanh, hardtanh_prime, (-1.0, 1.0), hardtanh_mp, hardtanh_cond,
                 hardtanh_prime_mp, hardtanh_prime_cond),
    "abrelu": (abrelu, abrelu_prime, (AB_C,), abrelu_mp, abrelu_cond, abrelu_prime_mp,
               abrelu_prime_cond),
}


def mp_pair(f, cond, kinks, rho):
    """E[f(u) f(v)] = ∫ f(u) E[f(ρu + s w)] φ(u) du by 30-digit mpmath.quad, split at the
    kinks and at the boundary layer u = k/ρ of width s of the inner expectation."""
    rho = mp.mpf(rho)
    s = mp.sqrt(1 - rho * rho)
    pts = set(mp.mpf(k) for k in kinks)
    for k in kinks if rho != 0 else ():
        for j in (-8, -3, -1, 0, 1, 3, 8):
            pts.add(mp.mpf(k) / rho + j * s)
    pts = sorted(p for p in pts if abs(p) < 12)
    return mp.quad(lambda u: f(u) * cond(rho * u, s) * npdf(u), [-mp.inf] + pts + [mp.inf])


def mp_diag(f, kinks):
    """E f(g)² by 30-digit mpmath.quad split at the kinks."""
    return mp.quad(lambda x: f(x) ** 2 * npdf(x), [-mp.inf] + sorted(kinks) + [mp.inf])


def scipy_pair(f, rho, L=11.0):
    """E[f(u) f(v)] by nested adaptive scipy quad (smooth f), 1e-14 tolerances."""
    s = math.sqrt(1 - rho * rho)
    c = 1 / (2 * math.pi)

    def inner(u):
        return quad(lambda w: f(rho * u + s * w) * math.exp(-0.5 * w * w), -L, L,
                    epsabs=1e-15, epsrel=1e-13, limit=200)[0]

    return c * quad(lambda u: f(u) * math.exp(-0.5 * u * u) * inner(u), -L, L,
                    epsabs=1e-14, epsrel=1e-13, limit=200)[0]


# ------------------------------------------------------------------------------ tests
def test_gaussian_mass_is_one():
    """The old single 32-point rule on [−10, 10] had mass 1 − 9.551e-9 (the bias of E f²)."""
    x, w = qd.gaussian_rule()
    assert abs(w.sum() - 1.0) < 1e-15
    assert abs(float(qd.pair_expectation(np.ones_like, np.ones_like, 1.0)) - 1.0) < 1e-15


@pytest.mark.parametrize("name", ["gelu", "silu", "elu", "tanh", "softplus", "relu"])
def test_second_moment_against_mpmath(name):
    """E f(g)² = K(1): the 1-D rule and the 2-D rule at ρ = 1 against mpmath."""
    act = BUILTIN[name]
    fmp = {"gelu": gelu_mp, "elu": elu_mp, "tanh": mp.tanh,
           "silu": lambda x: x / (1 + mp.exp(-x)), "softplus": lambda x: mp.log1p(mp.exp(x)),
           "relu": lambda x: max(x, 0)}[name]
    ref = float(mp_diag(fmp, act.kinks))
    assert abs(qd.gaussian_expectation(lambda x: act.fn(x) ** 2, act.kinks) - ref) < TOL
    assert abs(kernel_map(act).m2 - ref) < TOL


@pytest.mark.parametrize("name", list(CLOSED_INNER))
def test_pairs_against_mpmath(name):
    """K and K' of smooth and kinked functions, far from and near ρ = ±1, to 1e-12."""
    fn, deriv, kinks, fmp, cond, dmp, dcond = CLOSED_INNER[name]
    rhos = (-0.7, 0.45) + NEAR + (-1 + 1e-3,)
    got = qd.pair_expectation(fn, fn, np.array(rhos), kinks, kinks)
    got_p = qd.pair_expectation(deriv, deriv, np.array(rhos), kinks, kinks)
    for r, k, kp in zip(rhos, got, got_p):
        ref, ref_p = mp_pair(fmp, cond, kinks, r), mp_pair(dmp, dcond, kinks, r)
        assert abs(k - float(ref)) < TOL, (name, r)
        assert abs(kp - float(ref_p)) < TOL, (name, r)


def test_mpmath_reference_reproduces_arc_cosine_kernel():
    """The reference machinery itself, on ReLU (closed form known)."""
    k, kp = th.leaky_kernel(0.0)
    for r in (-0.8, 0.3, 1 - 1e-3):
        assert abs(float(mp_pair(lambda x: max(x, 0), relu_mean, (0.0,), r)) - k(r)) < 1e-14
        step = (lambda x: mp.mpf(x > 0))
        assert abs(float(mp_pair(step, lambda m, s: ncdf(m / s), (0.0,), r)) - kp(r)) < 1e-14


def test_scipy_reference_against_30_digit_mpmath():
    """Nested mpmath.quad (dps 30, 1 min each, values pasted here) vs the scipy reference."""
    silu = lambda x: x / (1 + math.exp(-x))  # noqa: E731
    assert abs(scipy_pair(math.tanh, 0.3) - 0.110668385547446329139387315742) < 1e-15
    assert abs(scipy_pair(silu, 0.3) - 0.123243034208431633677564769163) < 1e-15


@pytest.mark.parametrize("name", ["tanh", "silu", "softplus"])
def test_smooth_pairs_against_scipy(name):
    act = BUILTIN[name]
    scalar = {"tanh": (math.tanh, lambda x: 1 - math.tanh(x) ** 2),
              "silu": (lambda x: x / (1 + math.exp(-x)), lambda x: float(th.silu_prime(x))),
              "softplus": (lambda x: math.log1p(math.exp(x)),
                           lambda x: 1 / (1 + math.exp(-x)))}[name]
    rhos = np.array([-0.6, 0.3, 1 - 1e-3, 1 - 1e-8])
    got = qd.pair_expectation(act.fn, act.fn, rhos)
    got_p = qd.pair_expectation(act.deriv, act.deriv, rhos)
    for r, k, kp in zip(rhos, got, got_p):
        assert abs(k - scipy_pair(scalar[0], float(r))) < TOL, r
        assert abs(kp - scipy_pair(scalar[1], float(r))) < TOL, r


def _mp_kappa(fmp, cond, kinks):
    m2 = mp_diag(fmp, kinks)
    return lambda r: mp_pair(fmp, cond, kinks, r) / m2


@pytest.mark.parametrize("name,start,expected", [("gelu", (0.76, 0.7605), 0.760401904896),
                                                 ("elu", (0.5975, 0.598), None)])
def test_fixed_point_against_mpmath(name, start, expected):
    """ρ* solves κ(ρ) = ρ; the reference solves it with 30-digit kernels (GELU also
    against the outside value 0.760401904896; the old rule gave 0.760402012854)."""
    fn, deriv, kinks, fmp, cond, *_ = CLOSED_INNER[name]
    kappa = _mp_kappa(fmp, cond, kinks)
    ref = float(mp.findroot(lambda r: kappa(r) - r, start, solver="secant", tol=1e-24))
    rs = th.fixed_point(kernel_map(BUILTIN[name]))
    assert abs(rs - ref) < 1e-11
    if expected is not None:
        assert rs == pytest.approx(expected, abs=1e-12)


def test_silu_fixed_point_against_scipy():
    silu = lambda x: x / (1 + math.exp(-x))  # noqa: E731
    m2 = float(mp_diag(lambda x: x / (1 + mp.exp(-x)), ()))
    from scipy.optimize import brentq
    ref = brentq(lambda r: scipy_pair(silu, r) / m2 - r, 0.6, 0.7, xtol=1e-14)
    assert abs(th.fixed_point(kernel_map(BUILTIN["silu"])) - ref) < 1e-11


HARDTANH = Activation("hardtanh", hardtanh, hardtanh_prime, kinks=(1.0, -1.0, 1.0))


def test_hardtanh_with_kinks_exact():
    """κ'(1) = P(|g|<1)/E f², c₁² = κ'(0) = P(|g|<1)²/E f² (E f' = P(|g|<1))."""
    p = mp.erf(1 / mp.sqrt(2))
    m2 = p - 2 * npdf(mp.mpf(1)) + (1 - p)
    km = kernel_map(HARDTANH)
    assert HARDTANH.kinks == (-1.0, 1.0)
    assert km.kappa_prime_1 == pytest.approx(float(p / m2), abs=TOL)
    assert km.kappa_prime(0.0) == pytest.approx(float(p * p / m2), abs=TOL)
    assert km.hermite_sq(2)[1] == pytest.approx(float(p * p / m2), abs=TOL)
    assert float(p / m2) == pytest.approx(1.3229, abs=1e-4)
    assert float(p * p / m2) == pytest.approx(0.90312, abs=1e-5)
    # without kinks the jumps of f' at ±1 are not resolved: κ'(1) is visibly wrong
    smooth = kernel_map(Activation("hardtanh", hardtanh, hardtanh_prime))
    assert abs(smooth.kappa_prime_1 - float(p / m2)) > 1e-3


def test_abrelu_quadrature_only_near_one():
    """ABReLU f = a·min(x,0) + b·max(x,0) without a closed form, at 1 − ρ = 1e-3 … 1e-8,
    against the arc-cosine closed form K = A²ρ + B²(2/π)(√(1−ρ²) + ρ arcsin ρ)."""
    a, b = -0.3, 1.2
    f = lambda x: np.where(x > 0, b * x, a * x)  # noqa: E731
    fp = lambda x: np.where(x > 0, b, a) * np.ones_like(x)  # noqa: E731
    A2, B2 = ((a + b) / 2) ** 2, ((b - a) / 2) ** 2
    r = np.array(NEAR + (0.2, -0.5))
    ref = A2 * r + B2 * 2 / math.pi * (np.sqrt(1 - r * r) + r * np.arcsin(r))
    ref_p = A2 + B2 * 2 / math.pi * np.arcsin(r)
    assert np.max(np.abs(qd.pair_expectation(f, f, r, (0.0,), (0.0,)) - ref)) < TOL
    assert np.max(np.abs(qd.pair_expectation(fp, fp, r, (0.0,), (0.0,)) - ref_p)) < TOL


def test_unsymmetric_pairs_use_both_kink_sets():
    """E[f1(u) f2(v)] with different kinks (ABReLU shifted to 0.5 against hardtanh)."""
    r = 0.9
    s = math.sqrt(1 - r * r)
    pts = sorted([AB_C] + [k / r + j * s for k in (-1, 1) for j in (-3, -1, 0, 1, 3)])
    ref = mp.quad(lambda u: abrelu_mp(u) * hardtanh_cond(r * u, s) * npdf(u),
                  [-mp.inf] + pts + [mp.inf])
    got = qd.pair_expectation(abrelu, hardtanh, r, (AB_C,), (-1.0, 1.0))
    assert abs(float(got) - float(ref)) < TOL


def test_activation_kinks_validation():
    with pytest.raises(ValueError, match="finite"):
        Activation("bad", hardtanh, hardtanh_prime, kinks=(float("nan"),))
    assert Activation("x", hardtanh, hardtanh_prime, kinks=[2, 0.5]).kinks == (0.5, 2.0)


def test_normalised_closed_form_is_rejected():
    """kernel must be unnormalised: a normalised arc-cosine kernel for 2·ReLU is refused."""
    k, kp = th.leaky_kernel(0.0)
    act = Activation("relu2", lambda x: 2 * th.relu(x), lambda x: 2 * th.relu_prime(x),
                     lambda r: 2 * k(r), lambda r: 2 * kp(r), kinks=(0.0,))
    with pytest.raises(ValueError, match="unnormalised"):
        kernel_map(act)
    ok = Activation("relu2", act.fn, act.deriv, lambda r: 4 * k(r), lambda r: 4 * kp(r),
                    kinks=(0.0,))
    assert kernel_map(ok).kappa_prime_1 == pytest.approx(1.0, abs=1e-14)


PLUGIN = '''
import numpy as np
from matexplore import Activation, hookimpl

def hardtanh(x):
    return np.clip(x, -1.0, 1.0)

def hardtanh_prime(x):
    return (np.abs(x) < 1).astype(float)

@hookimpl
def matexplore_activations():
    return [Activation("hardtanh", hardtanh, hardtanh_prime, kinks=(-1.0, 1.0)),
            Activation("cube", lambda x: x ** 3, lambda x: 3 * x ** 2),
            Activation("half_erf", lambda x: np.tanh(x), lambda x: 1 - np.tanh(x) ** 2,
                       kernel=lambda r: 0.5 * np.asarray(r))]
'''


def test_atlas_columns_share_one_source(tmp_path, monkeypatch):
    """Every atlas row: c1_sq = κ'(0) of the same kernel map (closed form or quadrature);
    hardtanh (kinks, no closed form) exact; cube (smooth path, no kinks) exact; a closed
    form inconsistent with fn fails its row with the reason."""
    (tmp_path / "kinks_plugin.py").write_text(PLUGIN)
    monkeypatch.setenv("MATEXPLORE_LOAD_PLUGINS", "kernel_maps,kinks_plugin")
    set_registry(load_registry([tmp_path]))
    try:
        r = run_experiment("kernel-maps.atlas", depth=20, seed=1)
        bad = run_experiment("kernel-maps.fixed-point", activation="half_erf", depth=2,
                             pairs=0, seed=1)
    finally:
        set_registry(None)
    table = r["tables"]["activations"]
    rows = {row[0]: dict(zip(table["columns"], row)) for row in table["rows"]}
    assert "unnormalised" in rows["half_erf"]["message"]
    assert bad["status"] == "failed" and "unnormalised" in bad["error"]
    for name, row in rows.items():
        if name == "half_erf":
            continue
        act = BUILTIN.get(name, HARDTANH)
        km = kernel_map(act) if name != "cube" else None
        if km is not None:
            assert row["c1_sq"] == km.kappa_prime(0.0), name
            assert row["kappa_0"] == km.kappa_0 and row["kappa_prime_1"] == km.kappa_prime_1
        if row["rho_star"] == 0.0:
            assert row["c1_sq"] == pytest.approx(row["kappa_prime_rho_star"], abs=1e-15)
    p = mp.erf(1 / mp.sqrt(2))
    m2 = p - 2 * npdf(mp.mpf(1)) + (1 - p)
    assert rows["hardtanh"]["kappa_prime_1"] == pytest.approx(float(p / m2), abs=TOL)
    assert rows["hardtanh"]["c1_sq"] == pytest.approx(float(p * p / m2), abs=TOL)
    assert rows["cube"]["kappa_prime_1"] == pytest.approx(27 / 15, abs=TOL)
    assert rows["cube"]["c1_sq"] == pytest.approx(9 / 15, abs=TOL)
