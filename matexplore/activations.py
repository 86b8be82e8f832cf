"""Activation functions that plugins contribute through ``matexplore_activations``.

An :class:`Activation` is a scalar function f, its derivative f', optionally the points
where they are not smooth (``kinks``) and optionally closed forms of the Gaussian kernel.
Contract, for standard normals u, v with correlation ρ ∈ [−1, 1] and g ~ N(0, 1):

``fn``, ``deriv``
    f and f', vectorised: an array in, an array of the same shape out. If they are also
    numba-compilable (a ``numba.njit`` or ``numba.vectorize`` function), kernels can call
    them without leaving nopython mode; otherwise experiments apply them with NumPy.
``kinks``
    The finite points where f or f' is not smooth: a kink of f (ReLU at 0, hardtanh at
    ±1), a jump of f or f', or a jump of a higher derivative (ELU's f'' at 0). Between them
    f and f' must be smooth. Quadratures split there; without ``kinks`` f is assumed smooth
    everywhere, and a kinked f then gets inaccurate kernels (ReLU without its kink: κ off
    by 1e-3, κ' by 5e-2; ELU: 1e-5 and 7e-4).
``kernel``
    K(ρ) = E[f(u) f(v)], **unnormalised** (K(1) = E f(g)², K(0) = (E f(g))²,
    K(−1) = E[f(g) f(−g)]); vectorised over ρ: an array of ρ values (0-d included, ±1
    included) in, the array of kernel values of the same shape out. ``None``: quadrature.
``kernel_prime``
    K'(ρ) = dK/dρ = E[f'(u) f'(v)] (Price's theorem), unnormalised and vectorised like
    ``kernel``; at ρ = ±1 it may be ``inf`` when f jumps (sign). ``None``: quadrature of
    ``deriv``.

Experiments normalise: with m₂ = K(1), κ(ρ) = K(ρ)/m₂ and κ'(ρ) = K'(ρ)/m₂ are the kernel
of φ = f/√m₂ (centred variants subtract K(0)). A closed form is checked against the
quadrature of E f(g)² = K(1); giving a normalised kernel for an f with E f(g)² ≠ 1 is an
error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Activation"]

ArrayFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Activation:
    """A named activation function (see the module docstring for the contract).

    ``kinks`` is stored sorted, without duplicates, as floats; a non-finite kink raises
    ValueError."""

    name: str
    fn: ArrayFn
    deriv: ArrayFn
    kernel: ArrayFn | None = None
    kernel_prime: ArrayFn | None = None
    description: str = ""
    kinks: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        kinks = tuple(sorted({float(k) for k in self.kinks}))
        if not all(math.isfinite(k) for k in kinks):
            raise ValueError(f"activation {self.name!r}: kinks must be finite numbers, "
                             f"got {self.kinks!r}")
        object.__setattr__(self, "kinks", kinks)
