"""Activation functions that plugins contribute through ``matexplore_activations``.

An :class:`Activation` is a scalar function f, its derivative f', and optionally a closed
form of the Gaussian kernel ``kernel(ρ) = E[f(u) f(v)]`` for standard normals u, v with
correlation ρ (unnormalised). Experiments normalise it: φ = f / √E f(g)², κ(ρ) =
E[φ(u)φ(v)]. Without a closed form, experiments compute the kernel by Gauss–Hermite
quadrature of ``fn``.

``fn`` and ``deriv`` must be vectorised (accept and return NumPy arrays). If they are also
numba-compilable (a ``numba.njit`` or ``numba.vectorize`` function), kernels can call them
without leaving nopython mode; otherwise experiments apply them with NumPy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Activation"]

ArrayFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Activation:
    """A named activation function (see the module docstring for the contract)."""

    name: str
    fn: ArrayFn
    deriv: ArrayFn
    kernel: ArrayFn | None = None
    kernel_prime: ArrayFn | None = None
    description: str = ""
