"""Chunked Monte-Carlo on NumPy ``Generator`` streams: the loop every MC experiment needs.

A Monte-Carlo experiment splits ``total`` independent samples into chunks of ``size``
(the last one shorter), runs a GIL-free numba kernel on each chunk and merges the chunk
results *in chunk order*. Chunk ``i`` draws from its own ``numpy.random.Generator``, built
from ``SeedSequence(run_seed, spawn_key=(stream, i))``, so

* its random numbers depend only on (run seed, stream, chunk index) — not on the number
  of threads, on scheduling, or on which thread ran it;
* streams are statistically independent (``SeedSequence`` spawning) and the generator is
  PCG64 with NumPy's ziggurat normals, which numba supports inside ``njit`` functions.

Hence the same params and seed give bit-identical results whatever ``threads`` is, as long
as the merge is done in chunk order (which :func:`map_chunks` guarantees).

Used through :class:`~matexplore.experiment.RunContext`: ``ctx.chunks(total, size)`` and
``ctx.map_chunks(kernel, total, size, *args)``.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Chunk", "chunk_sizes", "default_threads", "generator", "iter_chunks", "map_chunks",
           "shared_pool"]


def default_threads() -> int:
    """``$MATEXPLORE_THREADS`` if set (a positive integer), else every core of the machine."""
    raw = os.environ.get("MATEXPLORE_THREADS", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return max(1, os.cpu_count() or 1)


def generator(seed: int, stream: int, index: int) -> np.random.Generator:
    """The Generator of chunk ``index`` of ``stream`` in a run seeded with ``seed``."""
    seq = np.random.SeedSequence(int(seed), spawn_key=(int(stream), int(index)))
    return np.random.Generator(np.random.PCG64(seq))


def chunk_sizes(total: int, size: int) -> list[int]:
    """``total`` items in chunks of ``size``, the last one shorter: [size, …, remainder]."""
    if total < 0 or size < 1:
        raise ValueError(f"chunk_sizes needs total ≥ 0 and size ≥ 1; got {total}, {size}")
    return [min(size, total - start) for start in range(0, total, size)]


@dataclass(frozen=True)
class Chunk:
    """One chunk of a Monte-Carlo loop: samples ``start … start + size − 1`` of ``total``.

    ``rng`` is the chunk's own Generator (pass it into an ``njit(nogil=True)`` kernel);
    ``done`` counts the samples finished once this chunk is merged — use it as the
    frame's ``step`` (with ``total`` as its ``total``)."""

    index: int
    start: int
    size: int
    total: int
    count: int
    rng: np.random.Generator

    @property
    def done(self) -> int:
        return self.start + self.size

    @property
    def last(self) -> bool:
        return self.index == self.count - 1


def iter_chunks(seed: int, stream: int, total: int, size: int,
                cancelled: Callable[[], bool] = lambda: False) -> Iterator[Chunk]:
    """Chunks of ``total`` in order; stops early (quietly) once ``cancelled()`` is true."""
    sizes = chunk_sizes(total, size)
    start = 0
    for i, n in enumerate(sizes):
        if cancelled():
            return
        yield Chunk(i, start, n, total, len(sizes), generator(seed, stream, i))
        start += n


def map_chunks(fn: Callable[..., Any], chunks: Iterator[Chunk], args: tuple[Any, ...],
               threads: int, cancelled: Callable[[], bool] = lambda: False,
               rows: Sequence[np.ndarray] = ()) -> Iterator[tuple[Chunk, Any]]:
    """``(chunk, fn(chunk.rng, chunk.size, *row_views, *args))`` for every chunk, in order.

    ``rows`` are per-sample state arrays (leading axis = ``total``); chunk ``k`` receives
    the views ``r[chunk.start:chunk.done]``, which the kernel may update in place (each
    chunk owns disjoint rows, so threads never write the same memory).
    ``threads`` calls run at once on a thread pool (numba kernels compiled with
    ``nogil=True`` then use that many cores), and one more waits in its queue, so a worker
    that finishes before the oldest chunk is merged starts the next one at once; results
    are yielded in order, so merging them as they come is deterministic. Once
    ``cancelled()`` is true no more chunks are submitted; the ones already submitted (at
    most ``threads`` + 1) finish (keep a kernel call to tens of milliseconds)."""
    threads = max(1, int(threads))

    def call_args(chunk: Chunk) -> tuple[Any, ...]:
        views = tuple(r[chunk.start:chunk.done] for r in rows)
        return (chunk.rng, chunk.size, *views, *args)

    if threads == 1:  # no pool: same results, and a traceback that points at the kernel
        for chunk in chunks:
            yield chunk, fn(*call_args(chunk))
        return
    pending: deque[tuple[Chunk, Future[Any]]] = deque()
    source = iter(chunks)
    pool = shared_pool(threads)
    try:
        while True:
            while len(pending) <= threads and not cancelled():
                chunk = next(source, None)
                if chunk is None:
                    break
                pending.append((chunk, pool.submit(fn, *call_args(chunk))))
            if not pending:
                return
            chunk, fut = pending.popleft()
            yield chunk, fut.result()
    finally:  # stopped early (cancel, error, consumer gone): drop or await what is queued
        for _, fut in pending:
            fut.cancel()
        for _, fut in pending:
            if not fut.cancelled():
                fut.exception()  # wait: the kernel may still be writing the caller's rows


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def shared_pool(threads: int) -> ThreadPoolExecutor:
    """The process-wide pool of ``threads`` workers (created once, reused by every run:
    starting threads costs ~0.2 ms, which a layer-by-layer driver would pay per layer)."""
    with _pools_lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = _pools[threads] = ThreadPoolExecutor(max_workers=threads,
                                                        thread_name_prefix="mc-chunk")
        return pool


class Throttle:
    """``due()`` is True at most once per ``seconds`` (and on the first call).

    For frames: a kernel loop that finishes a chunk every few milliseconds yields a frame
    only when one is due (and always after the last chunk), so the session file and the
    UI see a few frames per second, not thousands."""

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self._last: float | None = None
        self._lock = threading.Lock()

    def due(self) -> bool:
        import time

        now = time.monotonic()
        with self._lock:
            if self._last is None or now - self._last >= self.seconds:
                self._last = now
                return True
            return False
