"""Benchmark: closed-form QQᵀ(t) vs integrating the gradient flow for the same trajectory.

The closed forms' point is speed: QQᵀ at any t costs a few n×n factorizations, while an ODE
solver must step through the whole trajectory.  For n = ni = nh = no ∈ {4, 20, 50}, a task
Σ = Ũ diag(linspace(3, 0.5, n)) Ṽᵀ, λ = 1, σ = 0.5 balanced init, we evaluate QQᵀ at 100
times in [0, 10] three ways and print wall times, ratios and the max discrepancy:
  stable   — theory.qq_stable (Thm 3.3.1(3), corrected),
  riccati  — theory.qq_riccati (eigenbasis of F),
  ode      — scipy solve_ivp DOP853 (rtol 1e-10, atol 1e-12) on the weight flow.
A second table times one far time point (u = 10 and 40): the closed form is one evaluation,
the ODE must integrate the whole way.  `ric ok ≤ t` is the last of the 100 times up to which
the Riccati form stays within 1e-6 of the ODE (it loses accuracy as e^{2Ku} grows).
BLAS is pinned to one thread (OPENBLAS_NUM_THREADS=1 unless set): on this 2-core shared
machine, threaded BLAS on ≤ 100×100 matrices oversubscribes and is 3–10× slower.
Run: python benchmarks/lambda_balanced.py [n ...]
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after pinning BLAS threads)
from scipy.integrate import solve_ivp  # noqa: E402

from matexplore_plugins.lambda_balanced import gd, theory as th


def ode_qq(w1: np.ndarray, w2: np.ndarray, sigma: np.ndarray,
           times: np.ndarray) -> list[np.ndarray]:
    """QQᵀ at `times` from integrating τ dW1/dt = W2ᵀE, τ dW2/dt = EW1ᵀ (τ = 1)."""
    n_w1 = w1.size

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        g1, g2 = gd.linear_grads(y[:n_w1].reshape(w1.shape), y[n_w1:].reshape(w2.shape), sigma)
        return np.concatenate([g1.ravel(), g2.ravel()])

    sol = solve_ivp(rhs, (0.0, float(times[-1])), np.concatenate([w1.ravel(), w2.ravel()]),
                    method="DOP853", rtol=1e-10, atol=1e-12, t_eval=times)
    return [th.qq_of(y[:n_w1].reshape(w1.shape), y[n_w1:].reshape(w2.shape)) for y in sol.y.T]


def timed(fn, repeat: int = 3):  # type: ignore[no-untyped-def]
    """(best wall time over `repeat` runs, last result)."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench(n: int, lam: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    ut, vt = th.haar_orthogonal(rng, n), th.haar_orthogonal(rng, n)
    sigma = ut @ np.diag(np.linspace(3.0, 0.5, n)) @ vt.T
    w1, w2 = th.balanced_weights(rng, n, n, n, lam, 0.5)
    times = np.linspace(0.0, 10.0, 100)
    t_st, qq_st = timed(lambda: list(map(th.StableQQ(w1, w2, sigma, lam), times)))
    t_ri, qq_ri = timed(lambda: list(map(th.RiccatiQQ(w1, w2, sigma, lam), times)))
    t_ode, qq_ode = timed(lambda: ode_qq(w1, w2, sigma, times), repeat=1)
    err_st = max(float(np.abs(a - b).max()) for a, b in zip(qq_st, qq_ode))
    ric_err = [float(np.abs(a - b).max()) for a, b in zip(qq_ri, qq_ode)]  # NaN: overflow
    ok = [t for t, e in zip(times, ric_err) if e < 1e-6]
    ok_t = ok[-1] if len(ok) == len(times) or not ok else times[len(ok) - 1]
    print(f"{n:>4} {t_st * 1e3:>10.1f} {t_ri * 1e3:>11.1f} {t_ode * 1e3:>10.1f} "
          f"{t_ode / t_st:>13.1f} {t_ode / t_ri:>14.1f} {err_st:>11.1e} {max(ric_err):>12.1e} "
          f"{ok_t:>12.2f}")
    return w1, w2, sigma


def bench_far(n: int, w1: np.ndarray, w2: np.ndarray, sigma: np.ndarray, lam: float,
              u: float) -> None:
    t_cf, qq_cf = timed(lambda: th.StableQQ(w1, w2, sigma, lam)(u))
    t_ode, qq_ode = timed(lambda: ode_qq(w1, w2, sigma, np.array([0.0, u]))[-1], repeat=1)
    print(f"{n:>4} {u:>6.0f} {t_cf * 1e3:>10.2f} {t_ode * 1e3:>10.1f} {t_ode / t_cf:>10.0f} "
          f"{float(np.abs(qq_cf - qq_ode).max()):>10.1e}")


def main(sizes: list[int]) -> None:
    print("QQᵀ at 100 times in [0, 10], λ = 1 (wall ms; ratio = ode / closed form)")
    print(f"{'n':>4} {'stable ms':>10} {'riccati ms':>11} {'ode ms':>10} {'ode/stable':>13} "
          f"{'ode/riccati':>14} {'|st−ode|':>11} {'|ric−ode|':>12} {'ric ok ≤ t':>12}")
    setups = {n: bench(n) for n in sizes}
    print("\nQQᵀ at one far time u (stable closed form, setup included, vs ODE from 0)")
    print(f"{'n':>4} {'u':>6} {'stable ms':>10} {'ode ms':>10} {'ratio':>10} {'|st−ode|':>10}")
    for n, (w1, w2, sigma) in setups.items():
        for u in (10.0, 40.0):
            bench_far(n, w1, w2, sigma, 1.0, u)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [4, 20, 50])
