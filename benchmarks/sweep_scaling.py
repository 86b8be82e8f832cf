"""Sweep scaling: the same sweep serially in one process vs on a 2-worker LocalCluster.

Prints wall times, the speed-up ratio and the per-task overhead of going through Dask
(overhead = (cluster wall × workers − serial wall) / tasks: the time a task costs beyond
its own computation). Both paths execute the identical task function (`run_task`), and
numba kernels are compiled once beforehand (cache=True: workers load them from disk, they
do not recompile per task — the first-task time on each worker is printed to show it).

    python benchmarks/sweep_scaling.py [EXPERIMENT] [--grid NAME=V1,V2 ...] [--seeds N]

The default experiment runs one thread per task. Experiments that already use both cores
inside one run (mlp-collapse.norms runs its chunks on a 2-thread pool) show no speed-up on a
2-core machine — measured 1.02× — which is the right answer, not Dask overhead.
"""

from __future__ import annotations

import argparse
import os
import time

from matexplore.plugins import load_registry
from matexplore.sweep import SweepSpec, parse_grid, run_task, sweep_seeds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("experiment", nargs="?", default="kernel-maps.fixed-point")
    ap.add_argument("--grid", action="append", default=None)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    grid_specs = args.grid or ["width=256,512,1024", "depth=50", "pairs=256"]
    registry = load_registry()
    exp = registry.get(args.experiment).experiment
    grid = parse_grid(exp, grid_specs)
    spec = SweepSpec(exp.id, grid, {}, args.seeds, 1)
    tasks = [{**point, "seed": s} for point in spec.points() for s in sweep_seeds(1, args.seeds)]
    print(f"{exp.id}: {len(tasks)} tasks ({' × '.join(grid_specs)} × {args.seeds} seeds), "
          f"{os.cpu_count()} cores")

    t0 = time.perf_counter()
    run_task(exp.id, tasks[0], [])  # compile + warm the numba cache once
    print(f"first task in this process (compile or cache load): {time.perf_counter() - t0:.2f} s")

    t0 = time.perf_counter()
    for params in tasks:
        run_task(exp.id, params, [])
    serial = time.perf_counter() - t0

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        t0 = time.perf_counter()
        firsts = client.run(lambda: run_task(exp.id, tasks[0], [])["elapsed"])
        print("first task on each worker (numba cache load, no recompilation): " +
              ", ".join(f"{v:.2f} s" for v in firsts.values()))
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        futures = client.map(run_task, [exp.id] * len(tasks), tasks, [[]] * len(tasks),
                             pure=False)
        client.gather(futures)
        parallel = time.perf_counter() - t0
    overhead = (parallel * args.workers - serial) / len(tasks)
    print(f"serial, one process        : {serial:8.2f} s  ({serial / len(tasks) * 1e3:.1f} ms/task)")
    print(f"LocalCluster, {args.workers} workers     : {parallel:8.2f} s  (worker warm-up {warm:.2f} s, not included)")
    print(f"speed-up                   : {serial / parallel:8.2f} ×")
    print(f"Dask overhead per task     : {overhead * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
