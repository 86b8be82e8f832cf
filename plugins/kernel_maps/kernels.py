"""numba kernels: finite-width Monte-Carlo of the correlation of two inputs through a
random network (convention K2 of the notes), plus plain NumPy references.

One "pair" is one independent network fed two inputs. State: the pre-activations
hˣ, hʸ ∈ ℝᵈ of the current layer, rescaled to RMS 1 (‖h‖² = d). One layer:

    aˣ = φ(hˣ), aʸ = φ(hʸ);   h⁺ = W a,  W ∈ ℝ^{d×d} i.i.d. N(0, 1/d);   h⁺ ← h⁺/‖h⁺‖_rms,

and the measured correlation is ρ̂ = ⟨h⁺ˣ, h⁺ʸ⟩/(‖h⁺ˣ‖‖h⁺ʸ‖).

Gram shortcut (``sampler = gram``): given a, the rows of W are independent, so the
pairs (h⁺ˣ_i, h⁺ʸ_i), i = 1..d, are i.i.d. N(0, G) with G = (1/d)[[aˣ·aˣ, aˣ·aʸ],
[aˣ·aʸ, aʸ·aʸ]]: h⁺ˣ_i = √G₁₁ z₁, h⁺ʸ_i = (G₁₂/√G₁₁) z₁ + √(G₂₂ − G₁₂²/G₁₁) z₂. This is
exact in distribution and costs O(d) per pair and layer instead of O(d²) (``matrix``).

Built-in activations are selected by an integer code (``activations.CODES``) and
applied as φ = (f − shift)/scale inside the kernel; any other activation is applied with
NumPy and handed to the ``*_post`` kernels. Each pair is seeded inside the kernel from
(chunk seed, pair index) with a SplitMix64 hash, so results depend only on the seeds.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _f(x: float, code: int, slope: float) -> float:
    """The raw built-in activation f with code ``code`` (see activations.CODES)."""
    if code == 0:
        return x if x > 0.0 else 0.0
    if code == 1:
        return x if x > 0.0 else slope * x
    if code == 2:
        return math.tanh(x)
    if code == 3:
        return math.erf(x)
    if code == 4:
        return math.sin(x)
    if code == 5:
        return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))
    if code == 6:
        return x / (1.0 + math.exp(-x))
    if code == 7:
        return x if x > 0.0 else math.expm1(x)
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@njit(cache=True, nogil=True)
def pair_seed(seed: int, p: int) -> int:
    """A 31-bit seed for pair ``p`` of a chunk seeded ``seed`` (SplitMix64 finaliser)."""
    z = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(p + 1) * np.uint64(
        0xD1B54A32D192ED03)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return np.int64(z >> np.uint64(33))


@njit(cache=True, nogil=True)
def init_pairs(seed: int, rho0: float, hx: np.ndarray, hy: np.ndarray) -> None:
    """Fill hx, hy (pairs × d) with random inputs of RMS 1 and cosine exactly ρ₀."""
    n, d = hx.shape
    for p in range(n):
        np.random.seed(pair_seed(seed, p))
        for i in range(d):
            hx[p, i] = np.random.standard_normal()
            hy[p, i] = np.random.standard_normal()
        nx = math.sqrt(np.sum(hx[p] ** 2))
        hx[p] /= nx
        hy[p] -= np.sum(hx[p] * hy[p]) * hx[p]
        hy[p] /= math.sqrt(np.sum(hy[p] ** 2))
        c = math.sqrt(max(0.0, 1.0 - rho0 * rho0))
        for i in range(d):
            e1, e2 = hx[p, i], hy[p, i]
            hx[p, i] = math.sqrt(d) * e1
            hy[p, i] = math.sqrt(d) * (rho0 * e1 + c * e2)


@njit(cache=True, nogil=True)
def _draw_pair(hx: np.ndarray, hy: np.ndarray, aa: float, ab: float, bb: float,
               seed: int) -> float:
    """Overwrite hx, hy with d i.i.d. draws of N(0, [[aa, ab], [ab, bb]]), rescale both
    to RMS 1 and return their cosine."""
    np.random.seed(seed)
    sx = math.sqrt(aa) if aa > 0.0 else 0.0
    cxy = ab / sx if sx > 0.0 else 0.0
    sy = math.sqrt(max(bb - cxy * cxy, 0.0))
    nxx = 0.0
    nyy = 0.0
    nxy = 0.0
    d = hx.shape[0]
    for i in range(d):
        z1 = np.random.standard_normal()
        z2 = np.random.standard_normal()
        u = sx * z1
        v = cxy * z1 + sy * z2
        hx[i] = u
        hy[i] = v
        nxx += u * u
        nyy += v * v
        nxy += u * v
    return _rescale(hx, hy, nxx, nyy, nxy)


@njit(cache=True, nogil=True)
def _rescale(hx: np.ndarray, hy: np.ndarray, nxx: float, nyy: float, nxy: float) -> float:
    d = hx.shape[0]
    fx = math.sqrt(d / nxx) if nxx > 0.0 else 0.0
    fy = math.sqrt(d / nyy) if nyy > 0.0 else 0.0
    hx *= fx
    hy *= fy
    den = math.sqrt(nxx * nyy)
    return nxy / den if den > 0.0 else 0.0


@njit(cache=True, nogil=True)
def _gram_one(hx: np.ndarray, hy: np.ndarray, seed: int, code: int, slope: float,
              shift: float, scale: float) -> float:
    aa = 0.0
    ab = 0.0
    bb = 0.0
    d = hx.shape[0]
    for i in range(d):
        a = (_f(hx[i], code, slope) - shift) / scale
        b = (_f(hy[i], code, slope) - shift) / scale
        aa += a * a
        ab += a * b
        bb += b * b
    return _draw_pair(hx, hy, aa / d, ab / d, bb / d, seed)


@njit(cache=True, nogil=True)
def gram_layer(hx: np.ndarray, hy: np.ndarray, seed: int, code: int, slope: float,
               shift: float, scale: float) -> np.ndarray:
    """One layer for every pair (rows of hx, hy), Gram shortcut, built-in activation;
    hx, hy are updated in place, the cosines ρ̂ are returned."""
    n = hx.shape[0]
    out = np.empty(n)
    for p in range(n):
        out[p] = _gram_one(hx[p], hy[p], pair_seed(seed, p), code, slope, shift, scale)
    return out


@njit(cache=True, nogil=True, parallel=True)
def gram_layer_parallel(hx: np.ndarray, hy: np.ndarray, seed: int, code: int, slope: float,
                        shift: float, scale: float) -> np.ndarray:
    """:func:`gram_layer` with pairs spread over threads (same result: per-pair seeds)."""
    n = hx.shape[0]
    out = np.empty(n)
    for p in prange(n):
        out[p] = _gram_one(hx[p], hy[p], pair_seed(seed, p), code, slope, shift, scale)
    return out


@njit(cache=True, nogil=True)
def gram_post(ax: np.ndarray, ay: np.ndarray, seed: int, hx: np.ndarray,
              hy: np.ndarray) -> np.ndarray:
    """Gram-shortcut layer from given post-activations a = φ(h) (any activation)."""
    n, d = ax.shape
    out = np.empty(n)
    for p in range(n):
        aa = np.sum(ax[p] * ax[p]) / d
        ab = np.sum(ax[p] * ay[p]) / d
        bb = np.sum(ay[p] * ay[p]) / d
        out[p] = _draw_pair(hx[p], hy[p], aa, ab, bb, pair_seed(seed, p))
    return out


@njit(cache=True, nogil=True)
def _matrix_one(a: np.ndarray, b: np.ndarray, hx: np.ndarray, hy: np.ndarray,
                seed: int) -> float:
    """h = W a, k = W b with an explicit W ∈ ℝ^{d×d}, i.i.d. N(0, 1/d), row by row."""
    np.random.seed(seed)
    d = a.shape[0]
    s = 1.0 / math.sqrt(d)
    nxx = 0.0
    nyy = 0.0
    nxy = 0.0
    for i in range(d):
        u = 0.0
        v = 0.0
        for j in range(d):
            w = np.random.standard_normal()
            u += w * a[j]
            v += w * b[j]
        u *= s
        v *= s
        hx[i] = u
        hy[i] = v
        nxx += u * u
        nyy += v * v
        nxy += u * v
    return _rescale(hx, hy, nxx, nyy, nxy)


@njit(cache=True, nogil=True)
def matrix_layer(hx: np.ndarray, hy: np.ndarray, seed: int, code: int, slope: float,
                 shift: float, scale: float) -> np.ndarray:
    """One layer for every pair with explicit Gaussian weight matrices (O(d²) per pair)."""
    n, d = hx.shape
    out = np.empty(n)
    a = np.empty(d)
    b = np.empty(d)
    for p in range(n):
        for i in range(d):
            a[i] = (_f(hx[p, i], code, slope) - shift) / scale
            b[i] = (_f(hy[p, i], code, slope) - shift) / scale
        out[p] = _matrix_one(a, b, hx[p], hy[p], pair_seed(seed, p))
    return out


@njit(cache=True, nogil=True)
def matrix_post(ax: np.ndarray, ay: np.ndarray, seed: int, hx: np.ndarray,
                hy: np.ndarray) -> np.ndarray:
    """Explicit-matrix layer from given post-activations (any activation)."""
    n = ax.shape[0]
    out = np.empty(n)
    for p in range(n):
        out[p] = _matrix_one(ax[p], ay[p], hx[p], hy[p], pair_seed(seed, p))
    return out


# ---------------------------------------------------------------- NumPy references
def numpy_matrix_layer(hx: np.ndarray, hy: np.ndarray, phi, rng: np.random.Generator
                       ) -> np.ndarray:
    """Naive reference: one explicit W per pair, h⁺ = W φ(h), rescaled to RMS 1."""
    n, d = hx.shape
    out = np.empty(n)
    for p in range(n):
        w = rng.standard_normal((d, d)) / math.sqrt(d)
        hx[p], hy[p] = w @ phi(hx[p]), w @ phi(hy[p])
        out[p] = _numpy_rescale(hx[p], hy[p])
    return out


def numpy_gram_layer(hx: np.ndarray, hy: np.ndarray, phi, rng: np.random.Generator
                     ) -> np.ndarray:
    """Vectorised NumPy Gram shortcut over all pairs at once."""
    n, d = hx.shape
    ax, ay = phi(hx), phi(hy)
    aa, ab, bb = [np.einsum("ij,ij->i", s, t) / d for s, t in ((ax, ax), (ax, ay), (ay, ay))]
    sx = np.sqrt(aa)
    cxy = ab / sx
    sy = np.sqrt(np.maximum(bb - cxy**2, 0.0))
    z1, z2 = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    hx[:] = sx[:, None] * z1
    hy[:] = cxy[:, None] * z1 + sy[:, None] * z2
    return np.array([_numpy_rescale(hx[p], hy[p]) for p in range(n)])


def _numpy_rescale(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[0]
    nx, ny = float(x @ x), float(y @ y)
    c = float(x @ y) / math.sqrt(nx * ny)
    x *= math.sqrt(d / nx)
    y *= math.sqrt(d / ny)
    return c
