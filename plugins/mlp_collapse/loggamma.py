"""An exact ziggurat sampler for Y = log G, G ~ Gamma(a): log χ²_k = log 2 + Y with a = k/2.

Why. The norms and angles samplers need log χ²_k once or twice per layer and network. NumPy
(and numba's Generator) draw G by Marsaglia–Tsang — a normal, a uniform, a cube and a log
per draw, ≈ 25–30 ns — and the sampler then takes log G. Sampling Y directly by a ziggurat
costs one uniform, a table lookup and a multiply in ≈ 97 % of the draws.

The density. With t = y − log a (the mode), Y has density ∝ g(t) = exp(−φ(t)),
φ(t) = a(eᵗ − 1 − t) ≥ 0, which is log-concave for every a > 0 and decreasing on both sides
of t = 0. Split there, each side is a decreasing function of s = |t| ≥ 0:

    right  h_R(s) = exp(−a(eˢ − 1 − s)),     left   h_L(s) = exp(−a(e⁻ˢ − 1 + s)).

One ziggurat covers both sides with ≈ 256 layers of the same area v (v = C/250,
C = eᵃ a⁻ᵃ Γ(a) the total mass), so a layer is picked uniformly and no draw is spent on the
side. On each side (Marsaglia–Tsang): the base layer is [0, r]×[0, h(r)] plus the tail
beyond r, r h(r) + ∫_r^∞ h = v (∫_r^∞ h from the incomplete gamma function), drawn as
s = U·v/h(r); layer i spans [0, x_i]×[h(x_i), h(x_{i+1})] with x_1 = r,
x_{i+1} = h⁻¹(h(x_i) + v/x_i), drawn as s = U·x_i; the last layer reaches past the mode
(its top h(x_i) + v/x_i ≥ 1 = h(0)). A draw s < x_{i+1} (or < r) is accepted at once
(≈ 99 %); otherwise the wedge test h(x_i) + U′(h(x_{i+1}) − h(x_i)) < h(s) decides, and the
base layer samples its tail exactly: the tangent of the convex φ at r bounds h by an
exponential, s = r + E/φ′(r), accepted with probability exp(−(φ(s) − φ(r) − φ′(r)(s − r))).
A rejected draw starts again with a new layer. The result is log a + s (right) or log a − s.

Tables depend on a only; :func:`tables` builds them (SciPy, ≈ 1 ms per shape) for the
shapes a run needs, and the njit :func:`log_gamma` draws from a row. All uniforms come
from the ``numpy.random.Generator`` it is given (53-bit doubles). One uniform U makes a
try: with n layers, ⌊U·n⌋ is the layer and the fraction U·n − ⌊U·n⌋ the position in it,
which so has 53 − 8 = 45 bits (NumPy's own normal ziggurat likewise splits one 64-bit word
into an 8-bit layer and a 52-bit position). :func:`log_gamma_from` takes that uniform
from its caller, who can then fill a block's uniforms in one tight loop. Measured on the
2-core machine: ≈ 8–11 ns per draw against ≈ 27 ns for Marsaglia–Tsang and its log
(``benchmarks/mlp_collapse.py``).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit
from scipy import special

__all__ = ["LAYERS", "table", "tables", "log_gamma", "log_gamma_from", "log_chi2",
           "log_chi2_from"]

LAYERS = 256                   # about this many layers in all (both halves)
MAX_LAYERS = LAYERS + 16       # room for the rounding of the two halves' counts
_HEAD = 8                      # a, log a, layers, right base, r_R, φ′_R(r_R), r_L, φ′_L(r_L)
_W, _IN, _LO, _HI, _SIGN = (_HEAD + k * MAX_LAYERS for k in range(5))
ROW = _HEAD + 5 * MAX_LAYERS
LOG2 = math.log(2.0)


@njit(cache=True, nogil=True)
def _phi(a: float, s: float, right: bool) -> float:
    """φ of the half: a(eˢ − 1 − s) (right) or a(e⁻ˢ − 1 + s) (left), for s ≥ 0."""
    if right:
        return a * (math.expm1(s) - s)
    return a * (math.expm1(-s) + s)


@njit(cache=True, nogil=True)
def _dphi(a: float, s: float, right: bool) -> float:
    return a * math.expm1(s) if right else -a * math.expm1(-s)


@njit(cache=True, nogil=True)
def _inverse(a: float, q: float, start: float, right: bool) -> float:
    """The s ≥ 0 with φ(s) = q, by Newton from ``start`` (φ(start) ≥ q): φ is convex and
    increasing, so the iterates decrease monotonically to the root."""
    s = start
    for _ in range(200):
        f = _phi(a, s, right) - q
        if f <= 0.0:
            return s
        step = f / _dphi(a, s, right)
        s -= step
        if s <= 0.0:
            return 0.0
        if step <= 1e-17 * s:
            return s
    return s


@njit(cache=True, nogil=True)
def _half_layers(a: float, r: float, v: float, right: bool, out: np.ndarray) -> int:
    """Layers of area v of one half from base edge r: rows (width, inner, h_lo, h_hi) of
    ``out``; returns how many. The base layer is (v/h(r), r, 0, h(r)); layer i ≥ 1 spans
    [0, x_i] × [h(x_i), h(x_{i+1})], x_{i+1} = h⁻¹(h(x_i) + v/x_i); the last one reaches
    (or passes) the mode: inner 0, h_hi = h(x_i) + v/x_i ≥ 1."""
    hr = math.exp(-_phi(a, r, right))
    out[0, 0], out[0, 1], out[0, 2], out[0, 3] = v / hr, r, 0.0, hr
    x, hx, k = r, hr, 1
    while k < out.shape[0]:
        top = hx + v / x
        if top >= 1.0:
            out[k, 0], out[k, 1], out[k, 2], out[k, 3] = x, 0.0, hx, top
            return k + 1
        nxt = _inverse(a, -math.log(top), x, right)
        out[k, 0], out[k, 1], out[k, 2], out[k, 3] = x, nxt, hx, top
        x, hx, k = nxt, math.exp(-_phi(a, nxt, right)), k + 1
    return k + 1  # more layers than rows: the caller refuses the table


def _tail(a: float, r: float, right: bool) -> float:
    """∫_r^∞ h = C·Q(a, a eʳ) (right) or C·P(a, a e⁻ʳ) (left), C = eᵃ a⁻ᵃ Γ(a)."""
    c = math.exp(a - a * math.log(a) + special.gammaln(a))
    return c * (special.gammaincc(a, a * math.exp(r)) if right
                else special.gammainc(a, a * math.exp(-r)))


def _base_edge(a: float, v: float, right: bool) -> float:
    """The r with r h(r) + ∫_r^∞ h = v (the left side decreases in r), by bisection."""
    def area(r: float) -> float:
        return r * math.exp(-float(_phi(a, r, right))) + _tail(a, r, right)

    lo, hi = 0.0, 1.0 / math.sqrt(a)
    while area(hi) > v:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if area(mid) > v else (lo, mid)
    return hi


@lru_cache(maxsize=None)
def table(a: float) -> np.ndarray:
    """The sampler's row for shape a > 0 (see the module docstring for the layers)."""
    if not a > 0:
        raise ValueError(f"the gamma shape must be positive, not {a}")
    c = math.exp(a - a * math.log(a) + special.gammaln(a))
    v = c / (LAYERS - 6)  # a few layers of slack for the two top layers' excess
    halves, n = [], 0
    for right in (True, False):
        r = _base_edge(a, v, right)
        out = np.zeros((MAX_LAYERS, 4))
        count = _half_layers(a, r, v, right, out)
        halves.append((r, out[:count]))
        n += count
    if n > MAX_LAYERS:
        raise ArithmeticError(f"log-gamma ziggurat for a = {a}: {n} layers")
    (r_r, right_layers), (r_l, left_layers) = halves
    row = np.zeros(ROW)
    row[:_HEAD] = [a, math.log(a), n, len(right_layers), r_r, _dphi(a, r_r, True),
                   r_l, _dphi(a, r_l, False)]
    layers = np.vstack([right_layers, left_layers])
    for k, off in enumerate((_W, _IN, _LO, _HI)):
        row[off: off + n] = layers[:, k]
    row[_SIGN: _SIGN + n] = np.r_[np.ones(len(right_layers)), -np.ones(len(left_layers))]
    row.setflags(write=False)
    return row


def tables(shapes: np.ndarray | list[float]) -> np.ndarray:
    """The rows of :func:`table` for ``shapes``, end to end in one array: the row of
    ``shapes[k]`` starts at offset k·ROW (the ``off`` of :func:`log_gamma`)."""
    return np.concatenate([table(float(a)) for a in shapes]) if len(shapes) else np.zeros(0)


@njit(cache=True, nogil=True, inline="always")
def log_gamma(rng, tab: np.ndarray, off: int) -> float:
    """One draw of log G, G ~ Gamma(a), from the row at ``off`` of a :func:`tables` array
    (see the module docstring)."""
    return log_gamma_from(rng, tab, off, rng.random())


@njit(cache=True, nogil=True, inline="always")
def log_gamma_from(rng, tab: np.ndarray, off: int, u: float) -> float:
    """:func:`log_gamma` whose first try is the given uniform ``u`` ∈ [0, 1): with n layers,
    ⌊u·n⌋ is the layer and the fraction u·n − ⌊u·n⌋ the position in it. Anything more
    (the wedge test, the tail, a new try after a rejection) draws from ``rng``. A caller
    can so fill the uniforms of a block of draws in one tight loop first."""
    n = tab[off + 2]
    while True:
        v = u * n
        i = min(int(v), int(n) - 1)
        s = (v - i) * tab[off + _W + i]
        sign = tab[off + _SIGN + i]
        if s < tab[off + _IN + i]:                # ≈ 99 % of the draws
            return tab[off + 1] + sign * s
        a, right = tab[off], sign > 0.0
        if i == 0 or i == int(tab[off + 3]):      # a base layer: the tail beyond r
            r, lam = (tab[off + 4], tab[off + 5]) if right else (tab[off + 6], tab[off + 7])
            phr = _phi(a, r, right)
            while True:
                s = r - math.log1p(-rng.random()) / lam
                if math.log1p(-rng.random()) < -(_phi(a, s, right) - phr - lam * (s - r)):
                    return tab[off + 1] + sign * s
        lo, hi = tab[off + _LO + i], tab[off + _HI + i]
        if lo + rng.random() * (hi - lo) < math.exp(-_phi(a, s, right)):
            return tab[off + 1] + sign * s
        u = rng.random()


@njit(cache=True, nogil=True, inline="always")
def log_chi2(rng, tab: np.ndarray, off: int) -> float:
    """log χ²_k = log 2 + log Gamma(k/2), from the row of shape k/2 at ``off``."""
    return LOG2 + log_gamma(rng, tab, off)


@njit(cache=True, nogil=True, inline="always")
def log_chi2_from(rng, tab: np.ndarray, off: int, u: float) -> float:
    """:func:`log_chi2` with the first try from the uniform ``u`` (see :func:`log_gamma_from`)."""
    return LOG2 + log_gamma_from(rng, tab, off, u)
