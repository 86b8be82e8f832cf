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

Layout for :meth:`RunContext.map_chunks`: every ``*_chunk`` function has the signature
``(rng, n, hx, hy, ...)`` — the chunk's Generator, its number of pairs and its rows of the
(pairs × d) state, updated in place. φ = (f − shift)/scale: the raw f is applied once
with NumPy (its SIMD ``tanh``/``exp`` run at ~1 G values/s, far faster than scalar libm
calls inside numba, and any plugin's activation works), then one fused numba loop centres
and scales it, forms the Gram sums and draws the 2·d normals from the chunk's
``Generator`` (NumPy's ziggurat, supported in nopython mode). The loops use ``fastmath`` with
reassociation/contraction only (no ``nnan``/``ninf``: a NaN still propagates; measured
~18 % faster than strict IEEE order); since the same compiled code handles a chunk
whatever the number of threads, results stay bit-identical across thread counts on a
machine. On a CPU with another vector width the sums may round differently in the last
bit (as NumPy's SIMD ``tanh`` may), so a session rerun elsewhere can DIFFER at ~1e-16.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import njit

ArrayFn = Callable[[np.ndarray], np.ndarray]

#: reassociate / contract only: sums may vectorise, NaN and ±inf keep their meaning
_FAST = {"reassoc", "contract", "nsz", "arcp"}


@njit(cache=True, nogil=True)
def init_pairs(rng: np.random.Generator, n: int, hx: np.ndarray, hy: np.ndarray,
               rho0: float) -> None:
    """Fill hx, hy (n × d) with random inputs of RMS 1 and cosine exactly ρ₀:
    Gram–Schmidt of two Gaussian vectors e₁ ⟂ e₂, then hˣ = √d e₁, hʸ = √d (ρ₀e₁ + √(1−ρ₀²) e₂)."""
    d = hx.shape[1]
    c = math.sqrt(max(0.0, 1.0 - rho0 * rho0))
    for p in range(n):
        x, y = hx[p], hy[p]
        for i in range(d):
            x[i] = rng.standard_normal()
            y[i] = rng.standard_normal()
        x /= math.sqrt(np.sum(x * x))
        y -= np.sum(x * y) * x
        y /= math.sqrt(np.sum(y * y))
        for i in range(d):
            e1, e2 = x[i], y[i]
            x[i] = math.sqrt(d) * e1
            y[i] = math.sqrt(d) * (rho0 * e1 + c * e2)


@njit(cache=True, nogil=True, fastmath=_FAST)
def _rescale(x: np.ndarray, y: np.ndarray) -> float:
    """Scale x, y to RMS 1 (‖·‖² = d); return their cosine ⟨x, y⟩/(‖x‖‖y‖)."""
    d = x.shape[0]
    nxx = 0.0
    nyy = 0.0
    nxy = 0.0
    for i in range(d):
        nxx += x[i] * x[i]
        nyy += y[i] * y[i]
        nxy += x[i] * y[i]
    fx = math.sqrt(d / nxx) if nxx > 0.0 else 0.0
    fy = math.sqrt(d / nyy) if nyy > 0.0 else 0.0
    for i in range(d):
        x[i] *= fx
        y[i] *= fy
    den = math.sqrt(nxx * nyy)
    return nxy / den if den > 0.0 else 0.0


@njit(cache=True, nogil=True, fastmath=_FAST)
def gram_post(rng: np.random.Generator, fx: np.ndarray, fy: np.ndarray, hx: np.ndarray,
              hy: np.ndarray, shift: float, scale: float) -> np.ndarray:
    """Gram-shortcut layer from raw activations f(h) (rows = pairs), φ = (f − shift)/scale:
    overwrite hx, hy with d i.i.d. draws of N(0, G), rescale to RMS 1, return the cosines."""
    n, d = fx.shape
    out = np.empty(n)
    for p in range(n):
        fa, fb, x, y = fx[p], fy[p], hx[p], hy[p]
        aa = 0.0
        ab = 0.0
        bb = 0.0
        for i in range(d):
            a = fa[i] - shift
            b = fb[i] - shift
            aa += a * a
            ab += a * b
            bb += b * b
        s2 = scale * scale * d
        aa, ab, bb = aa / s2, ab / s2, bb / s2
        sx = math.sqrt(aa) if aa > 0.0 else 0.0
        cxy = ab / sx if sx > 0.0 else 0.0
        sy = math.sqrt(max(bb - cxy * cxy, 0.0))
        for i in range(d):
            z1 = rng.standard_normal()
            z2 = rng.standard_normal()
            x[i] = sx * z1
            y[i] = cxy * z1 + sy * z2
        out[p] = _rescale(x, y)
    return out


@njit(cache=True, nogil=True, fastmath=_FAST)
def matrix_post(rng: np.random.Generator, fx: np.ndarray, fy: np.ndarray, hx: np.ndarray,
                hy: np.ndarray, shift: float, scale: float) -> np.ndarray:
    """Explicit-matrix layer: h = W a, k = W b, a = φ(hˣ) = (f(hˣ) − shift)/scale (b alike),
    W ∈ ℝ^{d×d} i.i.d. N(0, 1/d) drawn row by row (O(d²) normals per pair), rescaled to
    RMS 1; returns the cosines."""
    n, d = fx.shape
    out = np.empty(n)
    s = 1.0 / math.sqrt(d)
    a = np.empty(d)
    b = np.empty(d)
    for p in range(n):
        x, y = hx[p], hy[p]
        for j in range(d):
            a[j] = (fx[p, j] - shift) / scale
            b[j] = (fy[p, j] - shift) / scale
        for i in range(d):
            u = 0.0
            v = 0.0
            for j in range(d):
                w = rng.standard_normal()
                u += w * a[j]
                v += w * b[j]
            x[i] = s * u
            y[i] = s * v
        out[p] = _rescale(x, y)
    return out


def gram_chunk(rng: np.random.Generator, n: int, hx: np.ndarray, hy: np.ndarray,
               fn: ArrayFn, shift: float, scale: float) -> np.ndarray:
    """One Gram-shortcut layer for a chunk of ``n`` pairs (``map_chunks`` signature), with
    φ = (fn − shift)/scale; fn is applied once by NumPy, shift/scale inside the kernel."""
    return gram_post(rng, fn(hx), fn(hy), hx, hy, shift, scale)


def matrix_chunk(rng: np.random.Generator, n: int, hx: np.ndarray, hy: np.ndarray,
                 fn: ArrayFn, shift: float, scale: float) -> np.ndarray:
    """One explicit-matrix layer for a chunk of ``n`` pairs (``map_chunks`` signature)."""
    return matrix_post(rng, fn(hx), fn(hy), hx, hy, shift, scale)


# ---------------------------------------------------------------- NumPy references
def numpy_gram_layer(hx: np.ndarray, hy: np.ndarray, phi: ArrayFn,
                     rng: np.random.Generator) -> np.ndarray:
    """The best vectorised NumPy Gram shortcut: all pairs at once, Generator bulk fills,
    row sums by ``einsum``; hx, hy updated in place, cosines returned."""
    d = hx.shape[1]
    ax, ay = phi(hx), phi(hy)
    aa, ab, bb = (np.einsum("ij,ij->i", s, t) / d for s, t in ((ax, ax), (ax, ay), (ay, ay)))
    sx = np.sqrt(aa)
    cxy = ab / sx
    sy = np.sqrt(np.maximum(bb - cxy**2, 0.0))
    rng.standard_normal(out=hx)
    rng.standard_normal(out=hy)
    hy *= sy[:, None]
    hy += cxy[:, None] * hx
    hx *= sx[:, None]
    return _numpy_rescale_rows(hx, hy)


def numpy_matrix_layer(hx: np.ndarray, hy: np.ndarray, phi: ArrayFn,
                       rng: np.random.Generator) -> np.ndarray:
    """Naive reference: one explicit W per pair in a Python loop, h⁺ = W φ(h)."""
    d = hx.shape[1]
    for p in range(hx.shape[0]):
        w = rng.standard_normal((d, d)) / math.sqrt(d)
        hx[p], hy[p] = w @ phi(hx[p]), w @ phi(hy[p])
    return _numpy_rescale_rows(hx, hy)


def _numpy_rescale_rows(hx: np.ndarray, hy: np.ndarray) -> np.ndarray:
    d = hx.shape[1]
    nx, ny = np.einsum("ij,ij->i", hx, hx), np.einsum("ij,ij->i", hy, hy)
    cos = np.einsum("ij,ij->i", hx, hy) / np.sqrt(nx * ny)
    hx *= np.sqrt(d / nx)[:, None]
    hy *= np.sqrt(d / ny)[:, None]
    return cos
