"""Kernels and the QR-tracked chain against independent NumPy computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matexplore_plugins.batchnorm_rank import kernels as K
from matexplore_plugins.batchnorm_rank import theory as th
from matexplore_plugins.batchnorm_rank.chain import BNChain, centring_basis


def chain(d=24, n=6, weights="gaussian", center=False, sampler="full", seed=0, act=None):
    return BNChain(d, n, weights, center, act, sampler, np.random.default_rng(seed))


@pytest.mark.parametrize("sampler", ["full", "reduced"])
def test_weight_step_mean_matches_digamma_sum(sampler):
    """E Δ log det over i.i.d. weight steps = m log(2/d) + Σψ((d−i+1)/2), within 4 SE;
    the variance matches Σψ' within 4 SE (SE of a variance ≈ var·√(2/N))."""
    d, n, N = 24, 6, 3000
    c = chain(d, n, sampler=sampler)
    x = np.array([c.weight_step() for _ in range(N)])
    se = x.std(ddof=1) / math.sqrt(N)
    assert abs(x.mean() - th.wishart_logdet_mean(d, n)) < 4 * se
    # the source's −n²/(2d) is rejected by the same data
    assert abs(x.mean() - th.wishart_logdet_source(d, n)) > 4 * se
    v = th.wishart_logdet_var(d, n)
    assert abs(x.var(ddof=1) - v) < 4 * v * math.sqrt(2 / N)


def test_weight_step_increment_equals_slogdet_of_product():
    """The tracked increment equals log det((WH)ᵀWH) − log det(HᵀH) from numpy.slogdet."""
    c = chain(40, 8)
    H = c.physical()
    before = np.linalg.slogdet(H.T @ H)[1]
    dw = c.weight_step()
    H2 = c.physical()
    assert abs(np.linalg.slogdet(H2.T @ H2)[1] - before - dw) < 1e-9


@pytest.mark.parametrize("sampler", ["full", "reduced"])
def test_orthogonal_weights_leave_logdet_unchanged(sampler):
    c = chain(32, 8, weights="orthogonal", sampler=sampler)
    H = c.physical()
    before = np.linalg.slogdet(H.T @ H)[1]
    for _ in range(5):
        assert abs(c.weight_step()) < 1e-10
    H2 = c.physical()
    assert abs(np.linalg.slogdet(H2.T @ H2)[1] - before) < 1e-10


def test_haar_matrix_trace_moments():
    """For W Haar on O(d): E tr W = 0 and E (tr W)² = 1 (Diaconis–Shahshahani);
    QR without the sign fix fails this."""
    rng = np.random.default_rng(5)
    tr = np.array([np.trace(K.haar_orthogonal(rng, 6, 6)) for _ in range(4000)])
    w = K.haar_orthogonal(rng, 6, 6)
    assert np.allclose(w.T @ w, np.eye(6), atol=1e-14)
    se = tr.std(ddof=1) / math.sqrt(tr.size)
    assert abs(tr.mean()) < 4 * se
    assert abs((tr**2).mean() - 1) < 4 * (tr**2).std(ddof=1) / math.sqrt(tr.size)


@pytest.mark.parametrize("center", [False, True])
def test_bn_makes_every_row_rms_one(center):
    c = chain(30, 7, center=center)
    c.weight_step()
    c.bn_step()
    H = c.physical()
    rows = H - H.mean(axis=1, keepdims=True) if center else H
    assert np.allclose(np.sqrt((rows**2).mean(axis=1)), 1.0, atol=1e-12)
    if center:
        assert np.allclose(H.mean(axis=1), 0.0, atol=1e-12)


def test_bn_increment_equals_slogdet():
    c = chain(30, 7)
    c.weight_step()
    H = c.physical()
    before = np.linalg.slogdet(H.T @ H)[1]
    db, dead, _ = c.bn_step()
    Hb = H / np.sqrt((H**2).mean(axis=1, keepdims=True))
    assert dead == 0
    assert abs(np.linalg.slogdet(Hb.T @ Hb)[1] - before - db) < 1e-9


def test_centring_basis():
    P = centring_basis(5)
    assert np.allclose(P.T @ P, np.eye(4))
    assert np.allclose(P @ P.T, np.eye(5) - np.ones((5, 5)) / 5)


def test_tracked_logdet_matches_physical_gram():
    """After a few layers (well conditioned) the exactly tracked log det equals slogdet of
    the physical Gram, and the eigenvalues equal eigvalsh(HᵀH/d)."""
    c = chain(64, 8)
    for _ in range(5):
        s = c.step()
    H = c.physical()
    G = H.T @ H / 64
    assert abs(s.mean_log_eig - np.linalg.slogdet(G)[1] / 8) < 1e-10
    assert np.allclose(s.eigs, np.linalg.eigvalsh(G), rtol=1e-10)
    assert abs(np.trace(G) - 8) < 1e-10


def test_rank_measures_hand_built():
    pr, ent, nr = K.rank_measures(np.array([1.0, 1.0, 1.0, 1.0]), 1e-3)
    assert (pr, nr) == (4.0, 4) and abs(ent - 4) < 1e-12
    pr, ent, nr = K.rank_measures(np.array([0.0, 0.0, 5.0]), 1e-3)
    assert (pr, ent, nr) == (1.0, 1.0, 1)
    lam = np.array([3.0, 1.0, 1e-4, 0.0])   # p = (.75, .25), 1e-4 < 1e-3·3
    pr, ent, nr = K.rank_measures(lam, 1e-3)
    assert abs(pr - (4.0001**2) / (9 + 1 + 1e-8)) < 1e-12
    p = lam[:3] / lam.sum()
    assert abs(ent - math.exp(-(p * np.log(p)).sum())) < 1e-12
    assert nr == 2


def test_jacobi_agrees_with_lapack_on_well_conditioned():
    R = np.triu(np.random.default_rng(2).standard_normal((12, 12))) + 4 * np.eye(12)
    lam = K.jacobi_eigs(R, 3)
    assert np.allclose(lam, np.linalg.eigvalsh(R.T @ R / 3), rtol=1e-12)


def test_jacobi_high_relative_accuracy_on_graded_2x2():
    """[[a, b], [0, c]]: σ_max² + σ_min² = a²+b²+c², σ_max σ_min = |ac| (closed form),
    with c = 1e−140 far below what eigvalsh can resolve."""
    a, b, c = 2.0, 0.7, 1e-140
    lam = K.jacobi_eigs(np.array([[a, b], [0.0, c]]), 1)
    big = (a * a + b * b + c * c)
    smin2 = (a * c) ** 2 / big
    assert abs(lam[1] / big - 1) < 1e-14
    assert abs(lam[0] / smin2 - 1) < 1e-12


def test_jacobi_graded_product_of_eigenvalues_equals_det():
    """Π λ_i(RᵀR) = Π r_ii² for a strongly row-graded triangular R (λ spread 1e−280)."""
    rng = np.random.default_rng(3)
    B = np.triu(rng.standard_normal((8, 8)) * 0.3) + np.eye(8)
    R = np.diag(10.0 ** (-np.arange(8) * 20.0)) @ B
    lam = K.jacobi_eigs(R, 1)
    assert abs(np.log(lam).sum() - 2 * np.log(np.abs(np.diag(R))).sum()) < 1e-9
    assert np.all(np.diff(np.log10(lam)) > 30)  # graded, resolved over 280 decades


def test_flush_tiny():
    R = np.array([[1.0, 1e-290], [0.0, 1e-10]])
    assert K.flush_tiny(R, K.FLUSH) == 1 and R[0, 1] == 0.0 and R[1, 1] == 1e-10


def test_householder_haar_is_orthogonal_with_haar_trace_moments():
    """W = haar_apply(I) (d reflections, in several chunks) is orthogonal, and
    E tr W = 0, E (tr W)² = 1 as for Haar measure on O(d)."""
    rng = np.random.default_rng(7)
    w = K.haar_apply(np.eye(40), rng, chunk_flops=5e3)
    assert np.allclose(w.T @ w, np.eye(40), atol=1e-13)
    tr = np.array([np.trace(K.haar_apply(np.eye(6), rng)) for _ in range(4000)])
    se = tr.std(ddof=1) / math.sqrt(tr.size)
    assert abs(tr.mean()) < 4 * se
    assert abs((tr**2).mean() - 1) < 4 * (tr**2).std(ddof=1) / math.sqrt(tr.size)
    # first column uniform on the sphere: E W_11² = 1/d
    w11 = np.array([K.haar_apply(np.eye(6), rng)[0, 0] for _ in range(4000)])
    assert abs((w11**2).mean() - 1 / 6) < 4 * (w11**2).std(ddof=1) / math.sqrt(w11.size)


def test_gaussian_image_is_thread_independent_and_has_the_weight_law():
    # (W·Q)_ij for orthonormal Q is N(0, 1/d) i.i.d.: check mean, variance and that the
    # result is bit-identical for 1, 2 and 3 threads (each row block has its own stream).
    d, m = 256, 16
    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((d, m)))[0]
    outs = [K.gaussian_image(Q, np.random.default_rng(9), t) for t in (1, 2, 3)]
    assert all(np.array_equal(outs[0], o) for o in outs[1:])
    x = outs[0].ravel() * np.sqrt(d)
    n = x.size
    assert abs(x.mean()) < 4 / np.sqrt(n)
    assert abs(x.var() - 1) < 4 * np.sqrt(2 / n)
    assert np.abs(np.corrcoef(outs[0].T) - np.eye(m)).max() < 4 * 3 / np.sqrt(d)


def test_fill_normal_matches_numpy_generator_stream():
    out = np.empty((3, 5))
    K.fill_normal(np.random.default_rng(4), out, 2.0)
    np.testing.assert_array_equal(out, 2.0 * np.random.default_rng(4).standard_normal((3, 5)))


def test_full_gaussian_chain_draws_ahead_without_changing_a_single_bit():
    # With threads > 1 the next W is drawn while a layer is computed. The chain must be
    # bit-identical to the sequential one, and to W_ℓ built by hand from the documented
    # streams (rng.spawn(W_BLOCKS) at layer ℓ, NumPy's own Generator), and must leave the
    # shared rng's spawn counter where the sequential chain leaves it (a later chain on
    # the same rng gets the same streams).
    d, n, layers = 96, 8, 4
    states, spawned = [], []
    for threads in (1, 2, 3):
        rng = np.random.default_rng(21)
        c = BNChain(d, n, "gaussian", False, None, "full", rng, threads, layers=layers)
        for _ in range(layers):
            c.step()
        states.append((c.Q, c.R, c.logdet))
        spawned.append(rng.bit_generator.seed_seq.n_children_spawned)
    for Q, R, logdet in states[1:]:
        assert np.array_equal(Q, states[0][0]) and np.array_equal(R, states[0][1])
        assert logdet == states[0][2]
    assert spawned == [layers * K.W_BLOCKS] * 3

    rng = np.random.default_rng(21)
    c = BNChain(d, n, "gaussian", False, None, "full", rng, 2, layers=layers)
    ref = np.random.default_rng(21)
    ref.standard_normal((d, n))  # H0, as the chain draws it
    edges = np.linspace(0, d, K.W_BLOCKS + 1).astype(int)
    W = np.vstack([g.standard_normal((hi - lo, d)) for g, lo, hi in
                   zip(ref.spawn(K.W_BLOCKS), edges[:-1], edges[1:])]) / np.sqrt(d)
    Q0 = c.Q.copy()
    M = c.gaussian.image(Q0)
    np.testing.assert_allclose(M, W @ Q0, rtol=0, atol=1e-13)
