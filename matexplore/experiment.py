"""What a plugin declares: an :class:`Experiment`, and the :class:`RunContext` it runs in.

An experiment is a class with a stable ``id``, a ``title``, a ``description`` (with the
formulas it tests), typed ``params`` and a ``run(params, ctx)`` generator that yields
:class:`~matexplore.frames.Frame` objects. It never touches the UI: the same generator
feeds the TUI, ``matexplore run --json``, session files and sweeps.

Every experiment automatically has a ``seed`` parameter (see :class:`~matexplore.params.Seed`);
``ctx.seed`` is always an integer (drawn and recorded when the user gave none).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .frames import Check, Compare, Frame, Plot
from .params import Param, Params, Seed

if TYPE_CHECKING:
    from .montecarlo import Chunk

__all__ = ["Experiment", "RunContext", "Cancelled", "ExperimentError", "ID_PATTERN",
           "check_experiment"]

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$")


class Cancelled(Exception):
    """Raised by :meth:`RunContext.check` when the user cancelled the run."""


class ExperimentError(Exception):
    """An experiment's own clear, user-facing failure (e.g. infeasible parameters).

    Raise it from ``run`` with one sentence; the run ends ``failed`` with that message
    and no traceback is shown."""


class RunContext:
    """Everything a running experiment may use besides its parameters.

    * ``seed`` — the run's integer seed; ``rng`` — a NumPy ``Generator`` seeded from it.
    * ``threads`` — how many cores this run may use for its kernels (``$MATEXPLORE_THREADS``
      or every core by default; the TUI passes its own default).
    * ``cancelled`` — True once the user asked to stop. The runner stops pulling frames at
      the next ``yield``, so check it only inside long stretches between yields (or call
      :meth:`check`).
    * Monte-Carlo toolkit (see :mod:`matexplore.montecarlo`): :meth:`chunks` and
      :meth:`map_chunks` split ``total`` samples into chunks with their own ``Generator``
      and handle cancellation and ordering; :meth:`generators` hands out Generators;
      :meth:`due` throttles frames.
    * :meth:`child_seeds` — 32-bit seeds for kernels that seed numba's legacy global RNG.
      Deprecated: pass ``Generator`` objects into ``njit`` kernels instead (faster ziggurat
      normals, no per-thread global state).
    """

    def __init__(self, seed: int, cancel_event: threading.Event | None = None,
                 threads: int | None = None) -> None:
        from .montecarlo import default_threads

        self.seed = int(seed)
        self._seq = np.random.SeedSequence(self.seed)
        self.rng = np.random.default_rng(self._seq.spawn(1)[0])
        self._cancel = cancel_event or threading.Event()
        self.threads = max(1, int(threads)) if threads else default_threads()
        self._streams = 0  # streams handed out so far (chunks / generators calls, in order)
        self._throttles: dict[float, Any] = {}

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if the run was cancelled."""
        if self._cancel.is_set():
            raise Cancelled()

    def _next_stream(self) -> int:
        self._streams += 1
        return self._streams

    def generators(self, n: int) -> list[np.random.Generator]:
        """``n`` independent Generators (PCG64) from the run seed, one per unit of work.

        Each call opens a new stream, so results depend only on the seed and on the order
        of calls in ``run`` — never on threads or scheduling."""
        from .montecarlo import generator

        stream = self._next_stream()
        return [generator(self.seed, stream, i) for i in range(int(n))]

    def chunks(self, total: int, size: int) -> Iterator[Chunk]:
        """Split ``total`` samples into chunks of ``size`` (the last one shorter).

        Yields :class:`~matexplore.montecarlo.Chunk` objects (``index``, ``start``,
        ``size``, ``done``, ``total``, ``last``, ``rng``) and stops quietly once the run is
        cancelled. Use it when the loop body runs in this thread; for kernels on several
        cores use :meth:`map_chunks`."""
        from .montecarlo import iter_chunks

        return iter_chunks(self.seed, self._next_stream(), total, size, lambda: self.cancelled)

    def map_chunks(self, kernel: Callable[..., Any], total: int, size: int, *args: Any,
                   threads: int | None = None, rows: Sequence[np.ndarray] = ()
                   ) -> Iterator[tuple[Chunk, Any]]:
        """``(chunk, kernel(chunk.rng, chunk.size, *row_views, *args))`` for each chunk, in order.

        Up to ``threads`` (default ``ctx.threads``) kernel calls run at once on a thread
        pool — compile the kernel with ``njit(nogil=True)`` so they really run in
        parallel. Results come back in chunk order, so merging them as they arrive gives
        bit-identical results for any number of threads. ``rows`` are per-sample state
        arrays (leading axis ``total``, e.g. the hidden states of ``total`` networks):
        each call receives its chunk's rows ``r[chunk.start:chunk.done]`` as views, right
        after ``n``, and may update them in place. Stops starting chunks once the run is
        cancelled."""
        from .montecarlo import iter_chunks, map_chunks

        for r in rows:
            if len(r) != total:
                raise ValueError(f"map_chunks rows= arrays need {total} rows; got {len(r)}")
        chunks = iter_chunks(self.seed, self._next_stream(), total, size,
                             lambda: self.cancelled)
        return map_chunks(kernel, chunks, args, threads or self.threads,
                          lambda: self.cancelled, rows)

    def due(self, seconds: float = 0.25) -> bool:
        """True at most once per ``seconds`` (and the first time): yield a frame only then."""
        from .montecarlo import Throttle

        throttle = self._throttles.get(seconds)
        if throttle is None:
            throttle = self._throttles[seconds] = Throttle(seconds)
        return throttle.due()

    def child_seeds(self, n: int) -> np.ndarray:
        """``n`` independent seeds in [0, 2**32) derived from the run seed (deprecated:
        prefer :meth:`chunks` / :meth:`generators`).

        Deterministic given the order of calls; use one per chunk of work so results
        do not depend on how chunks are scheduled."""
        return np.array([c.generate_state(1, np.uint32)[0] for c in self._seq.spawn(n)],
                        dtype=np.int64)


class Experiment:
    """Base class for experiments; subclass it and fill in the class attributes.

    ``plot`` names the main theory-vs-simulation curve (a :class:`Plot` over one table);
    ``compare`` lists the summary panel rows (:class:`Compare`: theory key, measured key,
    optional SE / source / tolerance); ``checks`` lists yes/no results (:class:`Check`).
    ``version`` (a string, default ``"1"``) is recorded in every session header as
    ``experiment_version``; bump it whenever the same params and seed give different
    numbers (a new sampler, a fixed bug), so ``matexplore rerun`` of an older session says
    that the experiment changed instead of a bare DIFFER.
    """

    id: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    params: ClassVar[Mapping[str, Param]] = {}
    plot: ClassVar[Plot | None] = None
    compare: ClassVar[Sequence[Compare]] = ()
    checks: ClassVar[Sequence[Check]] = ()

    def run(self, params: Params, ctx: RunContext) -> Iterator[Frame]:
        """Yield frames; may ``return`` early when ``ctx.cancelled`` becomes true."""
        raise NotImplementedError

    # -- used by the core --------------------------------------------------------------
    @classmethod
    def all_params(cls) -> dict[str, Param]:
        """The declared parameters plus the automatic ``seed``."""
        out = dict(cls.params)
        out.setdefault("seed", Seed())
        return out

    @classmethod
    def info(cls) -> dict[str, Any]:
        """A JSON description (stored in session headers so replay needs no plugin)."""
        return {"id": cls.id, "title": cls.title, "description": cls.description,
                "version": str(cls.version),
                "params": {n: p.spec() for n, p in cls.all_params().items()},
                "plot": cls.plot.to_json() if cls.plot else None,
                "compare": [c.to_json() for c in cls.compare],
                "checks": [c.to_json() for c in cls.checks]}


def check_experiment(obj: Any) -> type[Experiment] | Experiment:
    """Validate a declared experiment; raise ValueError naming what is malformed."""
    name = getattr(obj, "__name__", type(obj).__name__)
    exp_id = getattr(obj, "id", None)
    if not isinstance(exp_id, str) or not ID_PATTERN.match(exp_id):
        raise ValueError(f"experiment {name} has an invalid id {exp_id!r} "
                         "(expected lowercase dotted words, e.g. 'my-plugin.my-experiment')")
    if not isinstance(getattr(obj, "title", None), str) or not obj.title.strip():
        raise ValueError(f"experiment {exp_id} has no title")
    version = getattr(obj, "version", "1")
    if not isinstance(version, (str, int)) or isinstance(version, bool):
        raise ValueError(f"experiment {exp_id}: version must be a string such as '2'; "
                         f"got {version!r}")
    params = getattr(obj, "params", None)
    if not isinstance(params, Mapping) or not all(
            isinstance(k, str) and isinstance(v, Param) for k, v in params.items()):
        raise ValueError(f"experiment {exp_id}: params must map names to Param objects")
    if "seed" in params:
        raise ValueError(f"experiment {exp_id} declares its own 'seed' parameter; every "
                         "experiment has one automatically (use ctx.seed / ctx.rng)")
    if not callable(getattr(obj, "run", None)):
        raise ValueError(f"experiment {exp_id} has no run(params, ctx) method")
    for p_name, p in params.items():
        try:
            p.validate(p_name, p.default)
        except ValueError as exc:
            raise ValueError(f"experiment {exp_id}: default of {exc}") from None
    return obj
