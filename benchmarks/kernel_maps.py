"""Benchmark of the finite-width kernel-map Monte-Carlo (kernel_maps plugin, issue 5).

One layer maps the pre-activations (hˣ, hʸ) of each of `pairs` independent networks to
h⁺ = W φ(h) (rescaled to RMS 1). Timed side by side, same width/depth/pairs, tanh:

1. naive NumPy: an explicit d×d Gaussian W per pair and layer (O(d²));
2. NumPy Gram shortcut: h⁺ drawn as d i.i.d. bivariate normals, vectorised over pairs;
3. numba Gram shortcut, 1 thread (the experiment's kernel);
4. numba Gram shortcut, parallel over pairs (all numba threads);
plus numba's explicit-matrix kernel. The naive path is run on `--naive-pairs` pairs and
scaled linearly to `pairs` (its cost is exactly proportional to the number of pairs).
Finally the Gaussian draws per second of the numba shortcut (2·d per pair and layer)
against NumPy's own ``standard_normal`` throughput, the practical limit.

    /work/venv/bin/python benchmarks/kernel_maps.py [--width 1024 --depth 50 --pairs 256]
"""

from __future__ import annotations

import argparse
import math
import time

import numba
import numpy as np

from matexplore_plugins.kernel_maps import kernels as kn
from matexplore_plugins.kernel_maps.activations import BUILTIN, CODES, kernel_map


@numba.njit(cache=True, nogil=True)
def numba_normals(seed: int, m: int) -> float:
    """Sum of m draws of numba's np.random.standard_normal (its raw throughput)."""
    np.random.seed(seed)
    s = 0.0
    for _ in range(m):
        s += np.random.standard_normal()
    return s


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--depth", type=int, default=50)
    ap.add_argument("--pairs", type=int, default=256)
    ap.add_argument("--naive-pairs", type=int, default=8)
    ap.add_argument("--matrix-pairs", type=int, default=16)
    a = ap.parse_args()
    d, depth, n = a.width, a.depth, a.pairs
    km = kernel_map(BUILTIN["tanh"])
    scale, code = math.sqrt(km.m2), CODES["tanh"]

    def fresh(m: int) -> tuple[np.ndarray, np.ndarray]:
        hx, hy = np.empty((m, d)), np.empty((m, d))
        kn.init_pairs(1, 0.5, hx, hy)
        return hx, hy

    def numba_run(layer, m: int):
        hx, hy = fresh(m)
        return lambda: [layer(hx, hy, 7 + ell, code, 0.0, 0.0, scale) for ell in range(depth)]

    def numpy_run(layer, m: int):
        hx, hy = fresh(m)
        rng = np.random.default_rng(0)
        return lambda: [layer(hx, hy, km.phi, rng) for _ in range(depth)]

    # compile (cached after the first run) outside the timings
    for layer in (kn.gram_layer, kn.gram_layer_parallel, kn.matrix_layer):
        h = fresh(2)
        layer(h[0], h[1], 1, code, 0.0, 0.0, scale)

    rows = []
    t_naive = timed(numpy_run(kn.numpy_matrix_layer, a.naive_pairs)) * n / a.naive_pairs
    rows.append(("naive NumPy, explicit W", t_naive, f"(measured on {a.naive_pairs} pairs)"))
    rows.append(("NumPy Gram shortcut", timed(numpy_run(kn.numpy_gram_layer, n)), ""))
    t_mat = timed(numba_run(kn.matrix_layer, a.matrix_pairs)) * n / a.matrix_pairs
    rows.append(("numba explicit W, 1 thread", t_mat, f"(measured on {a.matrix_pairs} pairs)"))
    t_gram = timed(numba_run(kn.gram_layer, n))
    rows.append(("numba Gram shortcut, 1 thread", t_gram, ""))
    threads = numba.get_num_threads()
    rows.append((f"numba Gram shortcut, {threads} threads",
                 timed(numba_run(kn.gram_layer_parallel, n)), ""))

    print(f"kernel-map Monte-Carlo, tanh, width {d}, depth {depth}, {n} pairs "
          f"({numba.config.NUMBA_NUM_THREADS} cores visible to numba)")
    print(f"{'method':36s} {'time [s]':>10s} {'speed-up vs naive':>18s}")
    for name, t, note in rows:
        print(f"{name:36s} {t:10.3f} {t_naive / t:17.1f}x  {note}")

    draws = 2 * d * n * depth
    rng = np.random.default_rng(0)
    t_np = min(timed(lambda: rng.standard_normal(10_000_000)) for _ in range(3))
    numba_normals(1, 10)
    t_nb = min(timed(lambda: numba_normals(2, 10_000_000)) for _ in range(3))
    print(f"\nGaussian draws/s: numba Gram shortcut (1 thread, incl. activation and Gram "
          f"sums) {draws / t_gram / 1e6:.1f} M/s; numba's raw np.random.standard_normal "
          f"{1e7 / t_nb / 1e6:.1f} M/s; numpy Generator.standard_normal {1e7 / t_np / 1e6:.1f} "
          f"M/s (shortcut / numpy = {draws / t_gram / (1e7 / t_np):.2f})")


if __name__ == "__main__":
    main()
