"""The Python API for notebooks: run, sweep and load experiments, get a :class:`Result`.

    import matexplore as mx
    r = mx.run("kernel-maps.fixed-point", activation="tanh", depth=5, seed=1)
    r.compare()            # theory | measured | error rows (verdicts.summary_rows)
    r.to_pandas("iterates")
    r.plot()               # a matplotlib Figure (figures.figure_for)

One code path with the CLI: :func:`run` resolves parameters with
:func:`~matexplore.params.resolve_params` and executes a :class:`~matexplore.runner.Run`,
exactly as ``matexplore run`` does, so ``mx.run(...).to_json()`` is the ``run --json``
object for the same parameters and seed; :func:`sweep` builds its sweep with
:func:`~matexplore.sweep.plan_sweep` as ``matexplore sweep`` does; :func:`load` reads a
session file (without importing its plugin) as ``replay --headless --json`` does.
Interrupting the kernel (Ctrl-C) cancels a run and returns its partial result.
Unknown experiments and bad parameters raise the CLI's one-sentence exceptions
(:class:`~matexplore.plugins.UnknownExperiment`, :class:`~matexplore.params.ParamError`).
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .frames import to_json_value
from .params import resolve_params, split_texts
from .plugins import Registry, get_registry, load_registry, set_registry
from .session import Recording, read_session

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from .runner import Run

__all__ = ["Result", "load", "run", "sweep"]


class Result:
    """One run, sweep or session as Python objects (see the module docstring).

    ``tables`` maps a table name to its rows as dicts (column → value); ``series`` a series
    name to its list of values; ``info`` is the experiment's description (title, params,
    plot, compare rows) that the TUI and the figures read."""

    def __init__(self, result: Mapping[str, Any], info: Mapping[str, Any], *,
                 warnings: Sequence[str] = (), path: Path | None = None,
                 note: str | None = None) -> None:
        self._result: dict[str, Any] = to_json_value(dict(result))
        self.info: dict[str, Any] = dict(info)
        self.warnings = list(warnings)
        self.path = path  # the session file, when there is one
        self.note = note  # e.g. a session whose last line was incomplete

    @classmethod
    def of_run(cls, run: Run) -> Result:
        return cls(run.result(), run.entry.experiment.info(), warnings=run.warnings,
                   path=run.record_path)

    # -- the run --json fields --------------------------------------------------------------
    @property
    def experiment(self) -> str:
        return str(self._result["experiment"])

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._result.get("params") or {})

    @property
    def seed(self) -> int | None:
        return self._result.get("seed")

    @property
    def status(self) -> str:
        return str(self._result["status"])

    @property
    def error(self) -> str | None:
        return self._result.get("error")

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self._result.get("summary") or {})

    @property
    def tables(self) -> dict[str, list[dict[str, Any]]]:
        return {name: [dict(zip(t["columns"], row)) for row in t["rows"]]
                for name, t in (self._result.get("tables") or {}).items()}

    @property
    def series(self) -> dict[str, list[Any]]:
        return {name: list(v) for name, v in (self._result.get("series") or {}).items()}

    @property
    def sweep(self) -> dict[str, Any] | None:
        """The sweep's definition (experiment, grid, params, seeds, seed) for a sweep."""
        return self._result.get("sweep")

    def to_json(self) -> dict[str, Any]:
        """Exactly the object ``matexplore run --json`` (or ``sweep --json``) prints."""
        return to_json_value(self._result)

    # -- views --------------------------------------------------------------------------------
    def compare(self) -> list[dict[str, Any]]:
        """The summary panel's rows as dicts (:func:`~matexplore.verdicts.summary_rows`):
        ``kind`` "compare" rows (label, theory, measured, se, error, error_unit, ok) first,
        then "check" rows, then the other outputs ("source", "output")."""
        from .verdicts import summary_rows

        return [r.to_json() for r in summary_rows(self.info, self.summary, self.params)]

    def to_pandas(self, name: str) -> Any:
        """Table ``name`` as a ``pandas.DataFrame`` (needs the ``[pandas]`` extra)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("Result.to_pandas needs pandas, which is not installed; "
                              "install it with: pip install 'matexplore[pandas]'.") from None
        table = self._table(name)
        return pandas.DataFrame(table["rows"], columns=table["columns"])

    def plot(self, **kw: Any) -> Figure:
        """The experiment's main plot as a matplotlib Figure
        (:func:`~matexplore.figures.figure_for`; ``table=``, ``x=``, ``y=`` choose others)."""
        from .figures import figure_for

        return figure_for(self.to_json(), self.info, **kw)

    def _table(self, name: str) -> dict[str, Any]:
        tables = self._result.get("tables") or {}
        if name not in tables:
            known = ", ".join(tables) or "none"
            raise KeyError(f"No table {name!r} in this result; its tables: {known}.")
        return tables[name]

    def __repr__(self) -> str:
        keys = ", ".join(list(self.summary)[:6]) + (", …" if len(self.summary) > 6 else "")
        return (f"Result({self.experiment!r}, status={self.status!r}, seed={self.seed}, "
                f"summary=[{keys}], tables={list(self._result.get('tables') or {})})")

    def _repr_html_(self) -> str:
        """Title, status, seed, the theory-vs-measurement table with ✓/✗, the other outputs
        and the tables with their sizes — every string HTML-escaped."""
        from .verdicts import error_text, mark, summary_rows, value_text

        esc = html.escape
        title = self.info.get("title") or self.experiment
        parts = [f"<div><strong>{esc(str(title))}</strong> <code>{esc(self.experiment)}</code>",
                 f"<br>status: <strong>{esc(self.status)}</strong> · seed: "
                 f"{esc(str(self.seed))}"]
        if self.error:
            parts.append(f"<br>error: {esc(self.error)}")
        rows = summary_rows(self.info, self.summary, self.params)
        compares = [r for r in rows if r.kind == "compare"]
        if compares:
            body = "".join(
                "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in (
                    r.label, value_text(r.theory), value_text(r.measured, r.se),
                    error_text(r.error, r.error_unit), mark(r.ok))) + "</tr>"
                for r in compares)
            parts.append("<table><tr><th>quantity</th><th>theory</th><th>measured</th>"
                         f"<th>error</th><th></th></tr>{body}</table>")
        for r in rows:
            if r.kind == "check":
                parts.append(f"<br>{esc(mark(r.ok))} {esc(r.text)}")
        others = [r for r in rows if r.kind in ("output", "source")]
        if others:
            parts.append("<br>other outputs: " + ", ".join(
                f"{esc(r.label)} = {esc(value_text(r.source if r.kind == 'source' else r.measured))}"
                for r in others))
        tables = self._result.get("tables") or {}
        if tables:
            parts.append("<br>tables: " + ", ".join(
                f"<code>{esc(n)}</code> ({len(t['rows'])} rows × {len(t['columns'])} columns)"
                for n, t in tables.items()))
        return "".join(parts) + "</div>"


# -- entry points -------------------------------------------------------------------------------
_registries: dict[tuple[str, ...], Registry] = {}


def _registry(plugin_dirs: Sequence[str | os.PathLike[str]]) -> Registry:
    """The installed plugins, plus those in ``plugin_dirs`` (loaded once per set of
    directories and installed process-wide, as ``--plugin-dir`` does in the CLI)."""
    if not plugin_dirs:
        return get_registry()
    key = tuple(str(Path(d).resolve()) for d in plugin_dirs)
    if key not in _registries:
        _registries[key] = load_registry(list(plugin_dirs))
    set_registry(_registries[key])
    return _registries[key]


def _recording(record: str | os.PathLike[str] | None) -> Recording | None:
    if record is None:
        return None
    if os.path.lexists(record):
        raise FileExistsError(f"{record} already exists; choose another record file.")
    return Recording(path=Path(record))


def _execute(run: Run) -> Result:
    """Run to the end (one BLAS thread, as the CLI); Ctrl-C cancels and waits for the
    partial result. A session that cannot be created raises ``OSError``."""
    from .runner import limit_blas_threads

    limit_blas_threads()
    run.start()
    try:
        while not run.wait(0.1):
            pass
    except KeyboardInterrupt:
        run.cancel()
        run.wait()
    return Result.of_run(run)


def run(experiment_id: str, *, seed: int | None = None,
        record: str | os.PathLike[str] | None = None,
        plugin_dirs: Sequence[str | os.PathLike[str]] = (), threads: int | None = None,
        **params: Any) -> Result:
    """Run an experiment to the end, as ``matexplore run --json`` does.

    ``params`` are Python values (``depth=5``) or command-line strings (``depth="5"``);
    ``seed=None`` draws one (recorded in the result); ``record`` writes a session file
    (refused if it exists); ``threads`` limits the kernels' cores."""
    from .runner import Run

    entry = _registry(plugin_dirs).get(experiment_id)
    given, texts = split_texts(params)
    if seed is not None:
        given["seed"] = seed
    resolved = resolve_params(entry.experiment.all_params(), given, texts=texts)
    return _execute(Run(entry, resolved, record=_recording(record), threads=threads))


def sweep(experiment_id: str, grid: Mapping[str, Sequence[Any]], *, seeds: int = 8,
          seed: int | None = None, scheduler: str | None = None, workers: int | None = None,
          record: str | os.PathLike[str] | None = None,
          plugin_dirs: Sequence[str | os.PathLike[str]] = (), plot: str | None = None,
          **fixed: Any) -> Result:
    """Run ``grid`` (parameter → list of values) × ``seeds`` seeds on Dask, as
    ``matexplore sweep --json`` does: ``seed`` is the sweep seed, ``scheduler`` an existing
    cluster's address (default: a local cluster of ``workers`` processes), ``plot`` the
    summary key of the sweep's plot, ``fixed`` the parameters every task shares."""
    from .runner import Run
    from .sweep import check_grid, make_sweep, plan_sweep

    registry = _registry(plugin_dirs)
    entry = registry.get(experiment_id)
    given, texts = split_texts(fixed)
    spec = plan_sweep(registry, entry, check_grid(entry.experiment, grid), given=given,
                      texts=texts, seeds=seeds, seed=seed)
    target = make_sweep(entry, spec, scheduler=scheduler, workers=workers, plot_key=plot)
    return _execute(Run(target, {"seed": spec.seed}, record=_recording(record),
                        meta={"sweep": spec.to_json()}))


def load(path: str | os.PathLike[str]) -> Result:
    """A session file as a Result, without importing its plugin (``replay --headless``);
    :class:`~matexplore.session.SessionError` (one sentence) if it cannot be read."""
    session = read_session(path)
    return Result(session.result(), session.info, warnings=session.warnings,
                  path=session.path, note=session.note)
