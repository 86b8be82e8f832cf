"""Layer step of the batch-norm network in a QR-factored state, and the rank measures.

State. The batch H ∈ R^{d×n} is kept as H = Q·R (Q: d×m orthonormal columns, R: m×m upper
triangular; m = n, or m = n − 1 with centring, where the state lives in the complement of
the all-ones batch vector). Then HᵀH = RᵀR, so the n×n Gram G = HᵀH/d never has to be formed
from H, and every change of log det HᵀH is the log|diag| of a *well-conditioned* QR:

* weight step  W·H = (W·Q)·R,  W·Q = Q'R'   ⇒ Δ log det = 2 Σ log|r'_ii|;
* BN step      D·H = (D·Q)·R,  D·Q = Q''R'' ⇒ Δ log det = 2 Σ log|r''_ii|.

W·Q and D·Q have condition numbers ≈ (√d+√m)/(√d−√m) and max D/min D, so these increments
are exact to rounding however small the smallest eigenvalue of G has become (this is the
QR method for Lyapunov exponents). The tracked log det never underflows.

Eigenvalues. ``numpy.linalg.eigvalsh`` of RᵀR/d (LAPACK) is accurate to ≈ m·ε·λ_max in
absolute terms. When λ_min/λ_max falls below 1e−10 the spectrum is recomputed from the rows
of R by one-sided (Hestenes) Jacobi, which has high *relative* accuracy for the row-graded
triangular factors this iteration produces (Demmel–Veselić), down to the bottom of the
double range. Entries of R below 1e−280·max|R| are flushed to 0 (those directions are
≥ 280 orders of magnitude below the rest and would otherwise become subnormal); an
eigenvalue below 1e−300·λ_max is *reported* as below the representable range, never as a
number.

numba vs BLAS for the d×d product. W·Q is a d×d by d×m matrix product (2d²m flops). It is
left to NumPy's ``@`` (OpenBLAS dgemm): measured at d = 1024, m = 64 on this machine (one
BLAS thread, ``benchmarks/batchnorm_rank.py``) it runs at ≈ 32 GFLOP/s, 94 % of numpy's own
square-matmul rate, against ≈ 10 GFLOP/s for a vectorised numba i-k-j loop: packing and
cache blocking are what a plain loop lacks, and numba's ``np.dot`` calls the same BLAS
anyway. QR and eigenvalues are LAPACK for the same reason. Drawing the d² normals of W
with NumPy's bulk fill took ≈ 3× longer than the matmul (13 ms vs 4 ms at d = 1024); W is
now drawn by a numba kernel from NumPy Generators (ziggurat) in row blocks, each block
drawn and multiplied in its own thread (:func:`gaussian_image`), and the ``reduced``
sampler removes the draw altogether. numba is used where the work is element-wise
or branchy and BLAS has no routine: the BN row scaling, the Haar sign fix, the Jacobi
rotations, the rank measures, and the Haar orthogonal W applied as d random Householder
reflections (2d²m flops, chunked, never forming W) instead of the d³ QR of a d×d Gaussian
(≈ 10× faster at d = 1024 and interruptible between chunks).

Sampler. ``full`` draws W (d×d) literally. ``reduced`` uses rotation invariance: for a fixed
orthonormal Q, W·Q has i.i.d. N(0, 1/d) entries (Gaussian W) or is a Haar-distributed
orthonormal d×m frame (orthogonal W), independent of the past. Drawing W·Q directly
(d×m numbers instead of d×d) gives the same Markov chain in distribution at d/m times
less cost; it is exact, not an approximation.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numba import njit

FLUSH = 1e-280        # |R_ij| < FLUSH·max|R| is set to 0 (would be subnormal soon)
RESOLVE = 1e-10       # eigvalsh is trusted for λ_min/λ_max above this; else Jacobi
BELOW_RANGE = 1e-300  # eigenvalues below BELOW_RANGE·λ_max are reported as unrepresentable


# ----------------------------------------------------------------------------- numba kernels
@njit(cache=True, nogil=True)
def bn_scale(H: np.ndarray, Q: np.ndarray, n: int, out: np.ndarray) -> tuple[int, float]:
    """BN of H = Q·R as a row scaling of Q: out = D·Q with D_ii = 1/rms_i,
    rms_i² = (1/n) Σ_j H_ij² (H already centred when centring is on).

    Rows with rms 0 (dead features) get D_ii = 0. Returns (number of dead rows,
    Σ_i log D_ii² over live rows) — the latter feeds the source's sub-rotation formula."""
    d, m = Q.shape
    dead = 0
    sum_log_d2 = 0.0
    for i in range(d):
        s = 0.0
        for j in range(H.shape[1]):
            s += H[i, j] * H[i, j]
        ms = s / n
        if ms > 0.0:
            inv = 1.0 / np.sqrt(ms)
            sum_log_d2 -= np.log(ms)
        else:
            inv = 0.0
            dead += 1
        for j in range(m):
            out[i, j] = Q[i, j] * inv
    return dead, sum_log_d2


@njit(cache=True, nogil=True)
def qr_sign_fix(Q: np.ndarray, R: np.ndarray) -> None:
    """Make diag(R) ≥ 0 in place (Q ← Q·S, R ← S·R, S = sign(diag R)): the QR of a
    Gaussian matrix then gives a Haar-distributed Q (Mezzadri 2007)."""
    for k in range(R.shape[0]):
        if R[k, k] < 0.0:
            for i in range(Q.shape[0]):
                Q[i, k] = -Q[i, k]
            for j in range(R.shape[1]):
                R[k, j] = -R[k, j]


@njit(cache=True, nogil=True)
def apply_reflections(X: np.ndarray, g: np.ndarray, k_hi: int, k_lo: int) -> None:
    """X ← B_{k_lo} ⋯ B_{k_hi} X in place, for k = k_hi down to k_lo (1-based).

    B_k = blockdiag(I_{k−1}, H_k), H_k the reflection of R^{r}, r = d − k + 1, mapping e_1 to
    u_k = g_k/‖g_k‖ (g_k ~ N(0, I_r), read consecutively from ``g`` in the order of k).
    W = B_1 B_2 ⋯ B_d is Haar on O(d): its first column u_1 is uniform on the sphere and,
    given u_1, H_1 maps e_1^⊥ isometrically onto u_1^⊥ where the rest is Haar by induction."""
    d, m = X.shape
    s = np.empty(m)
    pos = 0
    for k in range(k_hi, k_lo - 1, -1):
        r = d - k + 1
        off = k - 1
        tail = 0.0
        for i in range(1, r):
            tail += g[pos + i] * g[pos + i]
        nrm = np.sqrt(tail + g[pos] * g[pos])
        u1 = g[pos] / nrm
        # w = e_1 − u; 2/‖w‖² = 1/(1 − u_1), 1 − u_1 computed without cancellation
        one_minus = tail / (nrm * nrm) / (1.0 + u1) if u1 > 0.0 else 1.0 - u1
        if one_minus > 0.0:
            inv = 1.0 / nrm
            for j in range(m):                       # s = (2/‖w‖²)·wᵀX, row-wise
                s[j] = X[off, j]
            for i in range(1, r):
                c = -g[pos + i] * inv / one_minus
                for j in range(m):
                    s[j] += c * X[off + i, j]
            for j in range(m):                       # X ← X − w sᵀ
                X[off, j] -= one_minus * s[j]
            for i in range(1, r):
                c = g[pos + i] * inv
                for j in range(m):
                    X[off + i, j] += c * s[j]
        pos += r


@njit(cache=True, nogil=True)
def sum_log_abs_diag(R: np.ndarray) -> float:
    """Σ_i log|R_ii| (−inf if a diagonal entry is 0)."""
    s = 0.0
    for i in range(R.shape[0]):
        s += np.log(np.abs(R[i, i]))
    return s


@njit(cache=True, nogil=True)
def flush_tiny(R: np.ndarray, rel: float) -> int:
    """Set |R_ij| < rel·max|R| to 0 in place; return how many entries were flushed."""
    big = 0.0
    for i in range(R.shape[0]):
        for j in range(R.shape[1]):
            big = max(big, abs(R[i, j]))
    cut = rel * big
    count = 0
    for i in range(R.shape[0]):
        for j in range(R.shape[1]):
            if R[i, j] != 0.0 and abs(R[i, j]) < cut:
                R[i, j] = 0.0
                count += 1
    return count


@njit(cache=True, nogil=True)
def jacobi_sweeps(X: np.ndarray, sweeps: int, tol: float) -> bool:
    """One-sided (Hestenes) Jacobi on the ROWS of X, in place, for at most ``sweeps``
    sweeps: rotate pairs of rows until all are mutually orthogonal
    (|⟨x_i, x_j⟩| ≤ tol·‖x_i‖‖x_j‖). Then the row norms are the singular values of X.
    Returns True when converged. Zero rows are skipped."""
    m, k = X.shape
    for _ in range(sweeps):
        rotated = False
        for i in range(m - 1):
            for j in range(i + 1, m):
                a = 0.0
                b = 0.0
                c = 0.0
                for t in range(k):
                    a += X[i, t] * X[i, t]
                    b += X[j, t] * X[j, t]
                    c += X[i, t] * X[j, t]
                if a == 0.0 or b == 0.0 or abs(c) <= tol * np.sqrt(a) * np.sqrt(b):
                    continue
                rotated = True
                zeta = (b - a) / (2.0 * c)
                tn = np.sign(zeta) / (abs(zeta) + np.sqrt(1.0 + zeta * zeta))
                if zeta == 0.0:
                    tn = 1.0
                cs = 1.0 / np.sqrt(1.0 + tn * tn)
                sn = cs * tn
                for t in range(k):
                    xi = X[i, t]
                    xj = X[j, t]
                    X[i, t] = cs * xi - sn * xj
                    X[j, t] = sn * xi + cs * xj
        if not rotated:
            return True
    return False


@njit(cache=True, nogil=True)
def row_norms_sq(X: np.ndarray) -> np.ndarray:
    """‖x_i‖² for every row of X."""
    out = np.empty(X.shape[0])
    for i in range(X.shape[0]):
        s = 0.0
        for t in range(X.shape[1]):
            s += X[i, t] * X[i, t]
        out[i] = s
    return out


@njit(cache=True, nogil=True)
def rank_measures(lam: np.ndarray, rel_cut: float) -> tuple[float, float, int]:
    """Participation ratio (Σλ)²/Σλ², entropy rank exp(−Σ p log p) with p = λ/Σλ
    (0·log 0 = 0) and numerical rank #{λ > rel_cut·λ_max}, for eigenvalues λ ≥ 0."""
    s1 = 0.0
    s2 = 0.0
    top = 0.0
    for v in lam:
        s1 += v
        s2 += v * v
        top = max(top, v)
    ent = 0.0
    count = 0
    for v in lam:
        if v > 0.0:
            p = v / s1
            ent -= p * np.log(p)
        if v > rel_cut * top:
            count += 1
    return s1 * s1 / s2, np.exp(ent), count


# ----------------------------------------------------------------------------- spectrum
def jacobi_eigs(R: np.ndarray, d: int, chunk_sweeps: int = 2,
                cancelled: Callable[[], bool] = lambda: False) -> np.ndarray | None:
    """Eigenvalues (ascending) of RᵀR/d from one-sided Jacobi on the rows of R.

    ‖rows‖² after orthogonalisation = σ_i(R)² = eigenvalues of R Rᵀ, the same as of RᵀR.
    Sweeps run in chunks so that cancellation is seen between chunks; returns None if
    cancelled."""
    X = np.array(R, dtype=np.float64, order="C")
    for _ in range(60 // chunk_sweeps):
        if cancelled():
            return None
        if jacobi_sweeps(X, chunk_sweeps, 1e-15):
            break
    return np.sort(row_norms_sq(X)) / d


def gram_eigs(R: np.ndarray, d: int,
              cancelled: Callable[[], bool] = lambda: False) -> tuple[np.ndarray | None, str]:
    """Eigenvalues of G = RᵀR/d (ascending) and the method used ("eigvalsh"/"jacobi")."""
    lam = np.linalg.eigvalsh(R.T @ R / d)
    if lam[0] > RESOLVE * lam[-1]:
        return lam, "eigvalsh"
    return jacobi_eigs(R, d, cancelled=cancelled), "jacobi"


@njit(cache=True, nogil=True)
def fill_normal(rng: np.random.Generator, out: np.ndarray, scale: float) -> None:
    """out ← scale·N(0, 1) i.i.d., drawn from ``rng`` (NumPy's ziggurat, GIL released)."""
    flat = out.reshape(-1)
    for i in range(flat.size):
        flat[i] = scale * rng.standard_normal()


# ----------------------------------------------------------------------------- layer step
W_BLOCKS = 8  # row blocks of a full Gaussian W: each has its own Generator (thread-independent)


class GaussianWeights:
    """The weights W_1, W_2, … of one network's ``full`` Gaussian sampler, and W_ℓ·Q.

    W_ℓ ∈ R^{d×d} has i.i.d. N(0, 1/d) entries, drawn by :func:`fill_normal` in
    :data:`W_BLOCKS` row blocks; block b of W_ℓ comes from the b-th Generator of
    ``rng.spawn(W_BLOCKS)`` taken at the ℓ-th layer, so W_ℓ depends neither on ``threads``
    nor on timing. W does not depend on the network's state: with ``threads`` > 1 the
    next W is drawn by the pool's threads (GIL released) while the caller multiplies and
    re-factorises with the current one, so a layer costs max(draw, rest) instead of
    draw + rest. ``layers`` bounds what is drawn ahead: no Generator is spawned for a
    layer that will not run (other chains may spawn from the same ``rng`` afterwards)."""

    def __init__(self, rng: np.random.Generator, d: int, threads: int = 1,
                 layers: int | None = None) -> None:
        self.rng, self.d, self.threads, self.layers = rng, d, max(1, threads), layers
        self.edges = np.linspace(0, d, W_BLOCKS + 1).astype(int)
        self._buffers = [np.empty((d, d)) for _ in range(2 if self.threads > 1 else 1)]
        self._drawn = 0        # layers whose W has been (or is being) drawn
        self._ahead: tuple[np.ndarray, tuple[list[Any], list[Any]]] | None = None  # W_{ℓ+1}

    def _draw(self, w: np.ndarray) -> tuple[list[Any], list[Any]]:
        """Start drawing the next W into ``w``: (its blocks not yet claimed, the pool
        futures of the threads − 1 helpers claiming them); drawn here on one thread."""
        self._drawn += 1
        gens = self.rng.spawn(W_BLOCKS)
        scale = 1.0 / np.sqrt(self.d)
        jobs = [(gens[b], w[self.edges[b]:self.edges[b + 1]], scale) for b in range(W_BLOCKS)]
        if self.threads == 1:
            for job in jobs:
                fill_normal(*job)
            return [], []
        return jobs, [_pool().submit(_claim_and_fill, jobs) for _ in range(self.threads - 1)]

    def image(self, Q: np.ndarray) -> np.ndarray:
        """W_ℓ·Q for the next layer ℓ, block by block (BLAS); starts drawing W_{ℓ+1}.

        threads − 1 helpers draw ahead while this thread multiplies and re-factorises; it
        then draws the blocks no helper has claimed (one runnable thread per core: a third
        one would only slow down the layer's own work)."""
        if self._ahead is None:
            w = self._buffers[self._drawn % len(self._buffers)]
            self._ahead = (w, self._draw(w))
        w, (jobs, helpers) = self._ahead
        _claim_and_fill(jobs)
        for fut in helpers:
            fut.result()
        self._ahead = None
        if self.threads > 1 and (self.layers is None or self._drawn < self.layers):
            nxt = self._buffers[self._drawn % 2]
            self._ahead = (nxt, self._draw(nxt))
        out = np.empty((self.d, Q.shape[1]))
        for lo, hi in zip(self.edges[:-1], self.edges[1:]):
            np.matmul(w[lo:hi], Q, out=out[lo:hi])
        return out


_CLAIM = threading.Lock()


def _claim_and_fill(jobs: list[Any]) -> None:
    """Draw blocks (Generator, rows, scale) taken one by one off the shared ``jobs`` list
    until it is empty (each block is drawn once, by whichever thread claims it)."""
    while True:
        with _CLAIM:
            if not jobs:
                return
            job = jobs.pop(0)
        fill_normal(*job)


def gaussian_image(Q: np.ndarray, rng: np.random.Generator, threads: int = 1) -> np.ndarray:
    """W·Q for one W ∈ R^{d×d} with i.i.d. N(0, 1/d) entries (see :class:`GaussianWeights`)."""
    return GaussianWeights(rng, Q.shape[0], threads, layers=1).image(Q)


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """One process-wide pool for the W blocks (threads are reused from layer to layer)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2),
                                       thread_name_prefix="bn-W")
        return _POOL


def haar_orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A Haar-distributed rows×cols matrix with orthonormal columns (cols ≤ rows):
    QR of a Gaussian with the sign fix diag(R) > 0."""
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    qr_sign_fix(q, r)
    return q


def haar_apply(X: np.ndarray, rng: np.random.Generator, chunk_flops: float = 2e7,
               cancelled: Callable[[], bool] = lambda: False) -> np.ndarray | None:
    """W·X for W Haar on O(d), as d random reflections (``apply_reflections``) without
    forming W: ≈ 2d²m flops instead of the d³ of a QR, in chunks of ≈ ``chunk_flops`` so
    that cancellation is seen between chunks (returns None if cancelled)."""
    d, m = X.shape
    out = np.array(X, dtype=np.float64, order="C")
    k = d
    while k >= 1:
        k_lo, work = k, 4.0 * (d - k + 1) * m
        while k_lo > 1 and work < chunk_flops:
            k_lo -= 1
            work += 4.0 * (d - k_lo + 1) * m
        g = rng.standard_normal(sum(d - j + 1 for j in range(k_lo, k + 1)))
        apply_reflections(out, g, k, k_lo)
        k = k_lo - 1
        if cancelled():
            return None
    return out


def weight_image(Q: np.ndarray, rng: np.random.Generator, weights: str, sampler: str,
                 cancelled: Callable[[], bool] = lambda: False) -> np.ndarray | None:
    """W·Q for W ~ N(0, 1/d) i.i.d. (gaussian) or Haar orthogonal; ``reduced`` samples
    W·Q directly from its exact law (see module docstring). None if cancelled. (A chain
    of full Gaussian layers uses :class:`GaussianWeights`, which draws ahead.)"""
    d, m = Q.shape
    if sampler == "reduced":
        if weights == "gaussian":
            return rng.standard_normal((d, m)) / np.sqrt(d)
        return haar_orthogonal(rng, d, m)
    if weights == "orthogonal":
        return haar_apply(Q, rng, cancelled=cancelled)
    return gaussian_image(Q, rng)


def gram_logdet(M: np.ndarray) -> float | None:
    """log det MᵀM = 2 Σ log L_ii for the Cholesky factor L Lᵀ = MᵀM (m×m, LAPACK); None
    if MᵀM is not numerically positive definite. Relative accuracy ≈ κ(M)²·ε: meant
    for well-conditioned M (the callers' QR is the fallback)."""
    try:
        L = np.linalg.cholesky(M.T @ M)
    except np.linalg.LinAlgError:
        return None
    return 2.0 * sum_log_abs_diag(L)


def refactor(M: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """M = Q'R' (thin QR); returns Q', R' and 2 Σ log|r'_ii| = log det MᵀM."""
    q, r = np.linalg.qr(M)
    return q, r, 2.0 * sum_log_abs_diag(r)
