"""Closed forms of λ-balanced networks vs independent computations.

Every closed form is checked against a high-accuracy integration (scipy DOP853, rtol 1e-12)
of the *weight* gradient flow τ dW1/dt = W2ᵀ(Σ − W2W1), τ dW2/dt = (Σ − W2W1)W1ᵀ — a
different computation from the Riccati/closed-form algebra — to ≤ 1e-8."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from matexplore_plugins.lambda_balanced import gd, theory as th

TOL = 1e-8


def weight_flow(w1: np.ndarray, w2: np.ndarray, sigma: np.ndarray,
                times: list[float]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Integrate the weight flow (τ = 1) to each time in `times`."""
    nh, ni = w1.shape

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        a, b = y[:nh * ni].reshape(nh, ni), y[nh * ni:].reshape(-1, nh)
        e = sigma - b @ a
        return np.concatenate([(b.T @ e).ravel(), (e @ a.T).ravel()])

    sol = solve_ivp(rhs, (0.0, max(times)), np.concatenate([w1.ravel(), w2.ravel()]),
                    method="DOP853", rtol=1e-12, atol=1e-14, t_eval=times)
    return [(y[:nh * ni].reshape(nh, ni), y[nh * ni:].reshape(-1, nh)) for y in sol.y.T]


def task(rng: np.random.Generator, n_out: int, n_in: int,
         sv: tuple[float, ...] = (3.0, 2.0, 1.0, 0.5)) -> np.ndarray:
    """Σ = Ũ diag(s̃) Ṽᵀ with Haar Ũ, Ṽ and the first min(ni, no) values of `sv`."""
    m = min(n_in, n_out)
    u, v = th.haar_orthogonal(rng, n_out), th.haar_orthogonal(rng, n_in)
    return u[:, :m] @ np.diag(sv[:m]) @ v[:, :m].T


@pytest.mark.parametrize("lam", [0.0, 0.5, -0.5, 3.0, -3.0])
def test_aligned_closed_form_matches_ode(lam: float) -> None:
    s, a0 = np.array([3.0, 2.0, 1.0, 0.5]), np.array([0.01, 0.02, 0.005, 0.03])
    sol = solve_ivp(lambda _t, a: np.sqrt(lam ** 2 + 4 * a * a) * (s - a), (0, 12), a0,
                    method="DOP853", rtol=1e-12, atol=1e-14, dense_output=True)
    times = np.linspace(0, 12, 61)
    assert np.abs(sol.sol(times).T - th.aligned_a(times, s, a0, lam)).max() < TOL


def test_aligned_source_formula_wrong_only_for_negative_lambda() -> None:
    s, a0, times = np.array([3.0, 2.0, 1.0, 0.5]), np.array([0.01, 0.02, 0.005, 0.03]), \
        np.linspace(0, 12, 61)
    for lam in (0.5, 3.0):
        assert np.allclose(th.aligned_a_source(times, s, a0, lam), th.aligned_a(times, s, a0, lam))
    for lam in (-0.5, -3.0):
        assert np.abs(th.aligned_a_source(times, s, a0, lam) - th.aligned_a(times, s, a0, lam)
                      ).max() > 0.05


def test_aligned_closed_form_large_time_no_overflow() -> None:
    s = np.array([3.0, 0.5])
    a = th.aligned_a(1e4, s, np.array([0.1, 2.0]), -7.0)
    assert np.all(np.isfinite(a)) and np.allclose(a, s)


def balanced_equal(rng: np.random.Generator, n: int, lam: float,
                   sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """λ-balanced init whose stable-form matrix B is well conditioned (Assumption 2.2.1)."""
    while True:
        w1, w2 = th.balanced_weights(rng, n, n, n, lam, 0.5)
        u, _, vt = np.linalg.svd(sigma)
        if np.linalg.cond(w2.T @ u + w1 @ vt.T) < 1e3:
            return w1, w2


@pytest.mark.parametrize("lam", [-5.0, -1.0, 0.0, 1e-8, 0.5, 2.0, 10.0])
def test_stable_qq_matches_ode(lam: float) -> None:
    rng = np.random.default_rng(7)
    sigma = task(rng, 4, 4)
    w1, w2 = balanced_equal(rng, 4, lam, sigma)
    times = [0.2, 1.0, 3.0, 8.0]
    for t, (a, b) in zip(times, weight_flow(w1, w2, sigma, times)):
        assert np.abs(th.qq_of(a, b) - th.qq_stable(w1, w2, sigma, lam, t)).max() < TOL


def test_stable_qq_long_time_limits() -> None:
    """At t → ∞ the stable form gives W2W1 = Σ and the converged reps (Thm 4.1.2)."""
    rng = np.random.default_rng(3)
    sigma = task(rng, 4, 4)
    w1, w2 = balanced_equal(rng, 4, 2.0, sigma)
    blocks = th.qq_blocks(th.qq_stable(w1, w2, sigma, 2.0, 60.0), 4)
    assert np.abs(blocks["w2w1"] - sigma).max() < 1e-10
    ut, st_, vt = np.linalg.svd(sigma)
    c2, d2 = th.converged_reps(st_, 2.0)
    assert np.allclose(ut.T @ blocks["w2w2t"] @ ut, np.diag(d2), atol=1e-10)
    assert np.allclose(vt @ blocks["w1tw1"] @ vt.T, np.diag(c2), atol=1e-10)


@pytest.mark.parametrize("dims,lam", [((3, 4, 5), 1.0), ((5, 4, 3), -1.0), ((3, 3, 5), -0.7),
                                      ((3, 4, 5), 0.0), ((4, 2, 4), 1.0), ((4, 4, 4), -1.0)])
def test_riccati_matches_ode(dims: tuple[int, int, int], lam: float) -> None:
    rng = np.random.default_rng(11)
    ni, nh, no = dims
    sigma = task(rng, no, ni)
    w1, w2 = th.balanced_weights(rng, ni, nh, no, lam, 0.5)
    times = [0.5, 1.5, 3.0]
    for t, (a, b) in zip(times, weight_flow(w1, w2, sigma, times)):
        assert np.abs(th.qq_of(a, b) - th.qq_riccati(w1, w2, sigma, lam, t)).max() < TOL


def test_riccati_overflow_is_reported_as_nan() -> None:
    rng = np.random.default_rng(2)
    sigma = task(rng, 5, 3)
    w1, w2 = th.balanced_weights(rng, 3, 4, 5, 1.0, 0.5)
    assert np.all(np.isnan(th.qq_riccati(w1, w2, sigma, 1.0, 1e4)))


def test_converged_reps_unequal_dims() -> None:
    """Corrected Thm 4.1.2 vs the ODE at long time, (ni, nh, no) = (3, 4, 5), λ = 1:
    W2W2ᵀ on Ũ has (√(λ²+4s̃²)+λ)/2, plus eigenvalue λ (nh − ni times) on Ũ⊥."""
    rng = np.random.default_rng(5)
    sigma = task(rng, 5, 3)
    w1, w2 = th.balanced_weights(rng, 3, 4, 5, 1.0, 0.5)
    (a, b), = weight_flow(w1, w2, sigma, [40.0])
    ut, st_, vt = np.linalg.svd(sigma)
    c2, d2 = th.converged_reps(st_, 1.0)
    w2w2t = b @ b.T
    assert np.allclose(ut[:, :3].T @ w2w2t @ ut[:, :3], np.diag(d2), atol=1e-9)
    assert np.allclose(np.sort(np.linalg.eigvalsh(w2w2t)), np.sort(np.r_[d2, 1.0, 0.0]), atol=1e-9)
    assert np.allclose(vt @ (a.T @ a) @ vt.T, np.diag(c2), atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(ni=st.integers(1, 7), nh=st.integers(1, 7), no=st.integers(1, 7),
       lam=st.floats(-20, 20, allow_nan=False), seed=st.integers(0, 2 ** 32 - 1))
def test_construction_balanced_or_clear_error(ni: int, nh: int, no: int, lam: float,
                                              seed: int) -> None:
    rng = np.random.default_rng(seed)
    feasible = (lam <= 0 or nh <= no) and (lam >= 0 or nh <= ni)
    if not feasible:
        with pytest.raises(ValueError, match="infeasible: λ = .* requires n_hidden ≤ n_"):
            th.balanced_weights(rng, ni, nh, no, lam, 0.7)
        return
    w1, w2 = th.balanced_weights(rng, ni, nh, no, lam, 0.7)
    assert np.linalg.norm(th.balance(w1, w2) - lam * np.eye(nh)) < 1e-12 * max(1.0, abs(lam))
    # the product keeps the singular values of the Gaussian draw (rank min(ni, nh, no))
    assert np.linalg.matrix_rank(w2 @ w1, tol=1e-10) <= min(ni, nh, no)


def test_construction_source_rejected_case_is_feasible() -> None:
    w1, w2 = th.balanced_weights(np.random.default_rng(0), 3, 3, 5, -0.7, 1.0)
    assert np.linalg.norm(th.balance(w1, w2) + 0.7 * np.eye(3)) < 1e-12


def test_construction_aligned_imposes_task_vectors() -> None:
    rng = np.random.default_rng(4)
    u, v = th.haar_orthogonal(rng, 5), th.haar_orthogonal(rng, 3)
    w1, w2 = th.balanced_weights(rng, 3, 4, 5, 2.0, 1.0, u_target=u, v_target=v)
    core = u.T @ w2 @ w1 @ v
    off = core - np.vstack([np.diag(np.diag(core[:3])), np.zeros((2, 3))])
    assert np.abs(off).max() < 1e-12 and np.all(np.diag(core[:3]) > 0)


def test_gd_error_scales_with_eta() -> None:
    """GD vs the aligned closed form at fixed physical time u = 6: error ∝ η."""
    rng = np.random.default_rng(1)
    s, a0, lam = np.array([3.0, 2.0, 1.0, 0.5]), np.array([0.01, 0.02, 0.005, 0.03]), -0.5
    ut, vt = th.haar_orthogonal(rng, 4), th.haar_orthogonal(rng, 4)
    sigma = ut @ np.diag(s) @ vt.T
    c, d = th.equal_split(a0, lam)
    errs = []
    for eta in (4e-3, 2e-3, 1e-3):
        w1, w2 = np.diag(c) @ vt.T, ut @ np.diag(d)
        steps = round(6.0 / eta)
        err = 0.0
        for k in range(0, steps, 50):
            err = max(err, np.abs(np.diag(ut.T @ w2 @ w1 @ vt) - th.aligned_a(k * eta, s, a0, lam)).max())
            w1, w2 = gd.linear_gd(w1, w2, sigma, eta, 50)
        errs.append(err)
    assert 1.7 < errs[0] / errs[1] < 2.3 and 1.7 < errs[1] / errs[2] < 2.3


@pytest.mark.parametrize("scheme", th.SCHEMES)
def test_init_moments_vs_monte_carlo(scheme: str) -> None:
    """E[B_jj], Var(B_jk), Var(B_jj) vs Monte Carlo; SE from per-draw statistics."""
    sizes, draws = (10, 30, 20), 400
    rng = np.random.default_rng(9)
    th_m = th.init_moments(scheme, sizes, 0.8, 1.3)
    v0, v1 = th.init_variances(scheme, sizes, 0.8, 1.3)
    mean_d, off_d, diag_d = [], [], []
    iu = np.triu_indices(sizes[1], 1)
    for _ in range(draws):
        w0 = np.sqrt(v0) * rng.standard_normal((sizes[1], sizes[0]))
        w1 = np.sqrt(v1) * rng.standard_normal((sizes[2], sizes[1]))
        b = w1.T @ w1 - w0 @ w0.T
        mean_d.append(np.diag(b).mean())
        diag_d.append(np.mean((np.diag(b) - th_m["mean"]) ** 2))
        off_d.append(np.mean(b[iu] ** 2))
    for key, vals in (("mean", mean_d), ("var_offdiag", off_d), ("var_diag", diag_d)):
        vals = np.asarray(vals)
        se = vals.std(ddof=1) / np.sqrt(draws)
        assert abs(vals.mean() - th_m[key]) < 4 * se, key
    assert abs(np.mean(diag_d) - th_m["var_diag_source"]) > 10 * np.std(diag_d) / np.sqrt(draws)


def test_init_table_reference_numbers() -> None:
    """Notes' example (40, 200, 80): means −0.6, 0.2381, −1.2, 0 (Scaled α_in² = 0.4)."""
    means = [th.init_moments(s, (40, 200, 80), np.sqrt(0.4), 1.0)["mean"] for s in th.SCHEMES]
    assert np.allclose(means, [-0.6, 0.238095, -1.2, 0.0], atol=1e-6)
    offs = [th.init_moments(s, (40, 200, 80), np.sqrt(0.4), 1.0)["var_offdiag"] for s in th.SCHEMES]
    assert np.allclose(offs, [0.027, 0.006859, 0.108, 0.006], atol=1e-5)
