"""Closed forms for balanced deep linear networks (DLN), pure NumPy/SciPy.

Notation (source: dln-riemannian-geometry-thesis): factors W_1…W_N ∈ R^{d×d}, end-to-end
X = W_N⋯W_1 = U Σ Vᵀ, σ_1…σ_d > 0 its singular values. ``depth`` is N (an int) or
``math.inf``.

Operator (2.19)/(4.1):  A_{N,X}(Z) = Σ_{p=1}^N (XXᵀ)^{(N−p)/N} Z (XᵀX)^{(p−1)/N}, with
eigenvectors u_i v_jᵀ and eigenvalues
    λ_ij^N = Σ_p σ_i^{2(N−p)/N} σ_j^{2(p−1)/N} = (σ_i² − σ_j²)/(σ_i^{2/N} − σ_j^{2/N}),
    λ_ii^N = N σ_i^{2−2/N}.
"Normalised" means A_N/N; its N → ∞ limit has the log-mean eigenvalues
    λ_ij^∞ = (σ_i² − σ_j²)/(log σ_i² − log σ_j²),  λ_ii^∞ = σ_i².
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import comb

Depth = float  # an int N ≥ 1, or math.inf

# ----------------------------------------------------------------------------- basics


def is_inf(depth: Depth) -> bool:
    """True for the infinite-depth limit."""
    return math.isinf(depth)


def random_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """Haar-distributed Q ∈ O_d: QR of a Gaussian matrix with the sign fix R_ii > 0."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def sinhc(x: np.ndarray) -> np.ndarray:
    """sinh(x)/x, with the Taylor series 1 + x²/6 + x⁴/120 near 0."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-3
    xs = np.where(small, 1.0, x)
    return np.where(small, 1 + x * x / 6 + x ** 4 / 120, np.sinh(xs) / xs)


def log_mean(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logarithmic mean (x − y)/(log x − log y) = √(xy)·sinhc(r/2), r = log(x/y); = x at x = y."""
    r = np.log(x) - np.log(y)
    return np.sqrt(x * y) * sinhc(r / 2)


def lambda_matrix(s: np.ndarray, depth: Depth, normalised: bool = False) -> np.ndarray:
    """Eigenvalues λ_ij of A_{N,X} for singular values s (last axis; batches allowed).

    Finite N: λ_ij = Σ_{p=1}^N σ_i^{2(N−p)/N} σ_j^{2(p−1)/N} (a sum, no 0/0 at σ_i = σ_j),
    divided by N if ``normalised``. N = ∞: the log-mean λ_ij^∞ (always normalised)."""
    s = np.asarray(s, dtype=float)
    x, y = (s ** 2)[..., :, None], (s ** 2)[..., None, :]
    if is_inf(depth):
        return log_mean(x, y)
    n = int(depth)
    p = np.arange(1, n + 1)
    lam = np.sum(x[..., None] ** ((n - p) / n) * y[..., None] ** ((p - 1) / n), axis=-1)
    return lam / n if normalised else lam


def l_matrix(s: np.ndarray, depth: Depth, normalised: bool = False) -> np.ndarray:
    """L_N(Σ)_ij = λ_ij/(σ_i² − σ_j²) (i ≠ j), 0 on the diagonal (4.16).

    Finite N: 1/(σ_i^{2/N} − σ_j^{2/N}) (÷N if normalised); N = ∞: 1/(log σ_i² − log σ_j²).
    Requires distinct singular values."""
    s = np.asarray(s, dtype=float)
    if is_inf(depth):
        f = np.log(s ** 2)
        scale = 1.0
    else:
        f = s ** (2.0 / depth)
        scale = 1.0 / depth if normalised else 1.0
    diff = f[:, None] - f[None, :]
    np.fill_diagonal(diff, np.inf)
    return scale / diff


def apply_a(x: np.ndarray, z: np.ndarray, depth: Depth, normalised: bool = False) -> np.ndarray:
    """A_{N,X}(Z) = U (λ ∘ UᵀZV) Vᵀ through one SVD of X (batches allowed)."""
    u, s, vt = np.linalg.svd(x)
    g = np.swapaxes(u, -1, -2) @ z @ np.swapaxes(vt, -1, -2)
    return u @ (lambda_matrix(s, depth, normalised) * g) @ vt


def metric(x: np.ndarray, z: np.ndarray, depth: Depth) -> np.ndarray:
    """g^N_X(Z, Z) = ⟨Z, A_{N,X}^{−1}(Z)⟩ = Σ_kl (u_kᵀ Z v_l)²/λ_kl (2.18); raw A for finite N,
    normalised A_∞ for N = ∞. Batched over leading axes."""
    u, s, vt = np.linalg.svd(x)
    g = np.swapaxes(u, -1, -2) @ z @ np.swapaxes(vt, -1, -2)
    return np.sum(g * g / lambda_matrix(s, depth), axis=(-2, -1))


def balanced_lift(x: np.ndarray, n: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Balanced factors over X = UΣVᵀ (2.6): W_1 = Q_1Σ^{1/N}Vᵀ, W_p = Q_pΣ^{1/N}Q_{p−1}ᵀ,
    W_N = UΣ^{1/N}Q_{N−1}ᵀ; Q_p = I, or Haar-random when ``rng`` is given."""
    u, s, vt = np.linalg.svd(x)
    d = x.shape[0]
    qs = [vt.T] + [random_orthogonal(d, rng) if rng is not None else np.eye(d)
                   for _ in range(n - 1)] + [u]
    root = np.diag(s ** (1.0 / n))
    return [qs[p] @ root @ qs[p - 1].T for p in range(1, n + 1)]


def balance_error(ws: list[np.ndarray]) -> float:
    """max_p ‖W_pW_pᵀ − W_{p+1}ᵀW_{p+1}‖_F (0 on the balanced manifold, conserved by (1.6))."""
    errs = [np.linalg.norm(ws[p] @ ws[p].T - ws[p + 1].T @ ws[p + 1]) for p in range(len(ws) - 1)]
    return float(max(errs, default=0.0))


def relative_imbalance(ws: list[np.ndarray]) -> float:
    """max_p ‖W_pW_pᵀ − W_{p+1}ᵀW_{p+1}‖_F / ‖W_pW_pᵀ‖_F: scale-free distance from the
    balanced manifold (Remark 2.1.3 calls iid N(0, σ²) factors nearly balanced; for
    them this is ≈ 1 at every σ and d)."""
    errs = [np.linalg.norm(ws[p] @ ws[p].T - ws[p + 1].T @ ws[p + 1])
            / np.linalg.norm(ws[p] @ ws[p].T) for p in range(len(ws) - 1)]
    return float(max(errs, default=0.0))


def g_pair(si: float, sj: float) -> float:
    """g(σ_i, σ_j) = σ_i/(σ_i² − σ_j²) − σ_i⁻¹/(log σ_i² − log σ_j²) (4.56), σ_i ≠ σ_j:
    the pair term of ∂S_∞/∂σ_i. Lemma 4.3.6(2) claims g(σ_i, σ_j) > g(σ_j, σ_i) for
    σ_i > σ_j; the opposite holds (g(2, 1) = 0.306 < g(1, 2) = 0.388)."""
    return si / (si * si - sj * sj) - 1.0 / (si * (math.log(si * si) - math.log(sj * sj)))


def end_to_end(ws: list[np.ndarray]) -> np.ndarray:
    """X = W_N ⋯ W_1."""
    x = ws[0]
    for w in ws[1:]:
        x = w @ x
    return x


def effective_rank(s: np.ndarray) -> np.ndarray:
    """Effective rank (4.23): exp(−Σ q_i log q_i), q_i = σ_i/Σ_j σ_j (last axis)."""
    q = np.asarray(s, dtype=float)
    q = q / np.sum(q, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0)
    return np.exp(-np.sum(h, axis=-1))


# ----------------------------------------------------------------------------- energies


@dataclass(frozen=True)
class Energy:
    """The energies of the source's §4.

    * ``completion-diag``: E = Σ_i (X_ii − 1)² (4.21, any d), dE = 2 diag(X_ii − 1).
    * ``completion``:      E = ½ Σ_{(i,j)∈I} (X_ij − ℓ_ij)² (4.24), dE = 1_I ∘ (X − ℓ).
    * ``quadratic``:       E = ½ ‖X − T‖_F², dE = X − T.
    """

    kind: str
    target: np.ndarray  # ℓ or T (the identity for completion-diag)
    mask: np.ndarray  # 1_I (the identity's support for completion-diag)

    def value(self, x: np.ndarray) -> float:
        r = self.mask * (x - self.target)
        c = 1.0 if self.kind == "completion-diag" else 0.5
        return float(c * np.sum(r * r))

    def grad(self, x: np.ndarray) -> np.ndarray:
        c = 2.0 if self.kind == "completion-diag" else 1.0
        return c * self.mask * (x - self.target)


def make_energy(kind: str, d: int, rng: np.random.Generator, sparsity: int = 0) -> Energy:
    """Draw an energy: ℓ ~ U[−2, 2] on K = ``sparsity`` random entries (completion),
    T ~ N(0, 1) entries (quadratic), or the diagonal target I (completion-diag)."""
    if kind == "completion-diag":
        return Energy(kind, np.eye(d), np.eye(d))
    if kind == "completion":
        mask = np.zeros(d * d)
        mask[rng.choice(d * d, size=sparsity, replace=False)] = 1.0
        return Energy(kind, rng.uniform(-2.0, 2.0, (d, d)), mask.reshape(d, d))
    if kind == "quadratic":
        return Energy(kind, rng.standard_normal((d, d)), np.ones((d, d)))
    raise ValueError(f"unknown energy {kind!r}")


# ----------------------------------------------------------------------------- entropy


def phi(r: np.ndarray) -> np.ndarray:
    """φ(r) = 1/(1 − e^{−r}) − 1/r, φ(0) = ½; series ½ + r/12 − r³/720 + r⁵/30240 for |r| < 1e-2."""
    r = np.asarray(r, dtype=float)
    small = np.abs(r) < 1e-2
    rs = np.where(small, 1.0, r)
    big = -1.0 / np.expm1(-rs) - 1.0 / rs
    return np.where(small, 0.5 + r / 12 - r ** 3 / 720 + r ** 5 / 30240, big)


def entropy(s: np.ndarray, depth: Depth) -> float:
    """Entropy = log fibre volume (4.27–4.28):
    S_N = ½ Σ_{j<k} log[(σ_j² − σ_k²)/(σ_j^{2/N} − σ_k^{2/N})] = ½ Σ_{j<k} log λ_jk^N,
    S_∞ = ½ Σ_{j<k} log[(σ_j² − σ_k²)/(log σ_j² − log σ_k²)] = ½ Σ_{j<k} log λ_jk^∞."""
    lam = lambda_matrix(s, depth)
    j, k = np.triu_indices(len(s), 1)
    return float(0.5 * np.sum(np.log(lam[j, k])))


def entropy_vandermonde(s: np.ndarray) -> float:
    """S_∞ = log √(van(Σ²)/van(log Σ²)) (4.29), van(x) = Π_{j<k} |x_j − x_k|."""
    x = np.asarray(s, dtype=float) ** 2
    j, k = np.triu_indices(len(x), 1)
    return float(0.5 * (np.sum(np.log(np.abs(x[j] - x[k])))
                        - np.sum(np.log(np.abs(np.log(x[j]) - np.log(x[k]))))))


def entropy_grad(s: np.ndarray, depth: Depth) -> np.ndarray:
    """∂S/∂σ_i = Σ_{j≠i} g_N(σ_i, σ_j) (4.36–4.37 corrected), with r = log σ_i² − log σ_j²:
    g_∞ = σ_i/(σ_i² − σ_j²) − σ_i^{−1}/(log σ_i² − log σ_j²) = φ(r)/σ_i,
    g_N = σ_i/(σ_i² − σ_j²) − σ_i^{(2−N)/N}/(N(σ_i^{2/N} − σ_j^{2/N})) = (φ(r) − φ(r/N)/N)/σ_i.
    Smooth at σ_i = σ_j: g → (½ − 1/(2N))/σ_i (4.57)."""
    s = np.asarray(s, dtype=float)
    r = np.log(s ** 2)[:, None] - np.log(s ** 2)[None, :]
    g = phi(r) if is_inf(depth) else phi(r) - phi(r / depth) / depth
    np.fill_diagonal(g, 0.0)
    return g.sum(axis=1) / s


def entropy_grad_plain(s: np.ndarray, depth: Depth) -> np.ndarray:
    """∂S/∂σ_i written as printed (corrected 4.36/4.37), term by term (distinct σ only)."""
    s = np.asarray(s, dtype=float)
    si, sj = s[:, None], s[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        first = si / (si ** 2 - sj ** 2)
        if is_inf(depth):
            second = 1.0 / (si * (np.log(si ** 2) - np.log(sj ** 2)))
        else:
            second = si ** ((2 - depth) / depth) / (depth * (si ** (2 / depth) - sj ** (2 / depth)))
        g = first - second
    np.fill_diagonal(g, 0.0)
    return g.sum(axis=1)


def entropy_scaling_shift(d: int, depth: Depth, a: float) -> float:
    """S(aX) − S(X) = C(d,2)(1 − 1/N) log a (4.31), C(d,2) log a for N = ∞ (4.32); a > 0."""
    factor = 1.0 if is_inf(depth) else 1.0 - 1.0 / depth
    return float(comb(d, 2, exact=True) * factor * math.log(a))


def sigma_equilibrium(d: int, p: float, beta: float, depth: Depth) -> float:
    """Isotropic equilibrium of F_β = (1/p)Σσ_i^p − S/β (Thm 4.3.7 via its proof 4.75):
    σ^{p−1} = (1/β)∂S/∂σ_i = (d − 1)(½ − 1/(2N))/(βσ) ⇒ σ = ((d − 1)(1 − 1/N)/(2β))^{1/p};
    N = ∞: ((d − 1)/(2β))^{1/p}."""
    factor = 1.0 if is_inf(depth) else 1.0 - 1.0 / depth
    return float(((d - 1) * factor / (2.0 * beta)) ** (1.0 / p))


def sigma_source_statement(d: int, p: float, beta: float) -> float:
    """The value printed in the statement of Thm 4.3.7 (4.70): ((d − 1)/β)^{1/p} (drops the 2)."""
    return float(((d - 1) / beta) ** (1.0 / p))


# ----------------------------------------------------------------------------- geodesics


def _sym_fun(s: np.ndarray, f) -> np.ndarray:
    """f(S) = Q f(Λ) Qᵀ for symmetric S (eigh)."""
    w, q = np.linalg.eigh(s)
    return (q * f(w)) @ q.T


def spd_sqrt(s: np.ndarray) -> np.ndarray:
    """Principal square root of a symmetric positive semi-definite matrix."""
    return _sym_fun(s, lambda w: np.sqrt(np.clip(w, 0.0, None)))


def bw_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bures–Wasserstein distance: d² = tr A + tr B − 2 tr (A^{1/2} B A^{1/2})^{1/2}."""
    ra = spd_sqrt(a)
    d2 = np.trace(a) + np.trace(b) - 2.0 * np.trace(spd_sqrt(ra @ b @ ra))
    return float(math.sqrt(max(d2, 0.0)))


def bw_factor_path(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(M_0, M_1) with X(t) = M(t)M(t)ᵀ, M(t) = (1 − t)A^{1/2} + t B^{1/2}U_p, U_p the orthogonal
    polar factor of B^{1/2}A^{1/2} (so that B^{1/2}U_p(A^{1/2}) is symmetric PSD)."""
    ra, rb = spd_sqrt(a), spd_sqrt(b)
    w, _, zt = np.linalg.svd(rb @ ra)
    up = w @ zt
    return ra, rb @ up


def bw_geodesic(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BW geodesic (3.15) X(t) = (1−t)²A + t²B + t(1−t)[(AB)^{1/2} + (BA)^{1/2}] and Ẋ(t),
    evaluated as M(t)M(t)ᵀ (see :func:`bw_factor_path`). Returns arrays (len(t), d, d)."""
    m0, m1 = bw_factor_path(a, b)
    t = np.asarray(t, dtype=float)[:, None, None]
    m = (1 - t) * m0 + t * m1
    dm = m1 - m0
    mt = np.swapaxes(m, -1, -2)
    return m @ mt, dm @ mt + m @ dm.T


def diagonal_geodesic(a: np.ndarray, b: np.ndarray, depth: Depth,
                      t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cor 3.4.2.1, A = diag(a), B = diag(b) > 0: γ(t) = ((1−t)A^{1/N} + tB^{1/N})^N,
    γ̇ = N M^{N−1}(B^{1/N} − A^{1/N}); N = ∞: γ = exp((1−t) log A + t log B), γ̇ = γ log(B/A).
    Returns the diagonals' matrices (len(t), d, d)."""
    t = np.asarray(t, dtype=float)[:, None]
    if is_inf(depth):
        g = np.exp((1 - t) * np.log(a) + t * np.log(b))
        dg = g * np.log(b / a)
    else:
        n = int(depth)
        m = (1 - t) * a ** (1 / n) + t * b ** (1 / n)
        g = m ** n
        dg = n * m ** (n - 1) * (b ** (1 / n) - a ** (1 / n))
    eye = np.eye(len(a))
    return g[:, :, None] * eye, dg[:, :, None] * eye


def rotated_closed_form(u: np.ndarray, s: np.ndarray, v: np.ndarray, q: np.ndarray,
                        s_tilde: np.ndarray, depth: Depth,
                        t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thm 3.4.2 (3.76) for A = UΣVᵀ, B = (UQ)Σ̃(VQ)ᵀ, simplified:
    γ(t) = U M(t)^N Vᵀ, M(t) = (1 − t)Σ^{1/N} + t QΣ̃^{1/N}Qᵀ (symmetric), and
    γ̇ = U Σ_{k=0}^{N−1} M^k C M^{N−1−k} Vᵀ with C = QΣ̃^{1/N}Qᵀ − Σ^{1/N};
    N = ∞: γ = U exp((1 − t) log Σ + t Q log Σ̃ Qᵀ) Vᵀ, γ̇ by a central difference of exp.
    A geodesic only if QΣ̃Qᵀ commutes with Σ (see the experiment's description)."""
    t = np.asarray(t, dtype=float)
    if is_inf(depth):
        la, lb = np.diag(np.log(s)), q @ np.diag(np.log(s_tilde)) @ q.T
        def path(tt):
            return np.array([u @ _sym_fun((1 - x) * la + x * lb, np.exp) @ v.T for x in tt])
        h = 1e-5
        return path(t), (path(t + h) - path(t - h)) / (2 * h)
    n = int(depth)
    m0, m1 = np.diag(s ** (1 / n)), q @ np.diag(s_tilde ** (1 / n)) @ q.T
    c = m1 - m0
    gam, dgam = [], []
    for x in t:
        m = (1 - x) * m0 + x * m1
        powers = [np.eye(len(s))]
        for _ in range(n):
            powers.append(powers[-1] @ m)
        gam.append(u @ powers[n] @ v.T)
        dgam.append(u @ sum(powers[k] @ c @ powers[n - 1 - k] for k in range(n)) @ v.T)
    return np.array(gam), np.array(dgam)
