"""numba kernels: Monte-Carlo moments of f(g) and f(g)² for Mish.

How to write a kernel that keeps the TUI responsive and uses every core it is given:
* ``nogil=True`` releases the GIL while the kernel runs, so the UI thread keeps drawing
  and ``ctx.map_chunks`` can run ``ctx.threads`` chunks at once;
* ``cache=True`` compiles once per machine (the first run shows "compiling…");
* the first two arguments are the chunk's ``numpy.random.Generator`` and its number of
  samples — ``ctx.map_chunks(kernel, total, size, *args)`` calls ``kernel(rng, n, *args)``
  for each chunk, and numba draws from the Generator in nopython mode (NumPy's ziggurat);
  results then depend on the run seed only, not on threads or scheduling;
* each call does a *chunk* of work (~1e5 samples, a few ms), so cancellation is quick;
* return per-chunk moments (count, mean, M2) and merge them in order with
  ``RunningStats.merge_moments``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def mish_moments(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Welford mean and M2 = Σ (x − mean)² of x = (f(g), f(g)²) over n draws g ~ N(0, 1)."""
    mean = np.zeros(2)
    m2 = np.zeros(2)
    for k in range(n):
        g = rng.standard_normal()
        sp = max(g, 0.0) + math.log1p(math.exp(-abs(g)))  # softplus, overflow-free
        f = g * math.tanh(sp)
        for j, x in enumerate((f, f * f)):
            delta = x - mean[j]
            mean[j] += delta / (k + 1)
            m2[j] += delta * (x - mean[j])
    return mean, m2
