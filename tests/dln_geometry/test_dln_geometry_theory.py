"""Closed forms and flows of plugins/dln_geometry against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg as sl

from matexplore_plugins.dln_geometry import flows as fl
from matexplore_plugins.dln_geometry import geodesics as ge
from matexplore_plugins.dln_geometry import theory as th


def _problem(kind: str, d: int, seed: int) -> tuple[th.Energy, np.ndarray]:
    rng = np.random.default_rng(seed)
    energy = th.make_energy(kind, d, rng, sparsity=d * d // 2)
    return energy, 0.5 * rng.standard_normal((d, d))


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("kind", ["quadratic", "completion"])
def test_three_flow_formulations_agree(n: int, kind: str) -> None:
    energy, x0 = _problem(kind, 3, 10 + n)
    t = np.linspace(0.0, 2.0, 5)
    rng = np.random.default_rng(n)
    x_fac, bal, _ = fl.factor_flow(th.balanced_lift(x0, n, rng), energy.grad, t)
    x_e2e = fl.e2e_flow(x0, energy.grad, n, t)
    x_svd, gap, _ = fl.svd_flow(fl.svd_start(x0), energy.grad, n, t)
    assert np.abs(x_fac[-1] - x0).max() > 0.05  # the flow moved
    assert np.abs(x_fac - x_e2e).max() < 1e-8
    assert np.abs(x_fac - x_svd).max() < 1e-8
    assert bal.max() < 1e-9 and gap > 0
    # the source's literal (4.18) (no factor N on σ̇) is a different flow
    x_src, _, _ = fl.svd_flow(fl.svd_start(x0), energy.grad, n, t, source_diag=True)
    assert np.abs(x_fac - x_src).max() > 1e-2


def test_infinite_depth_quadrature_flow_matches_svd_flow() -> None:
    energy, x0 = _problem("quadratic", 3, 5)
    t = np.linspace(0.0, 2.0, 3)
    x_e2e = fl.e2e_flow(x0, energy.grad, math.inf, t)
    x_svd, _, _ = fl.svd_flow(fl.svd_start(x0), energy.grad, math.inf, t)
    assert np.abs(x_e2e - x_svd).max() < 1e-8


def test_factor_gd_converges_to_flow_linearly_in_step() -> None:
    energy, x0 = _problem("quadratic", 3, 6)
    ws = th.balanced_lift(x0, 3)
    t = np.array([0.0, 1.0])
    ref, _, _ = fl.factor_flow(ws, energy.grad, t)
    errs = [np.abs(fl.factor_gd(ws, energy.grad, lr, t)[0][-1] - ref[-1]).max()
            for lr in (2e-3, 1e-3)]
    assert 1.7 < errs[0] / errs[1] < 2.3  # first-order method


@pytest.mark.parametrize("depth", [1, 3, 7, math.inf])
def test_lambda_are_eigenvalues_of_fractional_power_operator(depth: float) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 4))
    u, s, vt = np.linalg.svd(x)
    lam = th.lambda_matrix(s, depth)
    for i, j in [(0, 0), (0, 2), (3, 1)]:
        e = np.outer(u[:, i], vt[j])
        assert np.allclose(fl.a_fractional(x, e, depth, nodes=48), lam[i, j] * e, atol=1e-11)
    # apply_a (one SVD) is the same operator
    z = rng.standard_normal((4, 4))
    assert np.allclose(th.apply_a(x, z, depth), fl.a_fractional(x, z, depth, nodes=48), atol=1e-10)


def test_numba_kernel_matches_fractional_power_flow() -> None:
    from matexplore_plugins.dln_geometry import kernels

    energy, x0 = _problem("completion", 3, 8)
    for depth in (3, math.inf):
        scale = 1.0 if math.isinf(depth) else 1.0 / depth  # kernel uses the 1/N-normalised flow
        ref = fl.e2e_flow(x0, lambda x: scale * energy.grad(x), depth, np.array([0.0, 2.0]))[-1]
        (_, x, status), = kernels.run_seeds(x0[None], energy, depth, 2.0, lambda: False,
                                            rtol=1e-11, atol=1e-13, e_stop=0.0)
        assert status == 1 and np.abs(x - ref).max() < 1e-9


def test_bw_geodesic_matches_scipy_and_length_is_bw_distance() -> None:
    rng = np.random.default_rng(4)
    g1, g2 = rng.standard_normal((2, 3, 3))
    a, b = g1 @ g1.T / 3 + 0.2 * np.eye(3), g2 @ g2.T / 3 + 0.2 * np.eye(3)
    t, w = ge.gauss_nodes(40)
    x, dx = th.bw_geodesic(a, b, t)
    c = sl.sqrtm(a @ b).real
    ref = np.array([(1 - s) ** 2 * a + s * s * b + s * (1 - s) * (c + c.T) for s in t])
    dref = np.array([-2 * (1 - s) * a + 2 * s * b + (1 - 2 * s) * (c + c.T) for s in t])
    assert np.abs(x - ref).max() < 1e-10 and np.abs(dx - dref).max() < 1e-10
    ra = sl.sqrtm(a).real
    dist = math.sqrt(np.trace(a) + np.trace(b) - 2 * np.trace(sl.sqrtm(ra @ b @ ra).real))
    assert th.bw_distance(a, b) == pytest.approx(dist, abs=1e-10)
    speed2 = th.metric(x, dx, 2)  # g² = 2 g^BW on SPD matrices
    assert np.sum(w * np.sqrt(speed2 / 2)) == pytest.approx(dist, abs=1e-10)
    assert speed2.max() / speed2.min() - 1 < 1e-9


@pytest.mark.parametrize("depth", [2, 3, math.inf])
def test_diagonal_geodesic_constant_speed_and_not_beaten(depth: float) -> None:
    rng = np.random.default_rng(7)
    a, b = rng.uniform(0.5, 3.0, 3), rng.uniform(0.5, 3.0, 3)
    t, w = ge.gauss_nodes(48)
    x, dx = th.diagonal_geodesic(a, b, depth, t)
    assert np.allclose(x[[0, -1]].diagonal(axis1=1, axis2=2), [a, b], atol=0.05)  # near ends
    speed2 = th.metric(x, dx, depth)
    assert speed2.max() / speed2.min() - 1 < 1e-10
    e_geo = float(np.sum(w * speed2))
    e_opt, _, _ = ge.optimise_path(np.diag(a), np.diag(b), depth, 4, 48)
    e_line = float(ge.path_energy(np.array([(1 - s) * np.diag(a) + s * np.diag(b) for s in t]),
                                  np.diag(b - a)[None], w, depth))
    assert e_opt >= e_geo * (1 - 1e-10)
    assert e_opt <= e_line and e_geo < e_line
    assert e_opt == pytest.approx(e_geo, rel=1e-8)  # the optimiser does find it


def test_rotated_closed_form_is_beaten_for_generic_rotation() -> None:
    rng = np.random.default_rng(3)
    u, v, q = (th.random_orthogonal(3, rng) for _ in range(3))
    s, st = np.array([3.0, 1.5, 0.5]), np.array([2.0, 1.0, 0.3])
    t, w = ge.gauss_nodes(48)
    x, dx = th.rotated_closed_form(u, s, v, q, st, 2, t)
    a, b = u @ np.diag(s) @ v.T, u @ q @ np.diag(st) @ q.T @ v.T
    assert np.allclose(th.rotated_closed_form(u, s, v, q, st, 2, np.array([0.0, 1.0]))[0], [a, b])
    e_closed = float(np.sum(w * th.metric(x, dx, 2)))
    e_opt, _, _ = ge.optimise_path(a, b, 2, 4, 48)
    assert e_opt < e_closed * (1 - 1e-4)


def _fd5(f, s: np.ndarray, i: int, h: float) -> float:
    e = np.zeros_like(s)
    e[i] = h
    return (f(s - 2 * e) - 8 * f(s - e) + 8 * f(s + e) - f(s + 2 * e)) / (12 * h)


@pytest.mark.parametrize("depth", [3, math.inf])
def test_entropy_identities(depth: float) -> None:
    rng = np.random.default_rng(11)
    s = np.sort(rng.uniform(0.3, 3.0, 6))[::-1]
    for a in (0.3, 2.5):
        shift = th.entropy(a * s, depth) - th.entropy(s, depth)
        assert shift == pytest.approx(th.entropy_scaling_shift(6, depth, a), abs=1e-10)
    if math.isinf(depth):
        assert th.entropy_vandermonde(s) == pytest.approx(th.entropy(s, depth), abs=1e-10)
    grad = th.entropy_grad(s, depth)
    fd = np.array([_fd5(lambda x: th.entropy(x, depth), s, i, 1e-3) for i in range(6)])
    assert np.abs(grad - fd).max() < 1e-10 * max(1.0, np.abs(grad).max())
    assert np.abs(grad - th.entropy_grad_plain(s, depth)).max() < 1e-10


def test_entropy_gradient_limit_at_coincidence() -> None:
    s = np.array([2.0, 2.0, 2.0 * (1 + 1e-9)])
    for depth, lim in ((math.inf, 0.5), (4, 0.5 - 1 / 8)):
        assert np.allclose(th.entropy_grad(s, depth), 2 * lim / 2.0, rtol=1e-8)


def test_isotropic_equilibrium_theorem_4_3_7() -> None:
    rng = np.random.default_rng(0)
    s0 = np.linalg.svd(rng.standard_normal((10, 10)) / math.sqrt(10), compute_uv=False)
    s = fl.free_energy_flow(s0, 2.0, 1.0, math.inf, 0.0, 100.0, th.entropy_grad)
    assert np.abs(s - math.sqrt(4.5)).max() < 1e-4
    assert th.sigma_equilibrium(10, 2.0, 1.0, math.inf) == pytest.approx(math.sqrt(4.5))
    assert abs(s.mean() - th.sigma_source_statement(10, 2.0, 1.0)) > 0.5


def test_effective_rank_bounds() -> None:
    assert th.effective_rank(np.ones(5)) == pytest.approx(5.0)
    assert th.effective_rank(np.array([1.0, 0.0, 0.0])) == pytest.approx(1.0)
