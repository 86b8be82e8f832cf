"""Closed forms for the batch-norm rank experiments (pure NumPy/SciPy).

Notation: d = width (features), m = dimension of the batch space the Gram lives on
(m = n, or n − 1 with mean-centring), ψ = digamma, ψ' = trigamma.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, polygamma


def wishart_logdet_mean(d: int, m: int) -> float:
    """Exact mean of log det(MᵀM) for M ∈ R^{d×m} i.i.d. N(0, 1/d), m ≤ d (Bartlett):

        E = m·log(2/d) + Σ_{i=1}^{m} ψ((d − i + 1)/2).

    This is the exact mean change of log det HᵀH in one Gaussian weight step H → W·H,
    whatever H is (rotation invariance)."""
    i = np.arange(1, m + 1)
    return float(m * np.log(2.0 / d) + digamma((d - i + 1) / 2.0).sum())


def wishart_logdet_var(d: int, m: int) -> float:
    """Exact variance of log det(MᵀM) for the same M: Σ_{i=1}^{m} ψ'((d − i + 1)/2)."""
    i = np.arange(1, m + 1)
    return float(polygamma(1, (d - i + 1) / 2.0).sum())


def wishart_logdet_series(d: int, m: int) -> float:
    """Corrected large-d series of the mean: −m(m+1)/(2d) − m³/(6d²) − m⁴/(12d³)."""
    return -m * (m + 1) / (2.0 * d) - m**3 / (6.0 * d**2) - m**4 / (12.0 * d**3)


def wishart_logdet_source(d: int, m: int) -> float:
    """The source's mean −m²/(2d) (misses −m/(2d); wrong for small m)."""
    return -m * m / (2.0 * d)


def weight_step_theory(d: int, m: int, weights: str) -> float:
    """Mean Δ log det G of one weight step: the exact Wishart mean (gaussian), 0 (orthogonal,
    W·H has the same Gram as H)."""
    return wishart_logdet_mean(d, m) if weights == "gaussian" else 0.0


def sub_rotation_source(d: int, m: int, sum_log_d2: float) -> float:
    """The source's BN formula via its sub-rotation "lemma": Δ_BN log det = (m/d)·Σ_i log D_ii².

    The lemma E log det(UᵀD²U) = (m/d) log det D² is false (Fischer's inequality gives
    ≥ with equality only for D ∝ I), and D depends on U here; shown beside the measurement."""
    return m / d * sum_log_d2


def equilibrium_source(d: int, n: int) -> tuple[float, float]:
    """The source's equilibrium (hypothesis 5): mean log-eigenvalue −n/d, variance n²/d."""
    return -n / d, n * n / d


def settle_prediction(d: int, n: int) -> float:
    """Hypothesis 3 as confirmed for the participation ratio: PR ≈ min(n, √d)."""
    return float(min(n, np.sqrt(d)))
