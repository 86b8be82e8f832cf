"""Paper-ready figures of a run: the experiment's main plot drawn with matplotlib.

:func:`figure_for` draws a result (the ``matexplore run --json`` object, or a session's
``Session.result()``) with the experiment's ``info`` (its :class:`~matexplore.frames.Plot`):

* theory columns are lines, measurements are points — with ±SE error bars when the plot
  names an SE column for them (``Plot.se``) or the table has a ``<column>_se`` column. A
  column is *theory* when its name contains "theory", or when it is the first of several
  ``y`` columns (the :class:`~matexplore.frames.Plot` convention: theory first);
* log axes where the plot asks (``logy``/``logx``; non-positive values are left out);
* axis labels are the column names; the title is the plot's (else the experiment's); a
  small caption names the experiment, its parameters and seed.

A sweep result (it has a ``"sweep"`` key) is drawn as one panel per summary key ``K``:
the mean over seeds ``K_mean`` ± ``K_se`` against the first swept parameter, with
``K_theory`` as a line when the sweep table has it.

Only the Agg canvas is used (no pyplot, no global backend switch), and matplotlib is
imported when a figure is made, never at ``import matexplore``.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["FigureError", "FORMATS", "figure_for", "figure_path", "save_figure",
           "plot_spec"]

FORMATS = (".svg", ".png", ".pdf")
DPI = 150  # PNG resolution: 6.4 × 4.2 in → 960 × 630 px


class FigureError(ValueError):
    """A figure cannot be drawn as asked; ``str(err)`` is one user-facing sentence."""


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def plot_spec(result: Mapping[str, Any], info: Mapping[str, Any], *, table: str | None = None,
              x: str | None = None, y: Sequence[str] | str | None = None) -> dict[str, Any]:
    """The plot to draw: ``info["plot"]`` with ``table``/``x``/``y`` overriding it, checked
    against the result's tables (:class:`FigureError` names an unknown table or column)."""
    spec = dict(info.get("plot") or {})
    if table is not None and table != spec.get("table"):
        spec = {"table": table}  # another table: the experiment's x, y and title don't apply
    if x is not None:
        spec["x"] = x
    if y is not None:
        spec["y"] = [y] if isinstance(y, str) else list(y)
    tables = result.get("tables") or {}
    if "table" not in spec:
        raise FigureError(f"Experiment {result.get('experiment')} declares no plot; choose one "
                          f"with --table (one of: {_names(tables)}), --x and --y.")
    if spec["table"] not in tables:
        raise FigureError(f"There is no table {spec['table']!r} in this run; its tables are: "
                          f"{_names(tables)}.")
    columns = tables[spec["table"]]["columns"]
    spec.setdefault("x", columns[0] if columns else "")
    spec.setdefault("y", [c for c in columns if c != spec["x"]])
    missing = [c for c in (spec["x"], *spec["y"]) if c not in columns]
    if missing:
        raise FigureError(f"Table {spec['table']!r} has no column {missing[0]!r}; its columns "
                          f"are: {_names(columns)}.")
    return spec


def _names(items: Any) -> str:
    return ", ".join(map(str, items)) or "(none)"


def _is_theory(name: str, index: int, n: int) -> bool:
    return "theory" in name or (index == 0 and n > 1)


def _se_column(name: str, spec: Mapping[str, Any], columns: Sequence[str]) -> str | None:
    se = (spec.get("se") or {}).get(name) or f"{name}_se"
    return se if se in columns else None


def _points(rows: Sequence[Sequence[Any]], xi: int, yi: int, si: int | None, *,
            logx: bool, logy: bool) -> tuple[list[Any], list[float], list[float] | None]:
    """The plottable (x, y[, se]) of a table: finite numbers, positive on a log axis. An x
    that is text (a category) is kept as text."""
    xs: list[Any] = []
    ys: list[float] = []
    ses: list[float] = []
    for r in rows:
        xv, yv = r[xi], r[yi]
        if not _finite(yv) or (logy and yv <= 0):
            continue
        if not (isinstance(xv, str) or _finite(xv) and (not logx or xv > 0)):
            continue
        xs.append(xv)
        ys.append(float(yv))
        sv = r[si] if si is not None else None
        ses.append(float(sv) if _finite(sv) and sv >= 0 else math.nan)
    return xs, ys, (ses if si is not None else None)


def _draw(ax: Axes, name: str, xs: list[Any], ys: list[float], ses: list[float] | None, *,
          theory: bool) -> None:
    if theory:
        ax.plot(xs, ys, "-", lw=1.6, label=name, gid=name)
    elif ses is not None:
        bars = ax.errorbar(xs, ys, yerr=ses, fmt="o", ms=3.5, capsize=2, elinewidth=0.8,
                           label=name)
        bars.lines[0].set_gid(name)
    else:
        ax.plot(xs, ys, "o", ms=3.5, label=name, gid=name)


def _table_axes(ax: Axes, result: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
    t = result["tables"][spec["table"]]
    columns, rows = t["columns"], t["rows"]
    xi = columns.index(spec["x"])
    logx, logy = bool(spec.get("logx")), bool(spec.get("logy"))
    ys = list(spec["y"])
    for i, name in enumerate(ys):
        se = _se_column(name, spec, columns)
        xs, yv, ses = _points(rows, xi, columns.index(name),
                              columns.index(se) if se else None, logx=logx, logy=logy)
        if xs:
            _draw(ax, name, xs, yv, ses, theory=_is_theory(name, i, len(ys)))
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(spec["x"])
    ax.set_ylabel(ys[0] if len(ys) == 1 else ", ".join(ys), wrap=True)
    if len(ys) > 1:
        ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.25, lw=0.5)


def _sweep_keys(columns: Sequence[str]) -> list[str]:
    return [c[: -len("_mean")] for c in columns if c.endswith("_mean")]


def _sweep_axes(fig: Figure, result: Mapping[str, Any]) -> None:
    """One panel per summary key: K_mean ± K_se vs the first swept parameter, K_theory."""
    grid = (result.get("sweep") or {}).get("grid") or {}
    table = (result.get("tables") or {}).get("sweep")
    if not grid or table is None:
        raise FigureError("This sweep has no 'sweep' table of results yet to plot.")
    x = next(iter(grid))
    columns = table["columns"]
    keys = _sweep_keys(columns)
    if not keys:
        raise FigureError("This sweep has no numeric summary values to plot.")
    ncols = min(3, len(keys))
    nrows = math.ceil(len(keys) / ncols)
    fig.set_size_inches(4.2 * ncols, 3.2 * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, key in zip(axes, keys):
        spec = {"table": "sweep", "x": x,
                "y": [c for c in (f"{key}_theory", f"{key}_mean") if c in columns],
                "se": {f"{key}_mean": f"{key}_se"}}
        _table_axes(ax, result, spec)
        ax.set_title(key, fontsize=9)
        ax.set_ylabel(key)
    for ax in axes[len(keys):]:
        ax.set_visible(False)


def _caption(result: Mapping[str, Any]) -> str:
    params = {k: v for k, v in (result.get("params") or {}).items() if k != "seed"}
    text = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
    words = [str(result.get("experiment", "?")), text, f"seed {result.get('seed')}"]
    if result.get("sweep"):
        s = result["sweep"]
        words[-1] = f"{s.get('seeds')} seeds per point, sweep seed {s.get('seed')}"
    status = result.get("status")
    if status and status != "finished":
        words.append(f"status {status}")
    return "\n".join(textwrap.wrap(" · ".join(w for w in words if w), 130))


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def figure_for(result: Mapping[str, Any], info: Mapping[str, Any], *, table: str | None = None,
               x: str | None = None, y: Sequence[str] | str | None = None) -> Figure:
    """A matplotlib Figure of ``result`` (the ``run --json`` shape) as the module docstring
    says; ``table``/``x``/``y`` choose other columns than the experiment's plot. Raises
    :class:`FigureError` (one sentence) for an unknown table or column."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    if result.get("sweep") and table is None and x is None and y is None:
        _sweep_axes(fig, result)
        title = info.get("title") or result.get("experiment", "")
    else:
        spec = plot_spec(result, info, table=table, x=x, y=y)
        _table_axes(fig.add_subplot(), result, spec)
        title = spec.get("title") or info.get("title") or result.get("experiment", "")
    fig.suptitle(title, fontsize=11)
    fig.text(0.005, 0.005, _caption(result), fontsize=6.5, color="0.35", ha="left",
             va="bottom")
    fig.get_layout_engine().set(rect=(0, 0.05, 1, 0.95))
    return fig


def figure_path(path: str | Path) -> Path:
    """``path`` as a Path if its suffix names a figure format, else :class:`FigureError`."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise FigureError(f"Cannot write a figure as {path.name!r}: the file name must end in "
                          f"{', '.join(FORMATS[:-1])} or {FORMATS[-1]}.")
    return path


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` in the format its suffix names (.svg, .png or .pdf);
    :class:`FigureError` for another suffix. Returns the path written."""
    path = figure_path(path)
    fmt = path.suffix.lower()
    metadata = {".svg": {"Date": None}, ".pdf": {"CreationDate": None}}.get(fmt, {})
    fig.savefig(path, format=fmt[1:], dpi=DPI, metadata=metadata)
    return path
