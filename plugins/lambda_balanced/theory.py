"""Closed forms for λ-balanced two-layer linear networks (pure NumPy).

Notation (shared notes `lambda-balanced.md`): inputs whitened (Σxx = I), Σ = Σyx = Ũ S̃ Ṽᵀ,
W1 ∈ R^{nh×ni}, W2 ∈ R^{no×nh}, loss L = ½‖W2W1 − Σ‖²_F (realisable task, constant dropped).
Gradient flow τ dW1/dt = W2ᵀ(Σ − W2W1), τ dW2/dt = (Σ − W2W1)W1ᵀ; GD with step η is this flow
with τ = 1/η sampled at t = step index, so every function below takes the *reduced* time
u = t/τ (= step·η).  B(W1, W2) = W2ᵀW2 − W1W1ᵀ is conserved by the flow; λ-balanced ⇔ B = λI.
Q = [W1ᵀ; W2] ((ni+no)×nh), QQᵀ = [[W1ᵀW1, W1ᵀW2ᵀ], [W2W1, W2W2ᵀ]].

Where the printed source (thesis) is wrong, the docstring says so; the corrected forms are
the ones implemented and checked against `scipy.integrate.solve_ivp` in the tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

SCHEMES = ("LeCun", "Glorot", "He", "Scaled")


# ----------------------------------------------------------------------------------------
# Feasibility and construction (Thm 3.4.1 corrected; Algorithm 1 / 2 corrected)
# ----------------------------------------------------------------------------------------
def feasibility_error(n_in: int, n_hidden: int, n_out: int, lam: float) -> str | None:
    """Return why B = λI is impossible for these dims, or None if it is feasible.

    B = W2ᵀW2 − W1W1ᵀ = λI (nh×nh).  λ > 0 ⇒ W2ᵀW2 = W1W1ᵀ + λI is positive definite, so
    rank W2 = nh ⇒ nh ≤ no.  λ < 0 ⇒ W1W1ᵀ positive definite ⇒ nh ≤ ni.  λ = 0: always
    feasible.  These are also sufficient (:func:`balanced_weights` constructs the weights).
    The thesis (Thm 3.4.1(2)) states "no > ni ⇒ λ > 0", which wrongly rejects e.g.
    (ni, nh, no) = (3, 3, 5) with λ = −0.7 (nh = ni, so nothing forces λ > 0); its extra
    requirement nh ≥ min(ni, no) is only an assumption of its Algorithm 1.
    """
    if lam > 0 and n_hidden > n_out:
        return (f"infeasible: λ = {lam} > 0 requires n_hidden ≤ n_out (W2ᵀW2 = W1W1ᵀ + λI must "
                f"have full rank n_hidden), but n_hidden = {n_hidden} > n_out = {n_out}")
    if lam < 0 and n_hidden > n_in:
        return (f"infeasible: λ = {lam} < 0 requires n_hidden ≤ n_in (W1W1ᵀ = W2ᵀW2 + |λ|I must "
                f"have full rank n_hidden), but n_hidden = {n_hidden} > n_in = {n_in}")
    return None


def equal_split(s: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-mode factors (c, d) with c·d = s and d² − c² = λ.

    d² = (√(λ² + 4s²) + λ)/2, c² = (√(λ² + 4s²) − λ)/2 (S2_eq, S1_eq of Algorithm 1).
    c² is computed as 2s²/(√(λ²+4s²)+λ) for λ > 0 (and d² likewise for λ < 0) to avoid
    cancellation when |λ| ≫ s.
    """
    s = np.asarray(s, dtype=float)
    r = np.sqrt(lam * lam + 4.0 * s * s)
    if lam >= 0:
        d2 = (r + lam) / 2.0
        c2 = np.divide(2.0 * s * s, r + lam, out=np.zeros_like(s), where=(r + lam) > 0)
    else:
        c2 = (r - lam) / 2.0
        d2 = 2.0 * s * s / (r - lam)
    return np.sqrt(c2), np.sqrt(d2)


def haar_orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    """A Haar-distributed n×n orthogonal matrix (QR of a Gaussian, sign-fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def balanced_from_svd(u: np.ndarray, s: np.ndarray, v: np.ndarray, n_hidden: int, lam: float,
                      r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """λ-balanced (W1, W2) with W2W1 = U diag(s) V_mᵀ (corrected Algorithm 1, any dims).

    u: no×no orthogonal, v: ni×ni orthogonal, s: the m = min(ni, nh, no) product singular
    values, r: nh×nh orthogonal.  S2 (no×nh), S1 (nh×ni) are zero except
      S2[j,j] = d_j, S1[j,j] = c_j            for j < m     (d² − c² = λ, c·d = s_j),
      S2[j,j] = √λ                            for m ≤ j < nh if λ > 0 (needs nh ≤ no),
      S1[j,j] = √(−λ)                         for m ≤ j < nh if λ < 0 (needs nh ≤ ni),
    and W2 = U S2 Rᵀ, W1 = R S1 Vᵀ, so W2ᵀW2 − W1W1ᵀ = R(S2ᵀS2 − S1S1ᵀ)Rᵀ = λI.
    (Thm 4.1.1 prints the extra block as −√|λ| I_{max(0, no−ni)} — wrong sign and size.)
    """
    n_out, n_in = u.shape[0], v.shape[0]
    m = len(s)
    c, d = equal_split(s, lam)
    s2 = np.zeros((n_out, n_hidden))
    s1 = np.zeros((n_hidden, n_in))
    idx = np.arange(m)
    s2[idx, idx] = d
    s1[idx, idx] = c
    extra = np.arange(m, n_hidden)
    if lam > 0:
        s2[extra, extra] = math.sqrt(lam)
    elif lam < 0:
        s1[extra, extra] = math.sqrt(-lam)
    return r @ s1 @ v.T, u @ s2 @ r.T


def gaussian_product_svd(rng: np.random.Generator, n_in: int, n_hidden: int, n_out: int,
                         sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw W1, W2 iid N(0, σ²) and return the full SVD of W2W1: U (no×no), the
    m = min(ni, nh, no) leading singular values, V (ni×ni)."""
    w1 = sigma * rng.standard_normal((n_hidden, n_in))
    w2 = sigma * rng.standard_normal((n_out, n_hidden))
    u, s, vt = np.linalg.svd(w2 @ w1)
    return u, s[:min(n_in, n_hidden, n_out)], vt.T


def balanced_weights(rng: np.random.Generator, n_in: int, n_hidden: int, n_out: int,
                     lam: float, sigma: float, u_target: np.ndarray | None = None,
                     v_target: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Algorithm 1 (and Algorithm 2 when u_target, v_target are given), corrected.

    Draw W1, W2 iid N(0, σ²), SVD W2W1 = U S Vᵀ (m = min(ni, nh, no) nonzero values), draw a
    Haar R, and rebuild with :func:`balanced_from_svd`, so W2W1 keeps the drawn singular
    values and B = λI exactly.  Aligned variant: U, V are replaced by the task's Ũ, Ṽ.
    Raises ValueError (the feasibility rule) when (dims, λ) is infeasible.
    """
    why = feasibility_error(n_in, n_hidden, n_out, lam)
    if why:
        raise ValueError(why)
    u, s, v = gaussian_product_svd(rng, n_in, n_hidden, n_out, sigma)
    u = u if u_target is None else u_target
    v = v if v_target is None else v_target
    return balanced_from_svd(u, s, v, n_hidden, lam, haar_orthogonal(rng, n_hidden))


def source_rule_accepts(n_in: int, n_hidden: int, n_out: int, lam: float) -> bool:
    """The thesis' feasibility rule (Thm 3.4.1 / Algorithm 1, as printed): for λ ≠ 0,
    min(ni, no) ≤ nh ≤ max(ni, no), no > ni ⇒ λ > 0 and ni > no ⇒ λ < 0."""
    if lam == 0:
        return True
    if not min(n_in, n_out) <= n_hidden <= max(n_in, n_out):
        return False
    return not ((n_out > n_in and lam < 0) or (n_in > n_out and lam > 0))


def balance(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """B(W1, W2) = W2ᵀW2 − W1W1ᵀ (nh×nh; Thm 2.2.1's proof writes W2W2ᵀ — a typo)."""
    return w2.T @ w2 - w1 @ w1.T


def best_fit_lambda(b: np.ndarray) -> float:
    """λ* = argmin_λ ‖B − λI‖_F = Tr(B)/nh (Thm 4.5.1's statement drops the 1/nh)."""
    return float(np.trace(b) / b.shape[0])


# ----------------------------------------------------------------------------------------
# Aligned dynamics (eq 2.28 for λ = 0; corrected eq 3.2/3.19 for λ ≠ 0)
# ----------------------------------------------------------------------------------------
def aligned_a(u: float | np.ndarray, s: np.ndarray, a0: np.ndarray, lam: float) -> np.ndarray:
    """Mode strengths a_α(u) of an aligned λ-balanced net, u = t/τ; solves
    da/du = √(λ² + 4a²)(s − a)  (eq 3.9), a(0) = a0 ≥ 0, s > 0.

    λ = 0 (eq 2.28): a = s e^{2su} / (e^{2su} − 1 + s/a0) (a0 = 0 stays 0).
    λ ≠ 0 (corrected; μ = |λ|, a = (μ/2) sinh θ, w = tanh(θ/2)):
      K = √(μ² + 4s²), w0 = 2a0/(√(μ² + 4a0²) + μ), C0 = (K + μ + 2s w0)/(K − μ − 2s w0),
      Ê = C0 e^{Ku},  w = [K(Ê − 1) − μ(Ê + 1)] / [2s(Ê + 1)],  a = μ w/(1 − w²).
    The printed eq 3.2 uses λ instead of |λ| in C0 and the exponent: wrong for λ < 0.
    Evaluated with 1/Ê = e^{−Ku}/C0 so large u does not overflow (w → (K − μ)/(2s), a → s).
    """
    s = np.asarray(s, dtype=float)
    a0 = np.asarray(a0, dtype=float)
    u = np.asarray(u, dtype=float)[..., None] if np.ndim(u) else float(u)
    if lam == 0.0:
        decay = np.exp(-2.0 * s * u)
        with np.errstate(divide="ignore"):
            ratio = np.where(a0 > 0, s / np.where(a0 > 0, a0, 1.0), np.inf)
        return np.where(a0 > 0, s / (1.0 + (ratio - 1.0) * decay), 0.0)
    mu = abs(lam)
    k = np.sqrt(mu * mu + 4.0 * s * s)
    w0 = 2.0 * a0 / (np.sqrt(mu * mu + 4.0 * a0 * a0) + mu)
    c0 = (k + mu + 2.0 * s * w0) / (k - mu - 2.0 * s * w0)
    inv_e = np.exp(-k * u) / c0
    w = (k * (1.0 - inv_e) - mu * (1.0 + inv_e)) / (2.0 * s * (1.0 + inv_e))
    return mu * w / (1.0 - w * w)


def aligned_a_source(u: float | np.ndarray, s: np.ndarray, a0: np.ndarray,
                     lam: float) -> np.ndarray:
    """Eqs 3.2 + 3.19 exactly as printed (λ ≠ 0): K = √(λ² + 4s²),
      C = (K + λ + 4a0 s sgn(λ)/(√(λ²+4a0²) + λ)) / (K − λ − 4a0 s sgn(λ)/(√(λ²+4a0²) + λ)),
      w = [K(Ce^{Ku} − 1) − λ(Ce^{Ku} + 1)] / [2s(Ce^{Ku} + 1)],  a = λ w/(1 − w²).
    Equals :func:`aligned_a` for λ > 0 and is wrong for λ < 0 (kept to show the disagreement)."""
    s = np.asarray(s, dtype=float)
    a0 = np.asarray(a0, dtype=float)
    u = np.asarray(u, dtype=float)[..., None] if np.ndim(u) else float(u)
    k = np.sqrt(lam * lam + 4.0 * s * s)
    w0 = 2.0 * a0 * np.sign(lam) / (np.sqrt(lam * lam + 4.0 * a0 * a0) + lam)
    c0 = (k + lam + 2.0 * s * w0) / (k - lam - 2.0 * s * w0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        inv_e = np.exp(-k * u) / c0
        w = (k * (1.0 - inv_e) - lam * (1.0 + inv_e)) / (2.0 * s * (1.0 + inv_e))
        return lam * w / (1.0 - w * w)


# ----------------------------------------------------------------------------------------
# Unaligned dynamics of QQᵀ
# ----------------------------------------------------------------------------------------
def f_matrix(sigma: np.ndarray, lam: float) -> np.ndarray:
    """F = [[−λ/2 I_ni, Σᵀ], [Σ, λ/2 I_no]] ((ni+no)×(ni+no); the thesis mis-sizes it)."""
    n_out, n_in = sigma.shape
    return np.block([[-lam / 2.0 * np.eye(n_in), sigma.T], [sigma, lam / 2.0 * np.eye(n_out)]])


def qq_of(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """QQᵀ with Q = [W1ᵀ; W2]."""
    q = np.vstack([w1.T, w2])
    return q @ q.T


class RiccatiQQ:
    """Riccati solution of τ d(QQᵀ)/dt = F QQᵀ + QQᵀF − (QQᵀ)² (Thm 2.2.4/3.3.1(1)), any dims:
      QQᵀ(u) = e^{Fu} Q0 [I_nh + ½ Q0ᵀ(e^{Fu}F⁻¹e^{Fu} − F⁻¹)Q0]⁻¹ Q0ᵀ e^{Fu}.
    Evaluated in F's eigenbasis F = O diag(f) Oᵀ (computed once per trajectory), where
    e^{Fu}F⁻¹e^{Fu} − F⁻¹ = O diag((e^{2fu} − 1)/f) Oᵀ, whose f → 0 limit 2u makes it valid for
    singular F too.  Needs Q0 of full column rank.  It multiplies e^{+Ku} by e^{−2Ku}-sized
    inverses, so it loses accuracy and finally overflows for large K·u: a call returns an
    all-NaN matrix once any e^{fu} is not finite or the error estimate ε·cond(bracket)
    exceeds 1e-6 (measured: the actual error vs the ODE is 0.01–0.1× this estimate; the
    estimate passes 1e-6 near K_max·u ≈ 15).  Callers report the NaN; this form is a
    cross-check, not the main path.
    """

    max_error_estimate = 1e-6

    def __init__(self, w1: np.ndarray, w2: np.ndarray, sigma: np.ndarray, lam: float) -> None:
        self.f, self.o = np.linalg.eigh(f_matrix(sigma, lam))
        self.q0 = self.o.T @ np.vstack([w1.T, w2])

    def __call__(self, u: float) -> np.ndarray:
        f, o, q0 = self.f, self.o, self.q0
        nan = np.full((len(f), len(f)), np.nan)
        with np.errstate(over="ignore", invalid="ignore"):
            growth = np.exp(f * u)
            phi = np.where(np.abs(f * u) > 1e-12,
                           np.expm1(2.0 * f * u) / np.where(f == 0, 1.0, f), 2.0 * u)
            if not (np.all(np.isfinite(growth)) and np.all(np.isfinite(phi))):
                return nan
            y = growth[:, None] * q0
            mid = np.eye(q0.shape[1]) + 0.5 * q0.T @ (phi[:, None] * q0)
            if np.finfo(float).eps * np.linalg.cond(mid) > self.max_error_estimate:
                return nan
            try:
                qq = o @ (y @ np.linalg.solve(mid, y.T)) @ o.T
            except np.linalg.LinAlgError:  # numerically singular bracket: same breakdown
                return nan
        return qq if np.all(np.isfinite(qq)) else nan


def qq_riccati(w1: np.ndarray, w2: np.ndarray, sigma: np.ndarray, lam: float,
               u: float) -> np.ndarray:
    """QQᵀ(u) from the Riccati form (see :class:`RiccatiQQ`)."""
    return RiccatiQQ(w1, w2, sigma, lam)(u)


class StableQQ:
    """Stable closed form (Thm 3.3.1(3), corrected) for ni = nh = no = n, Σ = ŨS̃Ṽᵀ full rank:
      K = √(S̃² + λ²/4), X = λ/(√(λ²+4S̃²) + 2S̃), A = (I + X²)^{−1/2}, P± = A ± XA,
      B = W2ᵀŨP₊ + W1ṼP₋, C = W2ᵀŨP₋ − W1ṼP₊   (the thesis' R-rotated B, C — QQᵀ is
      invariant under W1 → RᵀW1, W2 → W2R, so no SVD of the initial weights is needed),
      E = e^{−Ku}, G = E CᵀB⁻ᵀ E, Z = [Ṽ(P₋ − P₊G); Ũ(P₊ + P₋G)],
      M = 4E B⁻¹B⁻ᵀ E + (I − E²)K⁻¹ + E B⁻¹C (I − E²)K⁻¹ CᵀB⁻ᵀ E,
      QQᵀ(u) = Z M⁻¹ Zᵀ.
    The thesis (Thm 3.3.1, eq 2.30) prints Z M Zᵀ without the inverse (errors of 3–900 in the
    notes); it calls the form undefined at λ = 0, avoided by the rationalised X.  Only
    decaying exponentials appear, so it is accurate for all u.  The u-independent parts
    (SVD of Σ, B⁻¹, CᵀB⁻ᵀ, B⁻¹B⁻ᵀ) are computed once per trajectory.  B must be invertible
    (Assumption 2.2.1); otherwise ValueError.  This fails on a set of positive measure at
    λ = 0: exactly balanced weights with det(UᵀŨ·ṼᵀV) = −1 make B singular (a mode starts
    anti-aligned and the flow stalls at a saddle), and B is ill-conditioned for small |λ|.
    """

    def __init__(self, w1: np.ndarray, w2: np.ndarray, sigma: np.ndarray, lam: float) -> None:
        ut, st, vt = np.linalg.svd(sigma)
        self.ut, self.v_t = ut, vt.T
        self.k = np.sqrt(st * st + lam * lam / 4.0)
        x = lam / (np.sqrt(lam * lam + 4.0 * st * st) + 2.0 * st)
        a = 1.0 / np.sqrt(1.0 + x * x)
        self.pp, self.pm = a + x * a, a - x * a
        b = w2.T @ ut * self.pp + w1 @ self.v_t * self.pm
        c = w2.T @ ut * self.pm - w1 @ self.v_t * self.pp
        if np.linalg.cond(b) > 1e10:
            raise ValueError("B = W2ᵀŨP₊ + W1ṼP₋ is singular (Assumption 2.2.1 fails)")
        binv = np.linalg.inv(b)
        self.ctbt = c.T @ binv.T
        self.bbt = binv @ binv.T

    def __call__(self, u: float) -> np.ndarray:
        z, m = self._zm(u)
        return z @ np.linalg.solve(m, z.T)

    def source_form(self, u: float) -> np.ndarray:
        """Z M Zᵀ, the form as the thesis prints it (Thm 3.3.1, eq 2.30: M⁻¹ missing)."""
        z, m = self._zm(u)
        return z @ m @ z.T

    def _zm(self, u: float) -> tuple[np.ndarray, np.ndarray]:
        e = np.exp(-self.k * u)
        g = e[:, None] * self.ctbt * e[None, :]
        z = np.vstack([self.v_t @ (np.diag(self.pm) - self.pp[:, None] * g),
                       self.ut @ (np.diag(self.pp) + self.pm[:, None] * g)])
        one_minus = (1.0 - e * e) / self.k
        ebc = e[:, None] * self.ctbt.T
        m = (4.0 * e[:, None] * self.bbt * e[None, :] + np.diag(one_minus)
             + ebc @ (one_minus[:, None] * ebc.T))
        return z, m


def qq_stable(w1: np.ndarray, w2: np.ndarray, sigma: np.ndarray, lam: float,
              u: float) -> np.ndarray:
    """QQᵀ(u) from the stable closed form (see :class:`StableQQ`)."""
    return StableQQ(w1, w2, sigma, lam)(u)


def qq_blocks(qq: np.ndarray, n_in: int) -> dict[str, np.ndarray]:
    """Split QQᵀ into W1ᵀW1 (ni×ni), W1ᵀW2ᵀ, W2W1 (no×ni), W2W2ᵀ (no×no)."""
    return {"w1tw1": qq[:n_in, :n_in], "w1tw2t": qq[:n_in, n_in:],
            "w2w1": qq[n_in:, :n_in], "w2w2t": qq[n_in:, n_in:]}


def q_from_qq(qq: np.ndarray, n_in: int, n_hidden: int) -> tuple[np.ndarray, np.ndarray]:
    """Some (W1, W2) with the given QQᵀ (top nh eigenpairs, Q = V√Λ); unique up to W1 → RW1,
    W2 → W2Rᵀ, which leaves QQᵀ, B = λI and every closed form above unchanged."""
    vals, vecs = np.linalg.eigh(qq)
    q = vecs[:, -n_hidden:] * np.sqrt(np.clip(vals[-n_hidden:], 0.0, None))
    return q[:n_in].T, q[n_in:]


def converged_reps(st: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Converged representation spectra (Thm 4.1.2 corrected), on the task's singular
    vectors: ŨᵀW2W2ᵀŨ = (√(λ²+4S̃²) + λ)/2 and ṼᵀW1ᵀW1Ṽ = (√(λ²+4S̃²) − λ)/2."""
    c, d = equal_split(st, lam)
    return c * c, d * d


def loss(w2w1: np.ndarray, sigma: np.ndarray) -> float:
    """L = ½‖W2W1 − Σ‖²_F (whitened, realisable; the Σ-independent constant is dropped)."""
    return 0.5 * float(np.sum((w2w1 - sigma) ** 2))


def shallow_product(w2w1_0: np.ndarray, sigma: np.ndarray, lam: float, u: float) -> np.ndarray:
    """Large-|λ| shallow equivalent (eq 4.26): W2W1(u) ≈ Σ + (W2W1(0) − Σ)e^{−|λ|u}."""
    return sigma + (w2w1_0 - sigma) * math.exp(-abs(lam) * u)


def ntk(w1tw1: np.ndarray, w2w2t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """NTK = I_no ⊗ XᵀW1ᵀW1X + W2W2ᵀ ⊗ XᵀX (eq 2.37, (no·P)², index (o, p) o-major)."""
    n_out = w2w2t.shape[0]
    return np.kron(np.eye(n_out), x.T @ w1tw1 @ x) + np.kron(w2w2t, x.T @ x)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """cos(A, B) = ⟨A, B⟩_F / (‖A‖_F ‖B‖_F)."""
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def task_specificity(rep: np.ndarray, basis: np.ndarray, st: np.ndarray) -> float:
    """TSC (eqs 4.33–4.34) = max(cos(rep, B S̃ Bᵀ), cos(rep, B S̃² Bᵀ)), B = Ṽ for W1ᵀW1 and
    Ũ for W2W2ᵀ (4.34 writes W2ᵀW2: a typo)."""
    return max(cosine(rep, basis @ np.diag(st) @ basis.T),
               cosine(rep, basis @ np.diag(st * st) @ basis.T))


# ----------------------------------------------------------------------------------------
# Continual learning (§4.4)
# ----------------------------------------------------------------------------------------
def converged_forgetting(sig_i: np.ndarray, sig_j: np.ndarray, sig_k: np.ndarray) -> float:
    """Forgetting of task i, trained to convergence on j then k (Thm 4.4.1 setting):
    F_i(T_j, T_k) = ½(‖Σ_k − Σ_i‖²_F − ‖Σ_j − Σ_i‖²_F)."""
    return 0.5 * float(np.sum((sig_k - sig_i) ** 2) - np.sum((sig_j - sig_i) ** 2))


# ----------------------------------------------------------------------------------------
# Tables 3.1–3.3 (Thm 3.1.1 corrected)
# ----------------------------------------------------------------------------------------
def init_variances(scheme: str, sizes: Sequence[int], alpha_in: float = 1.0,
                   alpha_out: float = 1.0) -> tuple[float, float]:
    """(σ_i², σ_{i+1}²) for W_i ∈ R^{n_{i+1}×n_i}, W_{i+1} ∈ R^{n_{i+2}×n_{i+1}}:
    LeCun 1/fan_in; Glorot 2/(fan_in + fan_out); He 2/fan_in; Scaled α²/fan_in
    (the thesis defines Scaled with α/n but tabulates α²)."""
    n0, n1, n2 = sizes
    if scheme == "LeCun":
        return 1.0 / n0, 1.0 / n1
    if scheme == "Glorot":
        return 2.0 / (n0 + n1), 2.0 / (n1 + n2)
    if scheme == "He":
        return 2.0 / n0, 2.0 / n1
    if scheme == "Scaled":
        return alpha_in ** 2 / n0, alpha_out ** 2 / n1
    raise ValueError(f"unknown scheme {scheme!r}")


def init_moments(scheme: str, sizes: Sequence[int], alpha_in: float = 1.0,
                 alpha_out: float = 1.0) -> dict[str, float]:
    """Moments of B = W_{i+1}ᵀW_{i+1} − W_iW_iᵀ under iid Gaussian init (Thm 3.1.1):
    E[B] = (n_{i+2}σ_{i+1}² − n_iσ_i²) I,  Var(B_jk) = n_{i+2}σ_{i+1}⁴ + n_iσ_i⁴ (j ≠ k),
    Var(B_jj) = 2(n_{i+2}σ_{i+1}⁴ + n_iσ_i⁴).  The thesis writes 4 on the diagonal (its own
    proof sums to 2n); that value is returned as ``var_diag_source``."""
    n0, _, n2 = sizes
    v0, v1 = init_variances(scheme, sizes, alpha_in, alpha_out)
    off = n2 * v1 * v1 + n0 * v0 * v0
    return {"mean": n2 * v1 - n0 * v0, "var_offdiag": off, "var_diag": 2.0 * off,
            "var_diag_source": 4.0 * off}


def scaled_source_moments(sizes: Sequence[int], alpha_in: float, alpha_out: float
                          ) -> dict[str, float]:
    """The Scaled scheme as the thesis writes it (§3.1): its definition σ² = α/fan_in gives
    E[B_jj] = n_{i+2}α_{i+1}/n_{i+1} − α_i (``mean_alpha_definition``), and Table 3.2 prints
    Var(B_jk) with α² where α⁴ belongs: (n_{i+2}α_{i+1}²/n_{i+1}² + α_i²/n_i)
    (``var_offdiag_alpha_squared``). The tabulated scheme (σ² = α²/fan_in) is
    :func:`init_variances`."""
    n0, n1, n2 = sizes
    return {"mean_alpha_definition": n2 * alpha_out / n1 - alpha_in,
            "var_offdiag_alpha_squared": n2 * alpha_out ** 2 / n1 ** 2 + alpha_in ** 2 / n0}
