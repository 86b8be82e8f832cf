"""The built-in activations (registered through ``matexplore_activations``) and the
construction of a :class:`~.theory.KernelMap` for any registered activation.

Closed-form unnormalised kernels K(ρ) = E f(u)f(v): ReLU and leaky ReLU (arc-cosine),
erf ((2/π) arcsin(2ρ/3)), sin (e^{−1} sinh ρ). tanh, GELU, SiLU, ELU, softplus and every
third-party activation without a closed form use quadrature of ``fn``/``deriv`` split at
the activation's ``kinks`` (ReLU, leaky ReLU: f' jumps at 0; ELU: f'' jumps at 0).
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf

from matexplore import Activation

from . import theory as th

DEFAULT_SLOPE = 0.1

def _leaky_activation(slope: float) -> Activation:
    fn, deriv = th.leaky(slope)
    k, kp = th.leaky_kernel(slope)
    return Activation("leaky_relu", fn, deriv, k, kp,
                      f"leaky ReLU max(x,0) + a·min(x,0) (a = {slope:g}; experiments "
                      "have a 'slope' parameter); arc-cosine closed form", kinks=(0.0,))


def builtin_activations() -> list[Activation]:
    """The nine built-in activations."""
    relu_k, relu_kp = th.leaky_kernel(0.0)
    return [
        Activation("relu", th.relu, th.relu_prime, relu_k, relu_kp,
                   "ReLU max(x, 0); arc-cosine kernel (closed form)", kinks=(0.0,)),
        _leaky_activation(DEFAULT_SLOPE),
        Activation("tanh", np.tanh, th.tanh_prime, description="tanh (kernel by quadrature)"),
        Activation("erf", erf, th.erf_prime, th.erf_kernel, th.erf_kernel_prime,
                   "erf; K(ρ) = (2/π) arcsin(2ρ/3) (closed form)"),
        Activation("sin", np.sin, np.cos, th.sin_kernel, th.sin_kernel_prime,
                   "sin; K(ρ) = e^{−1} sinh ρ (closed form)"),
        Activation("gelu", th.gelu, th.gelu_prime,
                   description="GELU x·Φ(x), erf form (kernel by quadrature)"),
        Activation("silu", th.silu, th.silu_prime,
                   description="SiLU / swish x·σ(x) (kernel by quadrature)"),
        Activation("elu", th.elu, th.elu_prime,
                   description="ELU, α = 1 (kernel by quadrature)", kinks=(0.0,)),
        Activation("softplus", th.softplus, lambda x: 1.0 / (1.0 + np.exp(-x)),
                   description="softplus log(1 + eˣ) (kernel by quadrature)"),
    ]


BUILTIN: dict[str, Activation] = {a.name: a for a in builtin_activations()}


def is_builtin(act: Activation) -> bool:
    """True iff ``act`` is one of this plugin's own activation objects."""
    return BUILTIN.get(act.name) is act


def kernel_map(act: Activation, *, slope: float = DEFAULT_SLOPE,
               centered: bool = False) -> th.KernelMap:
    """The normalised kernel map of ``act``; the built-in leaky ReLU takes ``slope``."""
    if act.name == "leaky_relu" and is_builtin(act):
        act = _leaky_activation(slope)
    return th.KernelMap(name=act.name, fn=act.fn, deriv=act.deriv, K=act.kernel,
                        Kp=act.kernel_prime, centered=centered, kinks=act.kinks)
