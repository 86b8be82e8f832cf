"""Benchmark of the finite-width kernel-map Monte-Carlo against the NumPy a user would write.

One layer maps the pre-activations (hˣ, hʸ) of each of `pairs` independent networks to
h⁺ = W φ(h) (rescaled to RMS 1). The Gram shortcut draws h⁺ as d i.i.d. bivariate normals
with covariance (1/d)·Gram(φ(hˣ), φ(hʸ)): 2·d Gaussian draws per pair and layer. Timed
side by side in one run, same width/depth/pairs, tanh (best of `--repeat` interleaved runs each):

1. NumPy Gram shortcut: the best vectorised NumPy version of the same sampler
   (all pairs at once, ``Generator.standard_normal(out=...)`` bulk fills, ``einsum`` sums);
2. ours, 1 thread and 3. ours, 2 threads: the experiment's own driver
   (``ctx.map_chunks`` over chunks of pairs, each on its own Generator);
4. the RNG limit: ``Generator.standard_normal()`` draws/s inside an njit loop, one thread.

Also the explicit-W samplers (O(d²) per pair). The old naive per-pair NumPy loop is
measured on `--naive-pairs` pairs, scaled linearly, and printed only as a footnote.

    python benchmarks/kernel_maps.py [--width 1024 --depth 50 --pairs 256]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from common import best_of, interleaved_best, rng_limit_runs

from matexplore import RunContext
from matexplore.params import Params
from matexplore_plugins.kernel_maps import kernels as kn
from matexplore_plugins.kernel_maps.activations import BUILTIN, kernel_map
from matexplore_plugins.kernel_maps.experiments import _FiniteWidth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--depth", type=int, default=50)
    ap.add_argument("--pairs", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--naive-pairs", type=int, default=4)
    ap.add_argument("--matrix-pairs", type=int, default=8)
    a = ap.parse_args()
    d, depth, n = a.width, a.depth, a.pairs
    km = kernel_map(BUILTIN["tanh"])

    def ours(threads: int, sampler: str = "gram", pairs: int = n) -> Callable[[], object]:
        p = Params({"pairs": pairs, "width": d, "sampler": sampler, "rho0": 0.5})

        def go() -> None:
            mc = _FiniteWidth(km, p, RunContext(1, threads=threads))
            for _ in range(depth):
                mc.step()
        return go

    def numpy_run(layer, pairs: int) -> Callable[[], object]:
        def go() -> None:
            rng = np.random.default_rng(0)
            hx, hy = np.empty((pairs, d)), np.empty((pairs, d))
            kn.init_pairs(rng, pairs, hx, hy, 0.5)
            for _ in range(depth):
                layer(hx, hy, km.phi, rng)
        return go

    # compile (cached after the first run) outside the timings
    ours(1, "gram", 2)()
    ours(1, "matrix", 2)()

    limit_draws = 10_000_000
    times = interleaved_best({"numpy": numpy_run(kn.numpy_gram_layer, n), "one": ours(1),
                              "two": ours(2), **rng_limit_runs(limit_draws)}, a.repeat)
    t_np, t1, t2, t_lim = times["numpy"], times["one"], times["two"], times["limit"]
    t_lim2 = times["limit2"]
    t_m1 = best_of(ours(1, "matrix", a.matrix_pairs), 1) * n / a.matrix_pairs
    t_m2 = best_of(ours(2, "matrix", a.matrix_pairs), 1) * n / a.matrix_pairs
    t_naive = best_of(numpy_run(kn.numpy_matrix_layer, a.naive_pairs), 1) * n / a.naive_pairs

    draws = 2 * d * n * depth
    limit = limit_draws / t_lim
    print(f"kernel-map Monte-Carlo, tanh, width {d}, depth {depth}, {n} pairs "
          f"({draws / 1e6:.1f} M Gaussian draws; best of {a.repeat})")
    print(f"{'method':40s} {'time [s]':>9s} {'M draws/s':>10s} {'vs NumPy':>9s}")
    rows = [("NumPy Gram shortcut (vectorised)", t_np), ("ours, Gram, 1 thread", t1),
            ("ours, Gram, 2 threads", t2)]
    for name, t in rows:
        print(f"{name:40s} {t:9.3f} {draws / t / 1e6:10.1f} {t_np / t:8.2f}x")
    print(f"{'RNG limit (Generator in njit, 1 thread)':40s} {draws / limit:9.3f} "
          f"{limit / 1e6:10.1f}")
    print(f"\nours / RNG limit in draws/s: 1 thread {draws / t1 / limit:.2f}, "
          f"2 threads {draws / t2 / limit:.2f}; 2-thread scaling {t1 / t2:.2f}x "
          f"(control: the RNG-limit loop itself scales {t_lim / t_lim2:.2f}x on 2 threads "
          "on this machine right now; < 2 means other jobs hold a core)")
    mdraws = d * d * n * depth
    print(f"explicit W (d² draws per pair and layer; {a.matrix_pairs} pairs, scaled): "
          f"1 thread {t_m1:.2f} s ({mdraws / t_m1 / 1e6:.0f} M draws/s), "
          f"2 threads {t_m2:.2f} s")
    print(f"footnote: naive NumPy loop, one explicit W per pair ({a.naive_pairs} pairs, "
          f"scaled): {t_naive:.2f} s = {t_naive / t1:.0f}x ours on 1 thread")


if __name__ == "__main__":
    main()
