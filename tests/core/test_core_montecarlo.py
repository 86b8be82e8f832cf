"""The Monte-Carlo toolkit: chunk streams, thread-independent results, RunningStats."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from matexplore import RunContext, RunningStats
from matexplore.montecarlo import chunk_sizes


def _sum_normals(rng, n, scale):
    return scale * rng.standard_normal(n).sum(), n


def _run(seed, threads, total=10_000, size=777):
    ctx = RunContext(seed, threads=threads)
    return [(c.index, c.start, c.size, c.done, r) for c, r in
            ctx.map_chunks(_sum_normals, total, size, 2.0)]


def test_chunk_sizes_cover_total_with_remainder():
    assert chunk_sizes(10, 3) == [3, 3, 3, 1]
    assert chunk_sizes(9, 3) == [3, 3, 3]
    assert chunk_sizes(0, 3) == []
    with pytest.raises(ValueError):
        chunk_sizes(5, 0)


@pytest.mark.parametrize("threads", [2, 3, 8])
def test_map_chunks_is_bit_identical_for_any_thread_count(threads):
    serial = _run(5, 1)
    assert _run(5, threads) == serial
    assert [s for _, _, s, _, _ in serial] == chunk_sizes(10_000, 777)
    assert serial[-1][3] == 10_000


def test_streams_differ_between_seeds_and_calls():
    assert _run(5, 1) != _run(6, 1)
    ctx = RunContext(5)
    a = [g.standard_normal() for g in ctx.generators(3)]
    b = [g.standard_normal() for g in ctx.generators(3)]
    assert len(set(a + b)) == 6
    again = RunContext(5)
    assert [g.standard_normal() for g in again.generators(3)] == a


def test_chunk_streams_are_standard_normal():
    # 4 chunks × 50k draws: the pooled mean is N(0, 1/N) and the variance ≈ 1 ± √(2/N).
    ctx = RunContext(11)
    x = np.concatenate([c.rng.standard_normal(c.size) for c in ctx.chunks(200_000, 50_000)])
    n = len(x)
    assert abs(x.mean()) < 4 / np.sqrt(n)
    assert abs(x.var() - 1) < 4 * np.sqrt(2 / n)


def test_cancel_stops_starting_chunks():
    event = threading.Event()
    ctx = RunContext(1, event, threads=2)
    seen = []
    for chunk, _ in ctx.map_chunks(_sum_normals, 100, 1, 1.0):
        seen.append(chunk.index)
        if chunk.index == 3:
            event.set()
    assert seen[:4] == [0, 1, 2, 3] and len(seen) <= 6  # at most `threads` already started


def test_running_stats_match_numpy_and_merge_in_any_split():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1000, 2, 3)) * 3 + 1
    whole = RunningStats((2, 3)).add(x)
    parts = RunningStats((2, 3))
    for lo, hi in [(0, 1), (1, 400), (400, 401), (401, 1000)]:
        parts.merge(RunningStats((2, 3)).add(x[lo:hi]))
    for acc in (whole, parts):
        np.testing.assert_allclose(acc.mean, x.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(acc.var, x.var(axis=0, ddof=1), rtol=1e-12)
        np.testing.assert_allclose(acc.se, x.std(axis=0, ddof=1) / np.sqrt(1000), rtol=1e-12)
    assert RunningStats().add([1.0]).var != RunningStats().add([1.0]).var  # NaN below n=2
    with pytest.raises(ValueError):
        RunningStats(3).add(np.zeros((4, 2)))
