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
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

Scalar = Union[int, float, str, None]

__all__ = ["Frame", "Table", "Series", "Plot", "Compare", "Check", "RunState", "FrameBuffer", "to_json_value",
           "from_json_value", "Scalar"]

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
        """Decode a frame written by :meth:`to_json`; raises ValueError if malformed."""
        try:
            tables = {str(n): Table(columns=[str(c) for c in t["columns"]],
                                    rows=[from_json_value(list(r)) for r in t["rows"]],
                                    replace=bool(t.get("replace", False)))
                      for n, t in dict(obj.get("tables") or {}).items()}
            series = {str(n): Series(values=from_json_value(list(s["values"])),
                                     replace=bool(s.get("replace")))
                      for n, s in dict(obj.get("series") or {}).items()}
            summary = from_json_value(dict(obj.get("summary") or {}))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed frame ({exc.__class__.__name__}: {exc})") from None
        for t in tables.values():
            if any(len(r) != len(t.columns) for r in t.rows):
                raise ValueError("malformed frame (a row does not match its columns)")
        step, total = obj.get("step"), obj.get("total")
        for v in (step, total):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                raise ValueError("malformed frame (step/total must be integers)")
        message = obj.get("message")
        return cls(step=step, total=total, tables=tables, series=series, summary=summary,
                   message=message if isinstance(message, str) else None)


@dataclass(frozen=True)
class Plot:
    """The main theory-vs-simulation curve of an experiment: columns of one table.

    ``x`` is the abscissa column; each name in ``y`` becomes one line (put the theory
    column first). ``logy`` plots log10 of the values (non-positive values are skipped).
    """

    table: str
    x: str
    y: Sequence[str]
    title: str = ""
    logy: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "x": self.x, "y": list(self.y), "title": self.title,
                "logy": self.logy}


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
