"""One batch-norm network, layer by layer: H_ℓ = BN(φ(W_ℓ H_{ℓ−1})), tracked in QR form.

See ``kernels`` for the factored state and why the log-det increments are exact. With
centring the batch Gram has the structural zero eigenvalue along the all-ones vector 1;
the state is then K = H·P (P: n×(n−1) orthonormal basis of 1^⊥) and every measure refers
to the n − 1 remaining eigenvalues.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import kernels as K
from .theory import sub_rotation_source

ArrayFn = Callable[[np.ndarray], np.ndarray]


def centring_basis(n: int) -> np.ndarray:
    """An n×(n−1) matrix P with orthonormal columns spanning 1^⊥ (so P Pᵀ = I − 11ᵀ/n)."""
    a = np.eye(n)
    a[:, 0] = 1.0
    q, _ = np.linalg.qr(a)
    return np.ascontiguousarray(q[:, 1:])


@dataclass
class LayerStats:
    """Measures of G_ℓ and the split of Δ log det G_ℓ (None where not meaningful)."""

    layer: int
    eigs: np.ndarray                 # ascending
    eig_method: str
    participation_ratio: float
    entropy_rank: float
    numerical_rank: int
    mean_log_eig: float | None
    log_min_eig: float | None
    min_eig_below_range: bool
    dlogdet_weights: float
    dlogdet_act: float | None
    dlogdet_bn: float | None
    dlogdet_bn_source: float | None
    dead_rows: int
    flushed: int


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


class BNChain:
    """The state (Q, R, log det HᵀH) of one network and its layer step.

    H = Q·R always; Q has orthonormal columns except between a full Gaussian weight step
    and the BN step that follows it (``q_logdet`` = log det QᵀQ, 0 when orthonormal).
    That weight step does not re-factorise: for M = W·Q (well conditioned when d ≥ 4m,
    κ(M) ≤ 3), Δ log det = log det MᵀM = 2 Σ log L_ii from the Cholesky factor of the m×m
    Gram MᵀM (exact to rounding at that conditioning), and Q ← M. The BN step's QR of
    D·M then restores Q and gives Δ_BN = log det((DM)ᵀDM) − log det MᵀM: one Householder
    QR per layer instead of two."""

    def __init__(self, d: int, n: int, weights: str, center: bool, act: ArrayFn | None,
                 sampler: str, rng: np.random.Generator, threads: int = 1,
                 layers: int | None = None) -> None:
        """``layers``: how many steps will run, if known (the full Gaussian sampler draws
        the next W ahead while a layer is computed, never beyond the last layer)."""
        self.d, self.n, self.weights, self.sampler, self.act, self.rng = (
            d, n, weights, sampler, act, rng)
        self.gaussian = K.GaussianWeights(rng, d, threads, layers) \
            if (weights, sampler) == ("gaussian", "full") else None
        self.P = centring_basis(n) if center else None
        self.m = n - 1 if center else n
        H0 = rng.standard_normal((d, n))
        self.Q, self.R, self.logdet = K.refactor(self._to_state(H0))
        self.q_logdet = 0.0
        self.orthonormal = True
        self.layer = 0

    def _to_state(self, H: np.ndarray) -> np.ndarray:
        return H @ self.P if self.P is not None else H

    def physical(self) -> np.ndarray:
        """H = Q·R (·Pᵀ with centring): the d×n batch itself."""
        H = self.Q @ self.R
        return H @ self.P.T if self.P is not None else H

    def _refactor_q(self, M: np.ndarray) -> float:
        """Q ← Q'' of M = Q''R'' with R ← R''R, where H = M·R; returns Δ log det."""
        q, r, total = K.refactor(M)
        dl = total - self.q_logdet
        self.Q, self.R, self.q_logdet, self.orthonormal = q, r @ self.R, 0.0, True
        return dl

    def orthonormalise(self) -> None:
        """Make Q orthonormal again (H and log det unchanged)."""
        if not self.orthonormal:
            self._refactor_q(self.Q)

    def weight_step(self, cancelled: Callable[[], bool] = lambda: False) -> float | None:
        """H → W·H; returns Δ log det = log det((WQ)ᵀWQ) (None if cancelled meanwhile)."""
        self.orthonormalise()
        if self.gaussian is not None:
            M = self.gaussian.image(self.Q)
            dl = K.gram_logdet(M) if self.d >= 4 * self.m else None
            if dl is not None:  # H = M·R: the BN step re-factorises M
                self.Q, self.q_logdet, self.orthonormal = M, dl, False
                self.logdet += dl
                return dl
        else:
            M = K.weight_image(self.Q, self.rng, self.weights, self.sampler, cancelled)
            if M is None:
                return None
        dl = self._refactor_q(M)
        self.logdet += dl
        return dl

    def act_step(self) -> float:
        """H → φ(H) (then re-factorised from scratch); returns Δ log det."""
        assert self.act is not None
        self.Q, self.R, new = K.refactor(self._to_state(self.act(self.physical())))
        self.q_logdet, self.orthonormal = 0.0, True
        dl, self.logdet = new - self.logdet, new
        return dl

    def bn_step(self) -> tuple[float, int, float]:
        """H → D·H, D_ii = 1/rms_i (centred rows with centring); returns
        (Δ log det, dead rows, Σ log D_ii²)."""
        DQ = np.empty_like(self.Q)
        dead, sum_log_d2 = K.bn_scale(self.Q @ self.R, self.Q, self.n, DQ)
        dl = self._refactor_q(DQ)
        self.logdet += dl
        return dl, dead, sum_log_d2

    def step(self, cancelled: Callable[[], bool] = lambda: False) -> LayerStats | None:
        """One layer W, φ, BN, then the spectrum of G_ℓ (None if cancelled meanwhile)."""
        self.layer += 1
        dw = self.weight_step(cancelled)
        if dw is None:
            return None
        da = self.act_step() if self.act is not None else None
        db, dead, sld = self.bn_step()
        flushed = K.flush_tiny(self.R, K.FLUSH)
        return self.measure(dw, da, db, dead, sld, flushed, cancelled)

    def measure(self, dw: float, da: float | None, db: float, dead: int, sld: float,
                flushed: int, cancelled: Callable[[], bool]) -> LayerStats | None:
        """Rank measures of G_ℓ = RᵀR/d and the exact mean log-eigenvalue."""
        self.orthonormalise()
        lam, method = K.gram_eigs(self.R, self.d, cancelled)
        mean_log = _finite((self.logdet - self.m * math.log(self.d)) / self.m)
        if lam is None:
            return None
        pr, ent, nr = K.rank_measures(lam, 1e-3)
        below = bool(lam[0] <= K.BELOW_RANGE * lam[-1])
        log_min = None if below else float(math.log(lam[0]))
        src = sub_rotation_source(self.d, self.m, sld) if dead == 0 else None
        return LayerStats(self.layer, lam, method, float(pr), float(ent), int(nr), mean_log,
                          log_min, below, dw, _finite(da) if da is not None else None,
                          _finite(db), src, dead, flushed)

