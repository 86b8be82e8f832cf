"""Kernel maps of random networks: κ, κ', Hermite coefficients, fixed point, β candidates.

Pure NumPy/SciPy. Conventions (see ``shared/experiments/kernel-maps.md``): g ~ N(0, 1),
(u, v) standard normal with correlation ρ; activation f, unnormalised kernel
K(ρ) = E[f(u) f(v)], K'(ρ) = E[f'(u) f'(v)] (Price's theorem). With m₂ = K(1) = E f(g)²,
m₁² = K(0) = (E f(g))² and c = 1 when centring (else 0), the normalised activation is
φ = (f − c·E f)/√(m₂ − c·m₁²) and

    κ(ρ) = (K(ρ) − c·m₁²)/(m₂ − c·m₁²) = Σ_k c_k² ρ^k,   κ(1) = 1,
    κ'(ρ) = K'(ρ)/(m₂ − c·m₁²) = Σ_k k c_k² ρ^{k−1},     κ'(1) = E φ'(g)²,  κ'(0) = c_1².

K and K' come from a closed form when one exists (ReLU/leaky ReLU arc-cosine kernels, erf,
sin), otherwise from the 2-D quadrature of :mod:`.quadrature`, split at the activation's
kinks and accurate to ~1e-14 for every ρ ∈ [−1, 1] (never a truncated Hermite series: for
ReLU c_k² ~ k^{-5/2}, 60 terms give κ'(1) = 0.967 instead of 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.optimize import brentq
from scipy.special import erf, expit

from .quadrature import gaussian_expectation, gaussian_rule, pair_expectation

ArrayFn = Callable[[np.ndarray], np.ndarray]
Real = float | np.ndarray

#: Tolerance for "κ'(ρ*) = 1", "κ(0) = 0" and "ρ* = 1" decisions.
TOL = 1e-9
#: Relative tolerance of the check closed-form K(1) = quadrature E f(g)².
CLOSED_FORM_RTOL = 1e-8
_SQRT2PI = math.sqrt(2.0 * math.pi)


# ----------------------------------------------------------------------------- activations
def relu(x: np.ndarray) -> np.ndarray:
    """f(x) = max(x, 0)."""
    return np.maximum(x, 0.0)


def relu_prime(x: np.ndarray) -> np.ndarray:
    """f'(x) = 1{x > 0}."""
    return (np.asarray(x) > 0).astype(float)


def leaky(a: float) -> tuple[ArrayFn, ArrayFn]:
    """f(x) = max(x, 0) + a·min(x, 0) and f'(x) = 1{x > 0} + a·1{x ≤ 0}."""
    return (lambda x: np.where(x > 0, x, a * x),
            lambda x: np.where(np.asarray(x) > 0, 1.0, a))


def tanh_prime(x: np.ndarray) -> np.ndarray:
    """f'(x) = 1 − tanh²x."""
    return 1.0 - np.tanh(x) ** 2


def erf_prime(x: np.ndarray) -> np.ndarray:
    """f'(x) = (2/√π) e^{−x²}."""
    return 2.0 / math.sqrt(math.pi) * np.exp(-np.square(x))


def gelu(x: np.ndarray) -> np.ndarray:
    """f(x) = x Φ(x) (erf form), Φ the standard normal CDF."""
    return x * 0.5 * (1.0 + erf(x / math.sqrt(2.0)))


def gelu_prime(x: np.ndarray) -> np.ndarray:
    """f'(x) = Φ(x) + x·e^{−x²/2}/√(2π)."""
    return 0.5 * (1.0 + erf(x / math.sqrt(2.0))) + x * np.exp(-0.5 * np.square(x)) / _SQRT2PI


def silu(x: np.ndarray) -> np.ndarray:
    """f(x) = x σ(x), σ the logistic function."""
    return x * expit(x)


def silu_prime(x: np.ndarray) -> np.ndarray:
    """f'(x) = σ(x)(1 + x(1 − σ(x)))."""
    s = expit(x)
    return s * (1.0 + x * (1.0 - s))


def elu(x: np.ndarray) -> np.ndarray:
    """f(x) = x for x > 0, eˣ − 1 otherwise (α = 1)."""
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def elu_prime(x: np.ndarray) -> np.ndarray:
    """f'(x) = 1 for x > 0, eˣ otherwise."""
    return np.where(np.asarray(x) > 0, 1.0, np.exp(np.minimum(x, 0.0)))


def softplus(x: np.ndarray) -> np.ndarray:
    """f(x) = log(1 + eˣ)."""
    return np.logaddexp(0.0, x)


# ------------------------------------------------------------------- closed-form kernels
def leaky_kernel(a: float) -> tuple[ArrayFn, ArrayFn]:
    """Unnormalised leaky-ReLU kernel, f = A·x + B·|x| with A = (1+a)/2, B = (1−a)/2:
    K(ρ) = A²ρ + B²(2/π)(√(1−ρ²) + ρ arcsin ρ),  K'(ρ) = A² + B²(2/π) arcsin ρ,
    K(1) = (1+a²)/2. a = 0 gives the arc-cosine kernel (√(1−ρ²) + (π − arccos ρ)ρ)/(2π)."""
    A2, B2 = ((1 + a) / 2) ** 2, ((1 - a) / 2) ** 2

    def k(rho: np.ndarray) -> np.ndarray:
        r = np.clip(rho, -1.0, 1.0)
        return A2 * r + B2 * (2 / math.pi) * (np.sqrt(1 - r * r) + r * np.arcsin(r))

    def kp(rho: np.ndarray) -> np.ndarray:
        return A2 + B2 * (2 / math.pi) * np.arcsin(np.clip(rho, -1.0, 1.0))

    return k, kp


def erf_kernel(rho: np.ndarray) -> np.ndarray:
    """E[erf(u) erf(v)] = (2/π) arcsin(2ρ/3)."""
    return 2 / math.pi * np.arcsin(2 * np.asarray(rho) / 3)


def erf_kernel_prime(rho: np.ndarray) -> np.ndarray:
    """d/dρ (2/π) arcsin(2ρ/3) = (4/(3π)) / √(1 − 4ρ²/9)."""
    return 4 / (3 * math.pi) / np.sqrt(1 - 4 * np.square(rho) / 9)


def sin_kernel(rho: np.ndarray) -> np.ndarray:
    """E[sin u sin v] = ½(E cos(u−v) − E cos(u+v)) = ½(e^{−(1−ρ)} − e^{−(1+ρ)}) = e^{−1} sinh ρ."""
    return math.exp(-1.0) * np.sinh(rho)


def sin_kernel_prime(rho: np.ndarray) -> np.ndarray:
    """E[cos u cos v] = e^{−1} cosh ρ."""
    return math.exp(-1.0) * np.cosh(rho)


# ---------------------------------------------------------------------------- kernel map
def _like(value: np.ndarray, rho: Real) -> Real:
    """A float for scalar ρ, an array for array ρ."""
    return float(value) if np.ndim(rho) == 0 else np.asarray(value, float)


@dataclass(frozen=True)
class KernelMap:
    """The normalised (optionally centred) kernel map κ of an activation f.

    ``K``/``Kp`` are closed forms of the unnormalised K(ρ) = E f(u)f(v), K'(ρ) = E f'(u)f'(v)
    (None ⇒ quadrature of ``fn``/``deriv``, split at ``kinks``: the points where f or f'
    is not smooth). κ = (K − c·K(0))/(K(1) − c·K(0)), κ' = K'/(K(1) − c·K(0)), c = 1 if
    ``centered``. Alternatively ``weights`` gives the Hermite weights c_k² directly (a
    custom kernel κ(ρ) = Σ c_k² ρ^k with no activation behind it).

    A closed form K must be the unnormalised kernel of ``fn``: K(1) is checked against the
    1-D quadrature of E f(g)² (relative tolerance ``CLOSED_FORM_RTOL``), else ValueError."""

    name: str
    fn: ArrayFn | None = None
    deriv: ArrayFn | None = None
    K: ArrayFn | None = None
    Kp: ArrayFn | None = None
    centered: bool = False
    weights: tuple[float, ...] | None = None
    kinks: tuple[float, ...] = ()
    closed_form: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "closed_form", self.K is not None or self.weights is not None)
        if self.K is not None and self.fn is not None:
            self._check_closed_form()

    def _check_closed_form(self) -> None:
        k1 = float(np.asarray(self.K(np.asarray(1.0))))
        m2 = gaussian_expectation(lambda x: np.square(self.fn(x)), self.kinks)
        if not abs(k1 - m2) <= CLOSED_FORM_RTOL * max(abs(m2), 1e-300):
            raise ValueError(f"the closed-form kernel of {self.name!r} gives kernel(1) = "
                             f"{k1:.10g} but E f(g)² = {m2:.10g} by quadrature of fn: "
                             "`kernel` must be the unnormalised E[f(u) f(v)] of this fn")

    # -- unnormalised ---------------------------------------------------------------------
    def raw(self, rho: Real) -> Real:
        """K(ρ) = E[f(u) f(v)] (ρ scalar or array)."""
        if self.K is not None:
            return _like(self.K(np.asarray(rho, float)), rho)
        return _like(pair_expectation(self.fn, self.fn, rho, self.kinks, self.kinks), rho)

    def raw_prime(self, rho: Real) -> Real:
        """K'(ρ) = E[f'(u) f'(v)]."""
        if self.Kp is not None:
            return _like(self.Kp(np.asarray(rho, float)), rho)
        return _like(pair_expectation(self.deriv, self.deriv, rho, self.kinks, self.kinks), rho)

    @cached_property
    def m2(self) -> float:
        """E f(g)² = K(1)."""
        return self.raw(1.0) if self.weights is None else 1.0

    @cached_property
    def m1_sq(self) -> float:
        """(E f(g))² = K(0)."""
        return self.raw(0.0) if self.weights is None else self.weights[0]

    @cached_property
    def scale(self) -> float:
        """Var of the subtracted activation: m₂ − c·m₁²."""
        return self.m2 - (self.m1_sq if self.centered else 0.0)

    # -- normalised -------------------------------------------------------------------------
    def kappa(self, rho: Real) -> Real:
        """κ(ρ) = E[φ(u) φ(v)] (ρ scalar or array)."""
        if self.weights is not None:
            return _like(np.polynomial.polynomial.polyval(rho, self._w), rho)
        shift = self.m1_sq if self.centered else 0.0
        return (self.raw(rho) - shift) / self.scale

    def kappa_prime(self, rho: Real) -> Real:
        """κ'(ρ) = E[φ'(u) φ'(v)] (ρ scalar or array)."""
        if self.weights is not None:
            w = self._w
            return _like(np.polynomial.polynomial.polyval(rho, w[1:] * np.arange(1, len(w))),
                         rho)
        return self.raw_prime(rho) / self.scale

    @cached_property
    def _w(self) -> np.ndarray:
        w = np.array(self.weights, float)
        if self.centered:
            w[0] = 0.0
        return w / w.sum()

    @property
    def kappa_0(self) -> float:
        """κ(0) = c_0² = (E φ(g))² (0 when centred)."""
        return self.kappa(0.0)

    @property
    def kappa_prime_1(self) -> float:
        """κ'(1) = E φ'(g)²."""
        return self.kappa_prime(1.0)

    def phi(self, x: np.ndarray) -> np.ndarray:
        """φ(x) = (f(x) − c·E f)/√(m₂ − c·m₁²)."""
        if self.fn is None:
            raise ValueError(f"kernel {self.name!r} has no activation function")
        return (self.fn(x) - (self.mean if self.centered else 0.0)) / math.sqrt(self.scale)

    @cached_property
    def mean(self) -> float:
        """E f(g) (with its sign, by quadrature split at the kinks)."""
        return gaussian_expectation(self.fn, self.kinks)

    # -- Hermite ------------------------------------------------------------------------
    def hermite_sq(self, n: int) -> np.ndarray:
        """c_k², k < n: c_k = E[φ(g) h_k(g)], h_k = He_k/√k! orthonormal (1-D quadrature,
        recursion h_{k+1} = (x h_k − √k h_{k−1})/√(k+1), split at the kinks); exact weights
        for a custom kernel."""
        if self.weights is not None:
            w = np.zeros(n)
            m = min(n, len(self._w))
            w[:m] = self._w[:m]
            return w
        x, wx = gaussian_rule(self.kinks)
        weight = wx * self.phi(x)
        out = np.empty(n)
        h_prev, h = np.zeros_like(x), np.ones_like(x)
        for k in range(n):
            out[k] = np.sum(weight * h)
            h_prev, h = h, (x * h - math.sqrt(k) * h_prev) / math.sqrt(k + 1)
        return out**2


# ------------------------------------------------------------------------- fixed points
def fixed_point(km: KernelMap, grid: int = 400) -> float:
    """ρ* ∈ [−1, 1] with κ(ρ*) = ρ* and κ'(ρ*) ≤ 1 (the attracting fixed point).

    κ(1) = 1 always (and κ(−1) = −1 for odd φ): these trivial roots are ρ* only when no
    interior root attracts, i.e. when κ'(1) ≤ 1. Interior roots: sign changes of κ(ρ) − ρ on
    a grid of (−1, 1) refined by Brent's method, plus exact grid zeros (e.g. ρ = 0 when
    κ(0) = 0). Among those with κ'(ρ) < 1 the largest is returned."""
    rs = np.unique(np.concatenate([np.linspace(-1, 1, grid + 1)[1:-1], [0.0]]))
    g = km.kappa(rs) - rs
    roots = [r for r, v in zip(rs, g) if abs(v) < 1e-13]
    for i in np.nonzero(g[:-1] * g[1:] < 0)[0]:
        roots.append(brentq(lambda r: km.kappa(r) - r, rs[i], rs[i + 1], xtol=1e-14, rtol=1e-14))
    stable = [r for r in roots if km.kappa_prime(r) < 1.0]
    if stable:
        return float(max(stable))
    if km.kappa_prime_1 <= 1.0 + TOL:
        return 1.0
    raise ValueError(f"no attracting fixed point found for {km.name}")


def trajectory(km: KernelMap, rho0: Real, depth: int) -> np.ndarray:
    """ρ_0, ρ_1 = κ(ρ_0), …, ρ_depth (infinite-width iteration); for an array of
    starting points, one column per start."""
    out = np.empty((depth + 1,) + np.shape(rho0))
    out[0] = rho0
    for ell in range(depth):
        out[ell + 1] = km.kappa(out[ell])
    return out


# ----------------------------------------------------------------------------- β and bounds
@dataclass(frozen=True)
class Betas:
    """The source's β candidates and the sufficient β_need.

    A (stated first): κ(0) = 0 ⇒ β = 1/κ'(1); κ(0) > 0 ⇒ β = max{1 − c_0², κ'(ρ*), 1/κ'(1)}.
    B (end of the proof): β = max{1 − c_0², 1 − ρ*, κ'(ρ*)}.
    kstar: β = κ'(ρ*).
    need: sup_ρ R(ρ), R(ρ) = [|κ(ρ)−ρ*|/(1−|κ(ρ)|)] / [|ρ−ρ*|/(1−|ρ|)] — one step of
    D(ρ) = |ρ−ρ*|/(1−|ρ|) contracts by at most R, so β_need always makes the bound true.
    All are None when the theorem's hypothesis κ'(ρ*) < 1 fails (``reason`` says why)."""

    A: float | None
    B: float | None
    kstar: float | None
    need: float | None
    reason: str | None = None


def betas(km: KernelMap, rho_star: float, grid: int = 2000) -> Betas:
    """Every β candidate for the kernel map ``km`` with fixed point ``rho_star``."""
    kp_star = km.kappa_prime(rho_star)
    if kp_star >= 1.0 - TOL:
        return Betas(None, None, None, None,
                     f"κ'(ρ*) = {kp_star:.6g} ≥ 1: the theorem's hypothesis κ'(ρ*) < 1 fails, "
                     "so no geometric rate β exists (convergence is at best polynomial)")
    c0, kp1 = km.kappa_0, km.kappa_prime_1
    beta_a = 1.0 / kp1 if abs(c0) < TOL else max(1.0 - c0, kp_star, 1.0 / kp1)
    beta_b = max(1.0 - c0, 1.0 - rho_star, kp_star)
    return Betas(beta_a, beta_b, kp_star, beta_need(km, rho_star, grid))


def beta_need(km: KernelMap, rho_star: float, grid: int = 2000) -> float:
    """sup_ρ R(ρ) over a grid of (−1, 1) (see :class:`Betas`)."""
    rs = np.linspace(-1, 1, grid + 1)[1:-1]
    rs = rs[np.abs(rs - rho_star) > 1e-6]
    k = km.kappa(rs)
    num = np.abs(k - rho_star) / np.maximum(1.0 - np.abs(k), 1e-300)
    den = np.abs(rs - rho_star) / (1.0 - np.abs(rs))
    return float(np.max(num / den))


def bound_curve(rho0: float, rho_star: float, beta: float | None, depth: int) -> np.ndarray:
    """|ρ_0 − ρ*|/(1 − |ρ_0|) · β^ℓ for ℓ = 0..depth (NaN if β is None)."""
    if beta is None:
        return np.full(depth + 1, np.nan)
    return abs(rho0 - rho_star) / (1.0 - abs(rho0)) * beta ** np.arange(depth + 1)


def bound_holds(dist: np.ndarray, bound: np.ndarray) -> bool | None:
    """True iff |ρ_ℓ − ρ*| ≤ bound_ℓ at every layer (relative slack 1e-9); None if no β."""
    if np.isnan(bound).all():
        return None
    return bool(np.all(dist <= bound * (1 + 1e-9) + 1e-15))


def empirical_rate(dist: np.ndarray) -> float | None:
    """|ρ_ℓ − ρ*| / |ρ_{ℓ−1} − ρ*| at the deepest layer where the distance is still well
    above round-off (> 1e-10); None if there is no such pair of layers."""
    ok = np.nonzero(dist[:-1] > 1e-10)[0]
    if len(ok) == 0:
        return None
    i = ok[-1]
    return float(dist[i + 1] / dist[i])


def regime(rho_star: float, kappa_prime_1: float) -> str:
    """ordered (ρ* = 1, κ'(1) < 1), critical (ρ* = 1, κ'(1) = 1) or chaotic (ρ* < 1)."""
    if rho_star < 1.0 - TOL:
        return "chaotic"
    return "critical" if abs(kappa_prime_1 - 1.0) <= 1e-6 else "ordered"


def starting_points() -> np.ndarray:
    """Starting correlations for a global bound check: the notes' 39 points of
    [−0.95, 0.95] plus ±0.99, ±0.999 (near ±1 the prefactor 1/(1−|ρ₀|) is largest and
    the proof's β fails for κ = ½ + ½ρ³)."""
    return np.concatenate([[-0.999, -0.99], np.linspace(-0.95, 0.95, 39), [0.99, 0.999]])


def bounds_hold_globally(km: KernelMap, rho_star: float, b: Betas,
                         depth: int = 400) -> dict[str, bool | None]:
    """Whether each β candidate bounds every trajectory from :func:`starting_points`."""
    out: dict[str, bool | None] = {"A": True, "B": True, "kstar": True}
    trajs = trajectory(km, starting_points(), depth).T
    for key in out:
        beta = getattr(b, key)
        if beta is None:
            out[key] = None
            continue
        out[key] = all(bound_holds(np.abs(t - rho_star), bound_curve(t[0], rho_star, beta, depth))
                       for t in trajs)
    return out


def custom_kernel(weights: Sequence[float], centered: bool = False) -> KernelMap:
    """κ(ρ) = Σ_k w_k ρ^k / Σ w_k from non-negative Hermite weights w_k = c_k²."""
    if len(weights) == 0 or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError("Hermite weights must be non-negative with a positive sum")
    w = list(weights)
    if centered and sum(w[1:]) <= 0:
        raise ValueError("a centred custom kernel needs some weight beyond c_0²")
    return KernelMap(name="custom", weights=tuple(w), centered=centered)
