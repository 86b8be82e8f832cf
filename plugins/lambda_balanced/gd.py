"""Plain gradient descent on two-layer networks, in NumPy.

Linear net, whitened inputs: E = Σ − W2W1, G1 = W2ᵀE, G2 = EW1ᵀ, W1 ← W1 + ηG1, W2 ← W2 + ηG2
(GD on L = ½‖W2W1 − Σ‖²_F; the flow with τ = 1/η at t = step index).

Why NumPy and not numba: measured on this 2-core machine (one run, 20 000 steps), a numba loop
takes 2.9 µs/step at n = 4 vs 26 µs/step for NumPy (≈ 9×), and 66 vs 108 µs/step at n = 50
(≈ 1.6×, BLAS-bound).  Every experiment here runs ≤ ~10⁵ steps at n ≤ 10 (≤ 3 s in NumPy), and
compares with a NumPy closed form at each logged step, which costs more than the steps in
between; a numba kernel would add JIT compile time and an import on the hot path for little
gain, so GD stays in NumPy (exactly the same float operations as the reference).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def linear_grads(w1: np.ndarray, w2: np.ndarray,
                 sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Descent directions (G1, G2) = (W2ᵀE, EW1ᵀ), E = Σ − W2W1 (= −∂L/∂W1, −∂L/∂W2)."""
    e = sigma - w2 @ w1
    return w2.T @ e, e @ w1.T


def linear_gd(w1: np.ndarray, w2: np.ndarray, sigma: np.ndarray, eta: float,
              steps: int) -> tuple[np.ndarray, np.ndarray]:
    """`steps` GD steps on the linear net from (W1, W2); returns the new weights."""
    for _ in range(steps):
        g1, g2 = linear_grads(w1, w2, sigma)
        w1 = w1 + eta * g1
        w2 = w2 + eta * g2
    return w1, w2


ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray],
                             Callable[[np.ndarray], np.ndarray]]] = {
    "linear": (lambda h: h, lambda h: np.ones_like(h)),
    "relu": (lambda h: np.maximum(h, 0.0), lambda h: (h > 0).astype(float)),
    "tanh": (np.tanh, lambda h: 1.0 - np.tanh(h) ** 2),
}


def nonlinear_grads(w1: np.ndarray, w2: np.ndarray, x: np.ndarray, y: np.ndarray,
                    activation: str) -> tuple[np.ndarray, np.ndarray]:
    """Descent directions for L = (1/2P)‖W2 φ(W1X) − Y‖²_F (no biases):
    D = (Y − W2φ(H))/P, G2 = D φ(H)ᵀ, G1 = (W2ᵀD ⊙ φ'(H)) Xᵀ, H = W1X."""
    phi, dphi = ACTIVATIONS[activation]
    h = w1 @ x
    d = (y - w2 @ phi(h)) / x.shape[1]
    return (w2.T @ d * dphi(h)) @ x.T, d @ phi(h).T


def nonlinear_loss(w1: np.ndarray, w2: np.ndarray, x: np.ndarray, y: np.ndarray,
                   activation: str) -> float:
    """L = (1/2P)‖W2 φ(W1X) − Y‖²_F."""
    phi, _ = ACTIVATIONS[activation]
    return 0.5 * float(np.sum((w2 @ phi(w1 @ x) - y) ** 2)) / x.shape[1]
