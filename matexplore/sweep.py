"""Parameter sweeps on Dask distributed: every grid point × seed is an independent task.

A sweep is run like any experiment: :func:`make_sweep` wraps the target experiment in a
``Sweep`` experiment whose ``run`` submits the tasks to a Dask cluster and yields one frame
per finished task. The ordinary :class:`~matexplore.runner.Run` therefore records it as a
session (one frame per task), cancels it, streams it to the TUI and prints it as JSON.

Seeds: the sweep seed ``S`` gives ``k`` task seeds through ``SeedSequence(S).spawn(k)``;
every grid point uses the same ``k`` seeds (common random numbers, so differences between
points are not seed noise). A task is therefore determined by (params, seed) alone.

Aggregation per grid point, for each numeric summary key ``K`` over the finished seeds:
``K_mean``, ``K_se`` (sample standard deviation / √n), and for keys that the experiment
pairs with a theory key (its ``compare`` rows) ``K_theory`` (mean of the theory key).

Where tasks run: with no scheduler address, a ``distributed.LocalCluster`` with one
single-threaded worker process per core; with ``tcp://host:8786``, an existing cluster
started with ``dask scheduler`` / ``dask worker``. Each task's kernels get
``cores // task slots on its host`` threads (1 on the default cluster; see
:func:`task_threads`). Dask reschedules the tasks of a worker
that dies; a task whose experiment fails is reported on its row and does not stop others.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import sys
import time
import types
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .experiment import Experiment, RunContext
from .frames import Frame, Plot, Table, to_json_value
from .params import ParamError, resolve_params, suggest
from .plugins import ExperimentEntry, PluginInfo, Registry
from .session import Session

__all__ = ["SweepSpec", "parse_grid", "check_grid", "plan_sweep", "make_sweep", "sweep_plot",
           "sweep_seeds", "run_task", "aggregate", "host_slots", "task_threads",
           "spec_text", "failed_tasks", "spec_of_session",
           "DEFAULT_MAX_TASKS"]

DEFAULT_MAX_TASKS = 2000


@dataclass
class SweepSpec:
    """What defines a sweep (and what --resume must match)."""

    experiment: str
    grid: dict[str, list[Any]]
    base: dict[str, Any]
    seeds: int
    seed: int
    plugin_dirs: list[str] = field(default_factory=list)

    def points(self) -> list[dict[str, Any]]:
        names = list(self.grid)
        return [dict(zip(names, values)) for values in itertools.product(*self.grid.values())]

    @property
    def n_tasks(self) -> int:
        return len(self.points()) * self.seeds

    def to_json(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "grid": self.grid, "params": self.base,
                "seeds": self.seeds, "seed": self.seed}


def parse_grid(experiment: Experiment, specs: Sequence[str]) -> dict[str, list[Any]]:
    """Parse ``--grid name=v1,v2,...`` options, validating every value with its Param."""
    if not specs:
        raise ParamError("A sweep needs at least one --grid NAME=V1,V2,... option.")
    params = experiment.all_params()
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParamError(f"--grid expects NAME=V1,V2,...; got {spec!r}.")
        if name == "seed":
            raise ParamError("Sweep over seeds with --seeds N, not --grid seed=...")
        if name not in params:
            raise ParamError(f"Unknown parameter {name!r} in --grid{suggest(name, list(params))}; "
                             f"known parameters: {', '.join(params)}.")
        if name in grid:
            raise ParamError(f"Parameter {name!r} appears in two --grid options.")
        param = params[name]
        # list-valued params take ';'-separated lists: --grid n="1,2;4,8"
        parts = values.split(";") if param.kind.endswith("_list") else values.split(",")
        parts = [p for p in parts if p.strip()]
        if not parts:
            raise ParamError(f"The grid for {name!r} is empty.")
        grid[name] = [param.parse(name, part) for part in parts]
    return grid


def check_grid(experiment: Experiment, grid: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
    """Validate a grid given as Python values (``{"depth": [2, 4]}``; strings are parsed
    as on the command line) with the same one-sentence errors as :func:`parse_grid`."""
    if not grid:
        raise ParamError("A sweep needs at least one swept parameter.")
    params = experiment.all_params()
    out: dict[str, list[Any]] = {}
    for name, values in grid.items():
        if name == "seed":
            raise ParamError("Sweep over seeds with seeds=N, not a grid over 'seed'.")
        if name not in params:
            raise ParamError(f"Unknown parameter {name!r} in the grid{suggest(name, list(params))}; "
                             f"known parameters: {', '.join(params)}.")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ParamError(f"The grid for {name!r} must be a non-empty list of values.")
        out[name] = [params[name].validate(name, v) for v in values]
    return out


def plan_sweep(registry: Registry, entry: ExperimentEntry, grid: dict[str, list[Any]], *,
               given: Mapping[str, Any] | None = None, texts: Mapping[str, str] | None = None,
               seeds: int = 8, seed: int | None = None, resume: Session | None = None,
               max_tasks: int | None = None) -> SweepSpec:
    """The :class:`SweepSpec` of a validated ``grid`` with fixed parameters ``given``
    (Python values) and ``texts`` (command-line strings), as ``matexplore sweep`` and
    :func:`matexplore.sweep` build it: a fixed parameter may not be swept and ``seed`` is
    the sweep seed (drawn, or the one ``resume`` recorded, when None); ``max_tasks`` (None:
    no limit) refuses larger sweeps. Errors are :class:`ParamError` sentences."""
    from .runner import draw_seed

    exp = entry.experiment
    fixed = {**(given or {}), **(texts or {})}
    for name in fixed:
        if name in grid:
            raise ParamError(f"Parameter {name!r} is both fixed and swept; give it one role.")
        if name == "seed":
            raise ParamError("The sweep seed is its own option (--seed, or seed=); task seeds "
                             "derive from it.")
    base = {k: v for k, v in resolve_params(exp.all_params(), given, texts=texts).items()
            if k in fixed}
    if seeds < 1:
        raise ParamError(f"A sweep needs at least 1 seed per point; got {seeds}.")
    if seed is None:
        recorded = (resume.header.get("sweep") or {}).get("seed") if resume else None
        seed = recorded if isinstance(recorded, int) else draw_seed()
    spec = SweepSpec(exp.id, grid, base, seeds, seed, [str(d) for d in registry.plugin_dirs])
    if max_tasks is not None and spec.n_tasks > max_tasks:
        raise ParamError(f"This sweep has {spec.n_tasks} tasks, more than the limit of "
                         f"{max_tasks}; pass --yes to run it anyway.")
    return spec


def sweep_seeds(seed: int, n: int) -> list[int]:
    """``n`` task seeds in [0, 2**63) from one sweep seed (``SeedSequence.spawn``)."""
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1))
            for c in np.random.SeedSequence(seed).spawn(n)]


# -- what runs on a worker ------------------------------------------------------------------
_worker_registries: dict[tuple[str, ...], Registry] = {}


def host_slots(client: Any) -> dict[str, int]:
    """Task slots (worker threads) per host of the cluster: {host: Σ nthreads}."""
    try:
        workers = client.scheduler_info().get("workers", {})
    except Exception:  # an unreachable scheduler: tasks fall back to the default
        return {}
    out: dict[str, int] = {}
    for w in workers.values():
        host = str(w.get("host", ""))
        out[host] = out.get(host, 0) + int(w.get("nthreads", 1) or 1)
    return out


def task_threads(worker_address: str | None, slots: Mapping[str, int],
                 cores: int | None = None) -> int | None:
    """Kernel threads for one sweep task: ``max(1, cores // slots on this host)``.

    A sweep already runs one task per worker thread; when a host has at least as many
    task slots as cores (the default LocalCluster: one single-threaded worker per core),
    every core is busy with its own task, so each task uses 1 kernel thread — more would
    only oversubscribe the cores (context switches, shared caches) without any speed-up,
    and results do not depend on the thread count anyway. A host with fewer slots than
    cores gives each task its share. ``$MATEXPLORE_THREADS`` overrides this; ``None``
    means "the default" (no worker or unknown host)."""
    if os.environ.get("MATEXPLORE_THREADS", "").strip() or not worker_address:
        return None
    from urllib.parse import urlparse

    n = slots.get(urlparse(worker_address).hostname or "", 0)
    if n <= 0:
        return None
    return max(1, (cores or os.cpu_count() or 1) // n)


def worker_registry(plugin_dirs: Sequence[str]) -> Registry:
    """The registry of this worker process for these plugin directories, loaded once
    (with one BLAS thread) and installed for ``registered_activations()``."""
    from .plugins import load_registry, set_registry

    key = tuple(plugin_dirs)
    if not _worker_registries:
        from .runner import limit_blas_threads

        limit_blas_threads()
    if key not in _worker_registries:
        _worker_registries[key] = load_registry(list(plugin_dirs))
    set_registry(_worker_registries[key])  # what registered_activations() sees in this task
    return _worker_registries[key]


def run_task(experiment: str, params: Mapping[str, Any], plugin_dirs: Sequence[str],
             slots: Mapping[str, int] | None = None) -> dict:
    """Run one (params, seed) task to the end in this worker; return its summary.

    Runs in the worker process: the registry is loaded once per process and reused, and
    numba's on-disk cache means kernels compile at most once per machine. ``slots`` (task
    slots per host, :func:`host_slots`) sets the task's kernel threads (:func:`task_threads`)."""
    from .runner import Run

    registry = worker_registry(plugin_dirs)
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = "local"
    threads = task_threads(worker if worker != "local" else None, slots or {})
    run = Run(registry.get(experiment), dict(params), threads=threads).execute()
    return {"status": run.status, "error": run.error, "summary": run.result()["summary"],
            "worker": worker, "elapsed": run.elapsed}


# -- aggregation ----------------------------------------------------------------------------
def _numeric(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def aggregate(spec: SweepSpec, tasks: list[dict[str, Any]],
              theory_of: Mapping[str, str]) -> Table:
    """One row per grid point: params, n_finished, n_failed, and K_mean/K_se(/K_theory)."""
    points = spec.points()
    keys: list[str] = []
    for t in tasks:
        keys += [k for k, v in t["summary"].items() if _numeric(v) and k not in keys]
    columns = [*spec.grid, "n_finished", "n_failed"]
    for k in keys:
        columns += [f"{k}_mean", f"{k}_se"] + ([f"{k}_theory"] if k in theory_of else [])
    rows = []
    for i, point in enumerate(points):
        # seed order, not completion order: the same sweep gives bit-identical means
        mine = sorted((t for t in tasks if t["point"] == i), key=lambda t: t["seed_index"])
        ok = [t["summary"] for t in mine if t["status"] == "finished"]
        row: list[Any] = [*point.values(), len(ok), len(mine) - len(ok)]
        for k in keys:
            row += list(_mean_se([s.get(k) for s in ok]))
            if k in theory_of:
                row.append(_mean_se([s.get(theory_of[k]) for s in ok])[0])
        rows.append(row)
    return Table(columns, rows, replace=True)


def _mean_se(values: list[Any]) -> tuple[float | None, float | None]:
    xs = np.array([v for v in values if _numeric(v)], dtype=float)
    if xs.size == 0:
        return None, None
    se = float(xs.std(ddof=1) / math.sqrt(xs.size)) if xs.size > 1 else None
    return float(xs.mean()), se


TASK_COLUMNS = ["point", "seed_index", "seed", "status", "error", "worker", "elapsed"]


def _task_row(t: dict[str, Any], keys: Sequence[str]) -> list[Any]:
    return [t["point"], t["seed_index"], t["seed"], t["status"], t["error"], t["worker"],
            t["elapsed"], *(t["summary"].get(k) for k in keys)]


# -- the Sweep experiment -------------------------------------------------------------------
def primary_theory(experiment: Experiment) -> dict[str, str]:
    """measured key → theory key from the experiment's compare rows. A quantity compared
    with several theories (e.g. the exact law and the source's formula) keeps its first
    row, which experiments use for the theory they trust."""
    out: dict[str, str] = {}
    for c in experiment.compare:
        out.setdefault(c.measured, c.theory)
    return out


def sweep_plot(inner: Experiment, spec: SweepSpec, key: str | None = None) -> Plot:
    """Plot ``key`` (mean over seeds; default: the experiment's first compared quantity)
    against the first swept parameter, with its theory value overlaid when there is one."""
    theory_of = primary_theory(inner)
    key = key or next(iter(theory_of), None) or "finished"
    x = next(iter(spec.grid))
    y = ((f"{key}_theory",) if key in theory_of else ()) + (f"{key}_mean",)
    return Plot(table="sweep", x=x, y=y, title=f"{key} vs {x} (mean over {spec.seeds} seeds)")


def make_sweep(entry: ExperimentEntry, spec: SweepSpec, *, scheduler: str | None = None,
               workers: int | None = None, client: Any = None,
               resume: Session | None = None, plot_key: str | None = None) -> ExperimentEntry:
    """An ExperimentEntry whose run() executes ``spec`` on Dask (see module docstring)."""
    inner = entry.experiment
    points = spec.points()
    for point in points:  # every grid point must be a valid parameter set before we start
        resolve_params(inner.all_params(), {**spec.base, **point})
    done = _resumed_tasks(spec, resume) if resume is not None else []
    theory_of = primary_theory(inner)
    n_points = len(points)

    class Sweep(Experiment):
        id = inner.id
        title = f"Sweep: {inner.title}"
        description = (f"Sweep of {inner.id} over {', '.join(spec.grid)} "
                       f"({n_points} points × {spec.seeds} seeds).\n\n{inner.description}")
        plot = sweep_plot(inner, spec, plot_key)
        compare = ()

        def run(self, p: Any, ctx: RunContext):  # type: ignore[override]
            yield from _execute(spec, points, done, theory_of, ctx,
                                scheduler=scheduler, workers=workers, client=client)

    return ExperimentEntry(Sweep(), PluginInfo(entry.plugin.name, entry.plugin.version,
                                               entry.plugin.source))


def _resumed_tasks(spec: SweepSpec, session: Session) -> list[dict[str, Any]]:
    recorded = session.header.get("sweep")
    if not isinstance(recorded, dict):
        raise ParamError(f"{session.path} is not a sweep session, so it cannot be resumed.")
    if to_json_value(recorded) != to_json_value(spec.to_json()):
        raise ParamError(f"{session.path} records a different sweep (experiment, grid, "
                         "params, seeds or sweep seed differ); resume needs the same sweep.")
    table = session.state().tables.get("tasks")
    if not table:
        return []
    cols = table["columns"]
    out = []
    for row in table["rows"]:
        rec = dict(zip(cols, row))
        if rec["status"] != "finished":
            continue  # failed or cancelled tasks run again
        summary = {k: rec[k] for k in cols[len(TASK_COLUMNS):] if rec.get(k) is not None}
        out.append({**{k: rec[k] for k in TASK_COLUMNS}, "summary": summary})
    return out


def _connect(scheduler: str | None, workers: int | None) -> tuple[Any, Any]:
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout="10s"), None
    with _streams_with_fileno():
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
    return Client(cluster), cluster


@contextlib.contextmanager
def _streams_with_fileno() -> Iterator[None]:
    """Starting worker processes, ``multiprocessing`` passes ``sys.stderr.fileno()`` to a
    helper process. Inside the TUI, Textual has replaced sys.stdout/stderr with capture
    objects without a usable descriptor ("bad value(s) in fds_to_keep"); point them at
    /dev/null meanwhile, which also keeps helper-process output off the screen."""
    def usable(stream: Any) -> bool:
        try:
            return stream.fileno() >= 0
        except (AttributeError, OSError, ValueError):
            return False

    if usable(sys.stdout) and usable(sys.stderr):
        yield
        return
    saved = sys.stdout, sys.stderr
    with open(os.devnull, "w") as null:
        sys.stdout = sys.stderr = null
        try:
            yield
        finally:
            sys.stdout, sys.stderr = saved


def _execute(spec: SweepSpec, points: list[dict[str, Any]], done: list[dict[str, Any]],
             theory_of: Mapping[str, str], ctx: RunContext, *, scheduler: str | None,
             workers: int | None, client: Any):
    seeds = sweep_seeds(spec.seed, spec.seeds)
    finished = {(t["point"], t["seed_index"]) for t in done}
    todo = [(i, j) for i in range(len(points)) for j in range(spec.seeds)
            if (i, j) not in finished]
    tasks = list(done)
    keys: list[str] = []
    for t in done:
        keys += [k for k in t["summary"] if k not in keys]
    total = len(points) * spec.seeds
    yield Frame(step=len(done), total=total,
                message=f"starting {len(todo)} tasks ({len(done)} resumed)",
                summary={"tasks": total, "finished": len(done), "failed": 0})
    if done:
        yield _frame(spec, tasks, done, keys, theory_of, total, {})
    if not todo:
        return
    own_client = client is None
    cluster = None
    if own_client:
        client, cluster = _connect(scheduler, workers)
    tag = uuid.uuid4().hex[:8]
    futures = {}
    slots = host_slots(client)
    try:
        from distributed import as_completed

        for i, j in todo:
            params = {**spec.base, **points[i], "seed": seeds[j]}
            fut = client.submit(run_task, spec.experiment, params, list(spec.plugin_dirs),
                                slots, key=f"matexplore-{tag}-{i}-{j}", pure=False)
            futures[fut.key] = (fut, i, j)
        ac = as_completed([f for f, _, _ in futures.values()])
        while not ac.is_empty():
            if ctx.cancelled:
                client.cancel([f for f, _, _ in futures.values()])
                return
            batch = ac.next_batch(block=False)
            if not batch:
                time.sleep(0.05)
                continue
            for fut in batch:  # one frame per finished task
                task = _collect(fut, *futures[fut.key][1:], seeds)
                n_keys = len(keys)
                keys += [k for k in task["summary"] if k not in keys]
                tasks.append(task)
                # a new summary key changes the task table's columns: resend all its rows
                yield _frame(spec, tasks, tasks if len(keys) > n_keys else [task], keys,
                             theory_of, total, _running(client))
    finally:
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()


def _collect(fut: Any, i: int, j: int, seeds: list[int]) -> dict[str, Any]:
    base = {"point": i, "seed_index": j, "seed": seeds[j]}
    try:
        res = fut.result()
    except Exception as exc:  # infrastructure failure, e.g. KilledWorker after retries
        return {**base, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                "worker": None, "elapsed": None, "summary": {}}
    return {**base, **res}


def _running(client: Any) -> dict[str, int]:
    try:
        return {w: len(ts) for w, ts in client.processing().items()}
    except Exception:  # the scheduler may be gone while shutting down
        return {}


def _frame(spec: SweepSpec, tasks: list[dict[str, Any]], new: list[dict[str, Any]],
           keys: list[str], theory_of: Mapping[str, str], total: int,
           running: Mapping[str, int]) -> Frame:
    per_worker: dict[str, list[int]] = {}
    for t in tasks:
        if t.get("worker"):
            counts = per_worker.setdefault(t["worker"], [0, 0])
            counts[0 if t["status"] == "finished" else 1] += 1
    workers = Table(["worker", "finished", "failed", "running"],
                    [[w, c[0], c[1], running.get(w, 0)] for w, c in sorted(per_worker.items())],
                    replace=True)
    n_failed = sum(t["status"] != "finished" for t in tasks)
    task_table = Table([*TASK_COLUMNS, *keys], [_task_row(t, keys) for t in new],
                       replace=new is tasks)
    return Frame(step=len(tasks), total=total,
                 message=f"{len(tasks)}/{total} tasks, {n_failed} failed",
                 tables={"tasks": task_table, "sweep": aggregate(spec, tasks, theory_of),
                         "workers": workers},
                 summary={"tasks": total, "finished": len(tasks) - n_failed,
                          "failed": n_failed})


# -- reading a recorded sweep ---------------------------------------------------------------
def spec_text(sweep: Mapping[str, Any]) -> str:
    """A sweep header (``SweepSpec.to_json()``) in words: grid, seeds, sweep seed, fixed."""
    grid = "\n".join(f"  {k} = {', '.join(map(str, v))}" for k, v in sweep["grid"].items())
    fixed = "\n".join(f"  {k} = {v}" for k, v in (sweep.get("params") or {}).items())
    return (f"sweep of {sweep['experiment']} over\n{grid}\n{sweep['seeds']} seeds per point, "
            f"sweep seed {sweep['seed']}\nfixed:\n{fixed or '  (defaults)'}")


def failed_tasks(result: Mapping[str, Any]) -> str | None:
    """"2 of 4 tasks failed (first: reason)" for a sweep result with failed tasks, else None."""
    summary = result.get("summary") or {}
    failed, total = summary.get("failed") or 0, summary.get("tasks")
    if "sweep" not in result or not failed:
        return None
    table = (result.get("tables") or {}).get("tasks") or {}
    cols = table.get("columns") or []
    reasons = [r[cols.index("error")] for r in table.get("rows") or []
               if "error" in cols and r[cols.index("status")] != "finished"
               and r[cols.index("error")]]
    first = f" (first: {reasons[0]})" if reasons else ""
    return f"{failed} of {total} tasks failed{first}"


def spec_of_session(session: Session, registry: Registry) -> SweepSpec:
    """The :class:`SweepSpec` a sweep session recorded (plugin dirs: this registry's)."""
    rec = session.header.get("sweep")
    if not isinstance(rec, dict) or not isinstance(rec.get("grid"), dict):
        raise ParamError(f"{session.path} is not a sweep session.")
    entry = registry.get(str(rec.get("experiment")))
    params = entry.experiment.all_params()
    try:
        unknown = [k for k in rec["grid"] if k not in params]
        if unknown:
            raise ParamError(f"unknown parameter {unknown[0]!r}")
        grid = {k: [params[k].validate(k, v) for v in vs] for k, vs in rec["grid"].items()}
        base = {k: v for k, v in resolve_params(params, rec.get("params") or {}).items()
                if k in (rec.get("params") or {})}
        return SweepSpec(entry.experiment.id, grid, base, int(rec["seeds"]), int(rec["seed"]),
                         [str(d) for d in registry.plugin_dirs])
    except (ParamError, KeyError, TypeError, ValueError) as exc:
        raise ParamError(f"{session.path}: the recorded sweep is no longer valid for "
                         f"{rec.get('experiment')} ({exc})") from None


class _SweepModule(types.ModuleType):
    """This module, callable as :func:`matexplore.api.sweep`.

    ``matexplore.sweep`` names both this module and the notebook function: importing a
    submodule sets it as the package's attribute, so the attribute is this module — and
    calling it runs a sweep (``mx.sweep("exp", {"depth": [2, 4]})``)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .api import sweep

        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _SweepModule
