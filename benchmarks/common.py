"""Shared pieces of the Monte-Carlo benchmarks (issue 14): timing and the RNG limit.

Every MC benchmark prints, in one run, the best vectorised NumPy version of the same
sampler, ours on 1 and 2 threads, and the RNG limit — the rate at which one thread draws
``Generator.standard_normal()`` inside an njit loop, which bounds any sampler that needs
those draws. Import from a script in this directory: ``from common import ...``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

__all__ = ["best_of", "interleaved_best", "rng_limit_fill", "rng_limit_runs"]


@numba.njit(cache=True, nogil=True)
def rng_limit_fill(rng: np.random.Generator, out: np.ndarray) -> None:
    """Fill ``out`` with Generator normals: the fastest any sampler can draw them."""
    for i in range(out.size):
        out[i] = rng.standard_normal()


def best_of(fn: Callable[[], object], repeat: int = 5, *, warmup: bool = False) -> float:
    """Smallest wall time of ``repeat`` calls of ``fn``, in seconds (after one untimed call
    with ``warmup``: compiles numba kernels, touches fresh memory)."""
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def interleaved_best(runs: Mapping[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Best time of each run over ``repeat`` rounds that call every run once in turn: on a
    shared machine the load changes over seconds, and interleaving exposes every run to
    the same conditions."""
    times: dict[str, float] = {}
    for _ in range(repeat):
        for key, fn in runs.items():
            times[key] = min(times.get(key, np.inf), best_of(fn, 1))
    return times


def rng_limit_runs(draws: int = 10_000_000) -> dict[str, Callable[[], object]]:
    """Two runs for :func:`interleaved_best`: ``"limit"`` draws ``draws`` normals on one
    thread (draws/s = draws / time); ``"limit2"`` the same on 2 threads, a control that
    shows how much 2-thread scaling the machine offers at that moment."""
    buf = np.empty(draws)
    halves = (buf[: draws // 2], buf[draws // 2:])
    rng_limit_fill(np.random.default_rng(0), buf[:8])  # compile outside the timings

    def two_threads() -> None:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(rng_limit_fill, (np.random.default_rng(2), np.random.default_rng(3)),
                          halves))

    return {"limit": lambda: rng_limit_fill(np.random.default_rng(1), buf),
            "limit2": two_threads}
