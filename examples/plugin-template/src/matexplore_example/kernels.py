"""numba kernels: Monte-Carlo sums of f(g) and f(g)² for Mish.

How to write a kernel that keeps the TUI responsive:
* ``nogil=True`` releases the GIL while the kernel runs, so the UI thread keeps drawing;
* ``cache=True`` compiles once per machine (the first run shows "compiling…");
* each call does a *chunk* of work (here ~1e5 samples, a few ms), so the experiment can
  check ``ctx.cancelled`` between calls;
* numba has its own per-thread random state: seed it inside the kernel from a seed the
  experiment derives with ``ctx.child_seeds`` — results then depend on the run seed only.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def mish_sums(seed: int, n: int) -> tuple[float, float]:
    """Return (Σ f(g_i), Σ f(g_i)²) over n standard normal draws."""
    np.random.seed(seed)
    s1 = 0.0
    s2 = 0.0
    for _ in range(n):
        g = np.random.standard_normal()
        sp = max(g, 0.0) + math.log1p(math.exp(-abs(g)))
        f = g * math.tanh(sp)
        s1 += f
        s2 += f * f
    return s1, s2
