"""Finite-width Monte-Carlo checks for kernel_maps (numba kernels vs theory/references)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import ks_2samp

from matexplore.testing import run_experiment
from matexplore_plugins.kernel_maps import kernels as kn
from matexplore_plugins.kernel_maps import theory as th
from matexplore_plugins.kernel_maps.activations import BUILTIN, CODES, kernel_map
from matexplore_plugins.kernel_maps.experiments import FixedPoint


@pytest.mark.parametrize("name", ["tanh", "relu", "gelu", "elu"])
def test_mc_mean_within_4_se_of_theory(name):
    """Width 256, 64 networks, depth 8: E ρ̂_ℓ = κ^ℓ(ρ0) + O(1/d), well inside 4 SE."""
    r = run_experiment(FixedPoint, activation=name, width=256, pairs=64, depth=8, seed=11)
    for layer, rho_t, rho_mc, se in ((row[0], row[1], row[2], row[3])
                                     for row in r["tables"]["layers"]["rows"][1:]):
        assert abs(rho_mc - rho_t) < 4 * se, (name, layer)


def test_init_pairs_have_exact_cosine_and_rms():
    hx, hy = np.empty((3, 128)), np.empty((3, 128))
    kn.init_pairs(5, -0.3, hx, hy)
    for x, y in zip(hx, hy):
        assert np.mean(x * x) == pytest.approx(1.0) and np.mean(y * y) == pytest.approx(1.0)
        assert x @ y / math.sqrt((x @ x) * (y @ y)) == pytest.approx(-0.3, abs=1e-12)


def _run(layer, n: int, d: int, depth: int, seed: int, code: int = CODES["tanh"]):
    km = kernel_map(BUILTIN["tanh"])
    hx, hy = np.empty((n, d)), np.empty((n, d))
    kn.init_pairs(seed, 0.5, hx, hy)
    for ell in range(depth):
        rho = layer(hx, hy, seed + 1000 * (ell + 1), code, 0.1, 0.0, math.sqrt(km.m2))
    return rho


def test_gram_and_matrix_samplers_agree_in_distribution():
    """Two-sample KS test of ρ̂ after 3 layers at width 32 (400 independent networks
    each, different seeds), a 4-SE check of the means and of the spreads."""
    g = _run(kn.gram_layer, 400, 32, 3, 1)
    m = _run(kn.matrix_layer, 400, 32, 3, 2)
    assert ks_2samp(g, m).pvalue > 1e-3
    se = math.sqrt(g.var(ddof=1) / len(g) + m.var(ddof=1) / len(m))
    assert abs(g.mean() - m.mean()) < 4 * se
    assert g.std() == pytest.approx(m.std(), rel=0.2)


def test_post_activation_kernels_match_fused_builtin_path():
    """The third-party path (φ applied with NumPy, gram_post/matrix_post) reproduces the
    fused built-in kernels draw for draw."""
    km = kernel_map(BUILTIN["tanh"])
    for fused, post, d in ((kn.gram_layer, kn.gram_post, 64), (kn.matrix_layer, kn.matrix_post, 16)):
        hx, hy = np.empty((5, d)), np.empty((5, d))
        kn.init_pairs(3, 0.2, hx, hy)
        gx, gy = hx.copy(), hy.copy()
        r1 = fused(hx, hy, 9, CODES["tanh"], 0.1, 0.0, math.sqrt(km.m2))
        r2 = post(km.phi(gx), km.phi(gy), 9, gx, gy)
        np.testing.assert_allclose(r1, r2, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(hx, gx, rtol=1e-10, atol=1e-12)


def test_numba_activations_match_numpy():
    x = np.linspace(-5, 5, 101)
    for name, code in CODES.items():
        ref = th.leaky(0.3)[0](x) if name == "leaky_relu" else BUILTIN[name].fn(x)
        got = np.array([kn._f(float(v), code, 0.3) for v in x])
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14, err_msg=name)


def test_parallel_gram_equals_serial():
    a = _run(kn.gram_layer, 16, 64, 2, 4)
    b = _run(kn.gram_layer_parallel, 16, 64, 2, 4)
    np.testing.assert_array_equal(a, b)


def test_numpy_gram_reference_agrees_with_numba_in_distribution():
    km = kernel_map(BUILTIN["tanh"])
    hx, hy = np.empty((400, 32)), np.empty((400, 32))
    kn.init_pairs(8, 0.5, hx, hy)
    rng = np.random.default_rng(0)
    for _ in range(3):
        ref = kn.numpy_gram_layer(hx, hy, km.phi, rng)
    g = _run(kn.gram_layer, 400, 32, 3, 9)
    assert ks_2samp(ref, g).pvalue > 1e-3


def test_same_seed_same_summary_and_different_seed_differs():
    kw = dict(activation="gelu", width=64, pairs=8, depth=4)
    a = run_experiment(FixedPoint, seed=5, **kw)
    b = run_experiment(FixedPoint, seed=5, **kw)
    c = run_experiment(FixedPoint, seed=6, **kw)
    assert a["summary"] == b["summary"] and a["tables"] == b["tables"]
    assert a["summary"]["rho_L_mc"] != c["summary"]["rho_L_mc"]
    m1 = run_experiment(FixedPoint, seed=5, sampler="matrix", **kw)
    m2 = run_experiment(FixedPoint, seed=5, sampler="matrix", **kw)
    assert m1["summary"] == m2["summary"]


def test_theory_trajectory_is_kappa_iterate():
    """ReLU: m₂ = K(1) = ½, so κ = 2K and ρ_3 = 2K(2K(2K(ρ_0)))."""
    km = kernel_map(BUILTIN["relu"])
    k = BUILTIN["relu"].kernel
    rho = 0.5
    for _ in range(3):
        rho = 2 * float(k(rho))
    assert th.trajectory(km, 0.5, 3)[3] == pytest.approx(rho, abs=1e-14)
