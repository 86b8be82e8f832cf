"""Benchmark of the batchnorm_rank layer step at d = 1024, n = 64 (issue 7).

Prints, measured in one run:
* layers/s of the plugin's QR-tracked chain (sampler full / reduced, gaussian / orthogonal)
  against a plain NumPy loop (H ← W H; rows ÷ RMS; eigvalsh(HᵀH/d)), and the ratios;
* where one gaussian layer's time goes: drawing W, the d×d·d×n matmul, the thin QR of
  the BN step, the Cholesky log det of the weight step, the BN kernel, the eigenvalues;
* the matmul's achieved GFLOP/s against numpy's own square-matmul throughput (the
  practical limit on this machine) and against a numba loop (why BLAS does the matmul).

Usage: python benchmarks/batchnorm_rank.py [--layers 30] [--d 1024] [--n 64]
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable

import numpy as np
from numba import njit

import common
from matexplore.runner import limit_blas_threads
from matexplore_plugins.batchnorm_rank import kernels as K
from matexplore_plugins.batchnorm_rank.chain import BNChain


#: Smallest wall time of ``repeat`` calls after one warm-up call, in seconds.
best_of = functools.partial(common.best_of, warmup=True)


def plain_numpy_layers(d: int, n: int, layers: int, weights: str, seed: int = 0) -> float:
    """Layers/s of the naive loop: H ← W H, BN by row RMS, eigvalsh of the Gram."""
    rng = np.random.default_rng(seed)
    H = rng.standard_normal((d, n))
    t0 = time.perf_counter()
    for _ in range(layers):
        if weights == "gaussian":
            W = rng.standard_normal((d, d)) / np.sqrt(d)
        else:
            q, r = np.linalg.qr(rng.standard_normal((d, d)))
            W = q * np.sign(np.diag(r))
        H = W @ H
        H /= np.sqrt((H**2).mean(axis=1, keepdims=True))
        np.linalg.eigvalsh(H.T @ H / d)
    return layers / (time.perf_counter() - t0)


def chain_layers(d: int, n: int, layers: int, weights: str, sampler: str,
                 threads: int = 1) -> float:
    """Layers/s of the plugin's chain (compiled kernels, state in QR form)."""
    c = BNChain(d, n, weights, False, None, sampler, np.random.default_rng(0), threads)
    c.step()
    t0 = time.perf_counter()
    for _ in range(layers):
        c.step()
    return layers / (time.perf_counter() - t0)


def stepper(chain: BNChain, layers: int) -> Callable[[], None]:
    """A run for common.interleaved_best: ``layers`` more layers of ``chain``."""
    chain.step()  # compile, touch memory

    def go() -> None:
        for _ in range(layers):
            chain.step()
    return go


def gaussian_full_rates(d: int, n: int, layers: int, repeat: int = 5) -> dict[str, float]:
    """Layers/s of the previous and the current full Gaussian sampler on 1 and 2 threads,
    measured interleaved (the machine's speed drifts over seconds)."""
    def fresh(cls: type[BNChain], threads: int = 1) -> BNChain:
        return cls(d, n, "gaussian", False, None, "full", np.random.default_rng(0), threads)

    runs = {"previous": stepper(fresh(NumPyDrawChain), layers),
            "1 thread": stepper(fresh(BNChain), layers),
            "2 threads": stepper(fresh(BNChain, 2), layers)}
    return {k: layers / t for k, t in common.interleaved_best(runs, repeat).items()}


class NumPyDrawChain(BNChain):
    """The full Gaussian sampler before issue 14: W drawn by NumPy's bulk fill, W·Q, and a
    QR after the weight step as after the BN step."""

    def weight_step(self, cancelled: Callable[[], bool] = lambda: False) -> float | None:
        W = self.rng.standard_normal((self.d, self.d)) / np.sqrt(self.d)
        dl = self._refactor_q(W @ self.Q)
        self.logdet += dl
        return dl


@njit(cache=True, nogil=True)
def numba_matmul(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> None:
    """C = A B by an i-k-j loop (contiguous inner loop, auto-vectorised by LLVM)."""
    d, k = A.shape
    m = B.shape[1]
    for i in range(d):
        for j in range(m):
            C[i, j] = 0.0
        for t in range(k):
            a = A[i, t]
            for j in range(m):
                C[i, j] += a * B[t, j]


def breakdown(d: int, n: int) -> dict[str, float]:
    """Seconds per part of one gaussian full-sampler layer."""
    rng = np.random.default_rng(1)
    c = BNChain(d, n, "gaussian", False, None, "full", np.random.default_rng(0))
    for _ in range(3):
        c.step()
    W = rng.standard_normal((d, d))
    M = W @ c.Q
    DQ = np.empty_like(c.Q)
    w = np.empty((d, d))
    return {
        "draw W, NumPy bulk fill (old)": best_of(lambda: rng.standard_normal((d, d))),
        "draw W, numba Generator, 1 thr": best_of(lambda: K.fill_normal(rng, w, 1.0)),
        "draw+matmul W·Q, 1 thread": best_of(lambda: K.gaussian_image(c.Q, rng, 1)),
        "draw+matmul W·Q, 2 threads": best_of(lambda: K.gaussian_image(c.Q, rng, 2)),
        "matmul W·Q": best_of(lambda: W @ c.Q),
        "thin QR (d×n), BN step": best_of(lambda: np.linalg.qr(M)),
        "MᵀM + Cholesky log det": best_of(lambda: K.gram_logdet(M)),
        "BN kernel (+ Q·R)": best_of(lambda: K.bn_scale(c.Q @ c.R, c.Q, n, DQ)),
        "eigvalsh (n×n)": best_of(lambda: K.gram_eigs(c.R, d)),
        "R products + flush": best_of(lambda: K.flush_tiny(c.R @ c.R, K.FLUSH)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=30)
    ap.add_argument("--d", type=int, default=1024)
    ap.add_argument("--n", type=int, default=64)
    a = ap.parse_args()
    limit_blas_threads()  # as in the app: one BLAS thread per process
    d, n, L = a.d, a.n, a.layers
    print(f"batchnorm_rank benchmark: d = {d}, n = {n}, {L} layers per timing")
    print("\n== layers per second ==")
    plain_g = plain_numpy_layers(d, n, L, "gaussian")
    plain_o = plain_numpy_layers(d, n, max(3, L // 10), "orthogonal")
    full = gaussian_full_rates(d, n, max(3, L // 3))
    rows = [("plain NumPy loop, gaussian", plain_g, plain_g),
            ("previous plugin full, gaussian (NumPy W draw)", full["previous"], plain_g),
            ("plugin full, gaussian, 1 thread", full["1 thread"], plain_g),
            ("plugin full, gaussian, 2 threads", full["2 threads"], plain_g),
            ("plugin reduced, gaussian", chain_layers(d, n, L, "gaussian", "reduced"), plain_g),
            ("plain NumPy loop, orthogonal (QR d×d)", plain_o, plain_o),
            ("plugin full, orthogonal (reflections)",
             chain_layers(d, n, max(3, L // 3), "orthogonal", "full"), plain_o),
            ("plugin reduced, orthogonal",
             chain_layers(d, n, L, "orthogonal", "reduced"), plain_o)]
    for name, rate, ref in rows:
        print(f"  {name:42s} {rate:9.1f} layers/s   ×{rate / ref:6.2f} vs plain")
    print(f"  full gaussian vs previous (interleaved): ×{full['1 thread'] / full['previous']:.2f}"
          f" on 1 thread, ×{full['2 threads'] / full['previous']:.2f} on 2 threads")
    print("\n== one gaussian layer (sampler full), best of 5 ==")
    parts = breakdown(d, n)
    for name, t in parts.items():
        print(f"  {name:28s} {t * 1e3:8.2f} ms")
    print("\n== matmul throughput ==")
    rng = np.random.default_rng(2)
    W, Q = rng.standard_normal((d, d)), rng.standard_normal((d, n))
    t_mm = parts["matmul W·Q"]
    S = rng.standard_normal((d, d))
    t_sq = best_of(lambda: S @ S, 3)
    C = np.empty((d, n))
    t_nb = best_of(lambda: numba_matmul(W, Q, C), 3)
    flops = 2.0 * d * d * n
    print(f"  W·Q (d×d·d×n) via numpy/BLAS : {flops / t_mm / 1e9:7.2f} GFLOP/s")
    print(f"  numpy square d×d·d×d         : {2.0 * d**3 / t_sq / 1e9:7.2f} GFLOP/s "
          "(practical limit)")
    print(f"  numba i-k-j loop W·Q         : {flops / t_nb / 1e9:7.2f} GFLOP/s")
    print(f"  W·Q reaches {t_sq / (2.0 * d**3) * flops / t_mm * 100:5.1f}% of the square "
          "matmul's rate")


if __name__ == "__main__":
    main()
