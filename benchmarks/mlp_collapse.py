"""Benchmark of the mlp_collapse samplers (not a test): networks per second.

norms  (width 10, depth 100): naive NumPy (one network at a time, explicit W_ℓ),
       batched NumPy (explicit W for a block of networks), numba vector / χ² / matrix.
angles (width 32, depth 100): naive NumPy (explicit W, both inputs), numba Gram (O(d)),
       χ²/Bartlett (O(1) per layer) and matrix.
numba kernels run single-thread and on 2 threads (nogil, one seeded chunk per thread).
Also: Gaussian draws per second, numba vs NumPy ``standard_normal``.

    /work/venv/bin/python benchmarks/mlp_collapse.py
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

from matexplore_plugins.mlp_collapse import kernels as K
from matexplore_plugins.mlp_collapse import theory as T


def rate(fn: Callable[[], int], min_time: float = 1.0) -> float:
    """Items per second of ``fn`` (returns the number of items it processed)."""
    fn()                                           # warm-up (numba compile / caches)
    items, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_time:
        items += fn()
    return items / (time.perf_counter() - t0)


def threaded(fn: Callable[[int], int], threads: int) -> Callable[[], int]:
    pool = ThreadPoolExecutor(threads)
    return lambda: sum(pool.map(fn, range(threads)))


# ---- norms ------------------------------------------------------------------------------

D, L = 10, 100
WIDTHS = np.full(L + 1, D, dtype=np.int64)
M, S = T.norms_mean_exact(WIDTHS), np.sqrt(T.norms_var_exact(WIDTHS))
LO, IW = M - 8 * S, 512 / (16 * S)


def norms_naive(n: int = 100) -> int:
    rng = np.random.default_rng(0)
    for _ in range(n):
        x = rng.standard_normal(D)
        x /= np.linalg.norm(x)
        y = 0.0
        for _ in range(L):
            z = (rng.standard_normal((D, D)) / math.sqrt(D)) @ x
            r = z @ z
            y += math.log(r)
            x = z / math.sqrt(r)
    return n


def norms_batched(n: int = 2000) -> int:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, D))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.zeros(n)
    for _ in range(L):
        z = np.einsum("nij,nj->ni", rng.standard_normal((n, D, D)) / math.sqrt(D), x)
        r = (z * z).sum(1)
        y += np.log(r)
        x = z / np.sqrt(r)[:, None]
    return n


def norms_numba(mode: int, n: int) -> Callable[[int], int]:
    def go(seed: int) -> int:
        K.norms_chunk(seed, n, WIDTHS, mode, LO, IW, 512, math.log(1e-4), math.log(100.0))
        return n
    return go


# ---- angles -----------------------------------------------------------------------------

DA, LA = 32, 100


def angles_naive(n: int = 20) -> int:
    rng = np.random.default_rng(0)
    for _ in range(n):
        x = rng.standard_normal(DA)
        y = rng.standard_normal(DA)
        for _ in range(LA):
            w = rng.standard_normal((DA, DA)) / math.sqrt(DA)
            x, y = w @ x, w @ y
            x /= np.linalg.norm(x)
            y /= np.linalg.norm(y)
            r = y - (x @ y) * x
            math.log(r @ r)
    return n


def angles_numba(mode: int, n: int) -> Callable[[int], int]:
    def go(seed: int) -> int:
        K.angles_chunk(seed, n, DA, LA, math.pi / 2, mode, False, 4096)
        return n
    return go


def main() -> None:
    rng = np.random.default_rng(0)
    np_draws = rate(lambda: (rng.standard_normal(10_000_000), 10_000_000)[1])
    nb_draws = rate(lambda: (K.normal_draws(1, 10_000_000), 10_000_000)[1])
    print("Gaussian draws/s (1 thread):")
    print(f"  numpy Generator.standard_normal  {np_draws / 1e6:8.1f} M/s")
    print(f"  numba np.random.standard_normal  {nb_draws / 1e6:8.1f} M/s"
          f"   ratio numba/numpy {nb_draws / np_draws:.2f}")

    rows = [("norms d=10 L=100", "naive NumPy (per network)", rate(norms_naive)),
            ("", "batched NumPy (2000 nets)", rate(norms_batched))]
    for name, mode, n in (("vector", K.MODE_VECTOR, 2000), ("chi2", K.MODE_CHI2, 5000),
                          ("matrix", K.MODE_MATRIX, 200)):
        fn = norms_numba(mode, n)
        rows.append(("", f"numba {name}, 1 thread", rate(lambda fn=fn: fn(1))))
        rows.append(("", f"numba {name}, 2 threads", rate(threaded(fn, 2))))
    base = rows[0][2]
    rows.append(("angles d=32 L=100", "naive NumPy (per network)", rate(angles_naive)))
    abase = rows[-1][2]
    for name, mode, n in (("gram", K.MODE_GRAM, 500), ("chi2 (Bartlett)", K.MODE_CHI2, 2000),
                          ("matrix", K.MODE_MATRIX, 20)):
        fn = angles_numba(mode, n)
        rows.append(("", f"numba {name}, 1 thread", rate(lambda fn=fn: fn(1))))
        rows.append(("", f"numba {name}, 2 threads", rate(threaded(fn, 2))))
    print(f"\n{'experiment':20s} {'path':30s} {'networks/s':>12s} {'× naive':>9s}")
    ref = base
    for exp, path, r in rows:
        if exp.startswith("angles"):
            ref = abase
        print(f"{exp:20s} {path:30s} {r:12.0f} {r / ref:9.1f}")


if __name__ == "__main__":
    main()
