"""Closed forms and quadrature for the Mish activation (pure NumPy/SciPy).

Mish: f(x) = x · tanh(softplus(x)), softplus(x) = log(1 + eˣ).
Derivative: f'(x) = tanh(s) + x · sech²(s) · σ(x), with s = softplus(x) and σ the logistic
function (since s'(x) = σ(x)).
Gaussian moments for g ~ N(0, 1) by Gauss–Hermite quadrature (probabilists' weights):
E[h(g)] = Σ_i w_i h(x_i) / √(2π), exact for polynomials of degree < 2n and accurate to
~1e-12 for these smooth, polynomially bounded functions with n = 200.
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from matexplore import Activation


def mish(x: np.ndarray) -> np.ndarray:
    """f(x) = x · tanh(log(1 + eˣ)) (``logaddexp`` avoids overflow)."""
    return x * np.tanh(np.logaddexp(0.0, x))


def mish_prime(x: np.ndarray) -> np.ndarray:
    """f'(x) = tanh(s) + x · sech²(s) · σ(x),  s = softplus(x)."""
    s = np.logaddexp(0.0, x)
    sigma = 0.5 * (1.0 + np.tanh(0.5 * x))
    return np.tanh(s) + x * (1.0 - np.tanh(s) ** 2) * sigma


def gaussian_moment(h, n: int = 200) -> float:
    """E[h(g)], g ~ N(0, 1), by n-point Gauss–Hermite quadrature."""
    x, w = hermegauss(n)
    return float(np.sum(w * h(x)) / np.sqrt(2.0 * np.pi))


MISH = Activation(
    name="mish",
    fn=mish,
    deriv=mish_prime,
    description="Mish x·tanh(softplus(x)) (from the example plugin; kernel by quadrature)",
)
