"""The streamed data model: what an experiment yields and what every view consumes.

An experiment's ``run`` is a generator of :class:`Frame` objects. A frame is a *delta*:

* ``tables``: named :class:`Table` updates; rows are appended to the table of that name
  (or replace it when ``Table(..., replace=True)``);
* ``series``: named lists of numbers appended to a series (sparklines, plots), or a
  :class:`Series` with ``replace=True`` (e.g. a histogram that is redrawn);
* ``summary``: headline scalars merged into the run's summary (latest value wins);
* ``step``/``total``: progress; ``message``: a status line ("compiling kernels…").

:class:`RunState` folds frames into the current state of a run. The CLI, the TUI, the
session writer and replay all use it, so a replayed session yields exactly the JSON of the
original run. Values are JSON scalars; NumPy scalars are converted, booleans become 0/1 and
non-finite floats are encoded as the strings "NaN", "Infinity", "-Infinity".
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

Scalar = Union[int, float, str, None]

__all__ = ["Frame", "Table", "Series", "Plot", "Compare", "Check", "RunState", "FrameBuffer",
           "to_json_value", "from_json_value", "Scalar", "FrameError", "check_frame",
           "output_warnings"]

_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def to_json_value(value: Any) -> Any:
    """Convert a scalar (Python or NumPy) or nested list/dict to strict-JSON-able data."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    # NumPy scalars and 0-d arrays, without importing numpy here
    if getattr(value, "ndim", 0) > 0:
        return to_json_value(value.tolist())
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind == "b":
        return int(bool(value))
    if kind in ("i", "u"):
        return int(value)
    if kind == "f":
        return to_json_value(float(value))
    if hasattr(value, "tolist"):
        return to_json_value(value.tolist())
    raise TypeError(f"cannot encode {type(value).__name__} value {value!r} in a frame")


def from_json_value(value: Any) -> Any:
    """Inverse of :func:`to_json_value` for the non-finite float markers."""
    if isinstance(value, str):
        return _NONFINITE.get(value, value)
    if isinstance(value, list):
        return [from_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: from_json_value(v) for k, v in value.items()}
    return value


@dataclass
class Table:
    """Rows for the named table: ``columns`` names each position of a row."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]] = ()
    replace: bool = False

    @classmethod
    def row(cls, **values: Any) -> Table:
        """One row given by column name, e.g. ``Table.row(layer=3, rho=0.5)``."""
        return cls(columns=list(values), rows=[list(values.values())])


@dataclass
class Series:
    """Points for the named series; ``replace=True`` replaces the whole series."""

    values: Sequence[float]
    replace: bool = False


@dataclass
class Frame:
    """One update of a running experiment (see the module docstring)."""

    step: int | None = None
    total: int | None = None
    tables: Mapping[str, Table] = field(default_factory=dict)
    series: Mapping[str, Sequence[float] | Series] = field(default_factory=dict)
    summary: Mapping[str, Any] = field(default_factory=dict)
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Encode as the JSON object stored in a session file (without "type"/"t")."""
        out: dict[str, Any] = {"step": self.step, "total": self.total}
        if self.tables:
            out["tables"] = {name: {"columns": list(t.columns),
                                    "rows": to_json_value([list(r) for r in t.rows]),
                                    **({"replace": True} if t.replace else {})}
                             for name, t in self.tables.items()}
        if self.series:
            out["series"] = {}
            for name, s in self.series.items():
                s = s if isinstance(s, Series) else Series(s)
                enc: dict[str, Any] = {"values": to_json_value(list(s.values))}
                if s.replace:
                    enc["replace"] = True
                out["series"][name] = enc
        if self.summary:
            out["summary"] = to_json_value(dict(self.summary))
        if self.message is not None:
            out["message"] = self.message
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Frame:
        """Decode a frame written by :meth:`to_json`; raises ValueError (one phrase, e.g.
        "malformed frame (table 'walk' row 2 has 3 values for 2 columns)") if malformed."""
        try:
            tables = {n: Table(columns=_json_list(t, "columns"),
                               rows=[_decode_row(r) for r in _json_list(t, "rows")],
                               replace=bool(t.get("replace")))
                      for n, t in _json_dict(obj, "tables", nested=True).items()}
            series = {n: Series(values=_decode_row(_json_list(v, "values")),
                                replace=bool(v.get("replace")))
                      for n, v in _json_dict(obj, "series", nested=True).items()}
            summary = {k: _decode(v) for k, v in _json_dict(obj, "summary").items()}
            message = obj.get("message")
            frame = cls(step=obj.get("step"), total=obj.get("total"), tables=tables,
                        series=series, summary=summary,
                        message=message if isinstance(message, str) else None)
            check_frame(frame)
        except FrameError as exc:
            raise ValueError(f"malformed frame ({exc})") from None
        return frame


def _json_dict(obj: dict[str, Any], key: str, nested: bool = False) -> dict[str, Any]:
    """``obj[key]`` as a dict (of dicts if ``nested``; ``{}`` when absent)."""
    value = obj.get(key) or {}
    if not isinstance(value, dict) or nested and not all(isinstance(v, dict)
                                                         for v in value.values()):
        raise FrameError(f"{key!r} must be an object" + (" of objects" if nested else ""))
    return value


def _decode(v: Any) -> Any:
    """The non-finite markers of one scalar (containers are left for check_frame)."""
    return _NONFINITE.get(v, v) if isinstance(v, str) else v


def _decode_row(row: Any) -> Any:
    return [_decode(v) for v in row] if isinstance(row, list) else row


def _json_list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise FrameError(f"{key!r} must be a list")
    return value


class FrameError(ValueError):
    """A frame that breaks the data model; ``str(err)`` names the mistake in one phrase."""


_NUMBER_KINDS = frozenset("biuf")  # NumPy dtype kinds of bool, int, uint, float
_OK = object()  # "no bad value found"


def _is_number(v: Any) -> bool:
    """A real number that fits a float: Python or 0-d NumPy bool/int/float."""
    if isinstance(v, (int, float)):
        return not isinstance(v, int) or abs(v) <= sys.float_info.max
    kind = getattr(getattr(v, "dtype", None), "kind", None)
    return kind in _NUMBER_KINDS and getattr(v, "ndim", 1) == 0


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, str) or _is_number(v)


def _check_name(kind: str, name: Any) -> None:
    if not isinstance(name, str):
        raise FrameError(f"{kind} names must be strings, not {type(name).__name__} {name!r}")


def _check_table(name: str, t: Any) -> None:
    if not isinstance(t, Table):
        raise FrameError(f"table {name!r} is a {type(t).__name__}, not a Table")
    if isinstance(t.columns, str) or not isinstance(t.columns, Sequence) or not all(
            isinstance(c, str) for c in t.columns):
        raise FrameError(f"table {name!r} needs a list of column names (strings)")
    width = len(t.columns)
    for i, row in enumerate(t.rows, start=1):
        if isinstance(row, (str, Mapping)) or not hasattr(row, "__len__"):
            raise FrameError(f"table {name!r} row {i} is not a list of values")
        if len(row) != width:
            raise FrameError(f"table {name!r} row {i} has {len(row)} values for "
                             f"{width} columns")
        bad = next((v for v in row if not _is_scalar(v)), _OK)
        if bad is not _OK:
            raise FrameError(f"table {name!r} row {i} holds {type(bad).__name__} {bad!r:.40}, "
                             "not a number, string or None")


def _check_series(name: str, s: Any) -> None:
    values = s.values if isinstance(s, Series) else s
    if isinstance(values, (str, Mapping)) or not hasattr(values, "__iter__"):
        raise FrameError(f"series {name!r} is a {type(values).__name__}, not a list of numbers")
    bad = next((v for v in values if not _is_number(v)), _OK)
    if bad is not _OK:
        raise FrameError(f"series {name!r} holds {type(bad).__name__} {bad!r:.40}, not a number")


def check_frame(frame: Any, experiment_id: str | None = None) -> None:
    """Raise :class:`FrameError` unless ``frame`` is a well-formed :class:`Frame`.

    Well-formed: integer (or None) ``step``/``total``, a text (or None) ``message``;
    string table names, each a :class:`Table` whose every row has one scalar per column;
    string series names with real numbers (integers must fit a float); string summary keys
    with scalar values (or flat lists of scalars). With ``experiment_id`` the message
    blames that experiment — what the runner reports when a ``run`` yields a bad frame,
    before anything is recorded."""
    try:
        _check_frame(frame)
    except FrameError as exc:
        if experiment_id is None:
            raise
        raise FrameError(f"experiment {experiment_id} yielded a malformed frame: {exc}.") \
            from None


def _check_frame(frame: Any) -> None:
    if not isinstance(frame, Frame):
        raise FrameError(f"run() yielded {type(frame).__name__}, not a Frame")
    for label, v in (("step", frame.step), ("total", frame.total)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise FrameError(f"{label} must be an integer or None, not {v!r:.40}")
    if frame.message is not None and not isinstance(frame.message, str):
        raise FrameError(f"message must be a string, not {type(frame.message).__name__}")
    for attr in ("tables", "series", "summary"):
        if not isinstance(getattr(frame, attr), Mapping):
            raise FrameError(f"{attr} must be a dict")
    for name, t in frame.tables.items():
        _check_name("table", name)
        _check_table(name, t)
    for name, s in frame.series.items():
        _check_name("series", name)
        _check_series(name, s)
    for key, v in frame.summary.items():
        _check_name("summary", key)
        if not (_is_scalar(v) or _is_flat_list(v)):
            raise FrameError(f"summary {key!r} is {type(v).__name__} {v!r:.40}, not a number, "
                             "string, None or a flat list of those")


def _is_flat_list(v: Any) -> bool:
    """A list/tuple (or 1-d array) of scalars: e.g. the values of a sweep done so far."""
    if getattr(v, "ndim", None) == 1:
        v = v.tolist()
    return isinstance(v, (list, tuple)) and all(_is_scalar(x) for x in v)


@dataclass(frozen=True)
class Plot:
    """The main theory-vs-simulation curve of an experiment: columns of one table.

    ``x`` is the abscissa column; each name in ``y`` becomes one line (put the theory
    column first). ``logy``/``logx`` ask for log axes (non-positive values are skipped).
    ``se`` maps a ``y`` column to the column of its standard error (figures draw ±SE
    error bars; a column named ``<y>_se`` is used without being named here).
    """

    table: str
    x: str
    y: Sequence[str]
    title: str = ""
    logy: bool = False
    logx: bool = False
    se: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "x": self.x, "y": list(self.y), "title": self.title,
                "logy": self.logy, "logx": self.logx, "se": dict(self.se)}


@dataclass(frozen=True)
class Compare:
    """A row of the summary panel: a theory value beside the measurement.

    Fields are *summary keys* (names in ``Frame.summary``), except ``label``/``help``/``tol``:

    * ``theory`` — the exact or corrected prediction; ``measured`` — the simulation's value;
    * ``se`` — the measurement's standard error. With it the error is shown in SE and the
      row is marked ✓ when |measured − theory| ≤ 4 SE;
    * ``tol`` — for deterministic comparisons without an SE (closed form vs ODE, …): the
      row is marked ✓ when |measured − theory| ≤ tol · max(1, |theory|);
      with neither ``se`` nor ``tol`` the row shows the error in % and no mark;
    * ``source`` — what the source document's formula gives, shown in its own "source says"
      column and checked against the measurement by the same rule, so a wrong source reads
      as the source being wrong, not the simulation;
    * ``help`` — the row's formula / meaning, shown for the focused row.
    """

    label: str
    theory: str
    measured: str
    se: str | None = None
    source: str | None = None
    tol: float | None = None
    help: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "theory": self.theory, "measured": self.measured,
                "se": self.se, "source": self.source, "tol": self.tol, "help": self.help}


@dataclass(frozen=True)
class Check:
    """A yes/no result of the run, e.g. "bound A holds at every layer".

    ``holds`` is the summary key of a 0/1 (or boolean) value; ``detail`` optionally names a
    summary key shown beside it (``detail_label``, e.g. "worst ratio"). The summary panel
    shows "bound A holds" or "bound A violated (worst ratio 55)" instead of raw 0/1."""

    label: str
    holds: str
    detail: str | None = None
    detail_label: str = ""
    help: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "holds": self.holds, "detail": self.detail,
                "detail_label": self.detail_label, "help": self.help}


def output_warnings(plot: Plot | None, compare: Sequence[Compare],
                    state: RunState) -> list[str]:
    """What a finished run declared but never produced: the ``plot`` table or one of its
    columns, a ``compare`` summary key. One sentence each (empty when all is there)."""
    out = []
    if plot is not None:
        table = state.tables.get(plot.table)
        if table is None:
            out.append(f"The plot's table {plot.table!r} never appeared in the run's tables.")
        else:
            missing = [c for c in (plot.x, *plot.y) if c not in table["columns"]]
            if missing:
                out.append(f"The plot's column(s) {', '.join(map(repr, missing))} never "
                           f"appeared in table {plot.table!r}.")
    for c in compare:
        missing = [k for k in (c.theory, c.measured, c.se, c.source)
                   if k and k not in state.summary]
        if missing:
            out.append(f"The comparison {c.label!r} names summary key(s) "
                       f"{', '.join(map(repr, missing))} that never appeared in the summary.")
    return out


class RunState:
    """The accumulated state of a run: tables, series, summary and progress.

    ``apply`` folds one frame in; ``result`` returns the JSON shape printed by
    ``matexplore run --json``. ``series_limit`` bounds the points kept per series
    in memory (a ring buffer, for long runs in the TUI); ``None`` keeps everything.
    """

    def __init__(self, series_limit: int | None = None) -> None:
        self.tables: dict[str, dict[str, Any]] = {}
        self.series: dict[str, list[float]] = {}
        self.summary: dict[str, Any] = {}
        self.step: int | None = None
        self.total: int | None = None
        self.message: str | None = None
        self.frames = 0
        self._series_limit = series_limit

    def apply(self, frame: Frame) -> None:
        self.frames += 1
        if frame.step is not None:
            self.step = frame.step
        if frame.total is not None:
            self.total = frame.total
        if frame.message is not None:
            self.message = frame.message
        for name, t in frame.tables.items():
            rows = to_json_value([list(r) for r in t.rows])
            cur = self.tables.get(name)
            if cur is None or t.replace or list(cur["columns"]) != list(t.columns):
                self.tables[name] = {"columns": list(t.columns), "rows": rows}
            else:
                cur["rows"].extend(rows)
        for name, s in frame.series.items():
            s = s if isinstance(s, Series) else Series(s)
            values = to_json_value(list(s.values))
            if s.replace or name not in self.series:
                self.series[name] = list(values)
            else:
                self.series[name].extend(values)
            if self._series_limit and len(self.series[name]) > self._series_limit:
                del self.series[name][: len(self.series[name]) - self._series_limit]
        self.summary.update(to_json_value(dict(frame.summary)))

    def extend(self, frames: Iterable[Frame]) -> None:
        for f in frames:
            self.apply(f)

    def result(self) -> dict[str, Any]:
        """Tables, series and summary in the public ``run --json`` shape."""
        return {"summary": dict(self.summary),
                "tables": {n: {"columns": list(t["columns"]), "rows": [list(r) for r in t["rows"]]}
                           for n, t in self.tables.items()},
                "series": {n: list(v) for n, v in self.series.items()}}


def merge_frames(frames: Sequence[Frame]) -> Frame:
    """Coalesce consecutive frames into one delta with the same effect on a RunState.

    Appended rows/points are concatenated; a replacing table/series drops what came
    before it; the summary keeps the latest value of each key. This is how a fast kernel's
    frames reach a slow terminal: many frames, one redraw.
    """
    tables: dict[str, Table] = {}
    series: dict[str, Series] = {}
    summary: dict[str, Any] = {}
    step = total = None
    message = None
    for f in frames:
        step = f.step if f.step is not None else step
        total = f.total if f.total is not None else total
        message = f.message if f.message is not None else message
        for name, t in f.tables.items():
            cur = tables.get(name)
            rows = [list(r) for r in t.rows]
            if cur is not None and not t.replace and list(cur.columns) == list(t.columns):
                cur.rows = list(cur.rows) + rows
            else:  # new, replacing, or new columns (RunState then replaces too)
                tables[name] = Table(list(t.columns), rows, replace=t.replace or cur is not None)
        for name, s in f.series.items():
            s = s if isinstance(s, Series) else Series(s)
            cur_s = series.get(name)
            if cur_s is None or s.replace:
                series[name] = Series(list(s.values), replace=s.replace)
            else:
                cur_s.values = list(cur_s.values) + list(s.values)
        summary.update(f.summary)
    return Frame(step=step, total=total, tables=tables, series=series, summary=summary,
                 message=message)


class FrameBuffer:
    """Frames pushed by a worker thread and taken by a view, merged into one delta.

    This is the coalescing buffer between a run (or a replay) and the UI: however many
    frames arrive between two polls, the view gets one :func:`merge_frames` of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frames: list[Frame] = []

    def push(self, frame: Frame) -> None:
        with self._lock:
            self._frames.append(frame)

    def take(self) -> Frame | None:
        """Everything pushed since the last call, merged (None if nothing was)."""
        with self._lock:
            frames, self._frames = self._frames, []
        return merge_frames(frames) if frames else None
