"""Session files: an append-only JSON-lines record of one run (schema 1).

Line 1, the header::

    {"type": "header", "schema": 1, "matexplore": "0.1.0", "plugin": "kernel_maps",
     "plugin_version": "0.1.0", "experiment": "kernel-maps.fixed-point",
     "info": {title, description, params (specs), plot, compare}, "params": {...},
     "seed": 42, "started": "2026-11-23T08:00:00+00:00", "host": "...",
     "versions": {"python": ..., "numpy": ..., "numba": ...}}

then one line per frame (``{"type": "frame", "t": seconds_since_start, ...Frame.to_json()}``),
each flushed as it is written, then the footer::

    {"type": "end", "status": "finished|cancelled|failed", "error": null|msg, "elapsed": s,
     "warnings": [msg, ...]}   # "warnings" only when there are some

Files are created exclusively (never shared by two runs, never silently overwritten).

A killed process leaves a valid prefix: the reader keeps every complete line, ignores a
partial last line, and reports the session as ``interrupted``. Anything else that is not
well-formed (a bad line in the middle, a wrong type, a newer schema, binary garbage) raises
:class:`SessionError` with one sentence. Reading never executes code from the file: it is
``json.loads`` plus type checks, nothing else.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .frames import Frame, RunState, to_json_value

__all__ = ["SCHEMA", "SessionError", "SessionWriter", "Session", "read_session",
           "list_sessions", "default_session_dir", "session_stem", "Recording"]

SCHEMA = 1
STATUSES = ("finished", "cancelled", "failed")
RESULT_META = ("sweep",)  # header keys that are also part of the result JSON


class SessionError(ValueError):
    """A session file cannot be read; ``str(err)`` is one user-facing sentence."""


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for mod in ("numpy", "numba", "scipy"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # not installed is fine for a header
            pass
    return out


class SessionWriter:
    """Writes one session file, flushing after every line (thread-safe).

    The file is created exclusively (``O_CREAT | O_EXCL``): two writers never share a
    file, and an existing file is never clobbered unless ``overwrite=True``. Use
    :meth:`create` for a fresh name in a directory (``stem.jsonl``, ``stem-2.jsonl``, …).
    """

    def __init__(self, path: str | os.PathLike[str], header: dict[str, Any], *,
                 overwrite: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
        fd = os.open(self.path, flags, 0o644)  # FileExistsError: the name is taken
        self._fh: IO[str] | None = os.fdopen(fd, "w", encoding="utf-8")
        full = {"type": "header", "schema": SCHEMA, **header, "started": _now(),
                "host": socket.gethostname(), "versions": _versions()}
        self._write(full)

    @classmethod
    def create(cls, directory: str | os.PathLike[str], stem: str,
               header: dict[str, Any]) -> SessionWriter:
        """A writer on the first free name ``<stem>.jsonl``, ``<stem>-2.jsonl``, … in
        ``directory``; the name is claimed atomically, so concurrent runs never collide."""
        directory = Path(directory)
        n = 1
        while True:
            name = f"{stem}.jsonl" if n == 1 else f"{stem}-{n}.jsonl"
            try:
                return cls(directory / name, header)
            except FileExistsError:
                n += 1

    def _write(self, obj: dict[str, Any], *, close: bool = False) -> bool:
        with self._lock:
            if self._fh is None:
                return False
            self._fh.write(_dumps(to_json_value(obj)) + "\n")
            self._fh.flush()
            if close:
                self._fh.close()
                self._fh = None
            return True

    @property
    def closed(self) -> bool:
        return self._fh is None

    def write_frame(self, frame: Frame, t: float) -> None:
        self._write({"type": "frame", "t": round(t, 6), **frame.to_json()})

    def finish(self, status: str, error: str | None, elapsed: float,
               warnings: list[str] | None = None) -> bool:
        """Write the footer and close, atomically: from any thread, only the first call
        writes (later ones, and frames after it, do nothing). True if this call wrote it."""
        end: dict[str, Any] = {"type": "end", "status": status, "error": error,
                               "elapsed": round(elapsed, 6)}
        if warnings:
            end["warnings"] = list(warnings)
        return self._write(end, close=True)


@dataclass(frozen=True)
class Recording:
    """Where a run records its session: an exact ``path`` (refused if it exists, unless
    ``overwrite``), or a fresh name ``<stem>[-n].jsonl`` in ``directory``."""

    path: Path | None = None
    directory: Path | None = None
    stem: str = "session"
    overwrite: bool = False

    @classmethod
    def new(cls, directory: str | os.PathLike[str], experiment_id: str,
            name: str | None = None) -> Recording:
        """A fresh session in ``directory``: ``<name>`` or ``<experiment>-<UTC time>``."""
        return cls(directory=Path(directory), stem=session_stem(experiment_id, name))

    def open(self, header: dict[str, Any]) -> SessionWriter:
        if self.path is not None:
            return SessionWriter(self.path, header, overwrite=self.overwrite)
        assert self.directory is not None, "a Recording needs a path or a directory"
        return SessionWriter.create(self.directory, self.stem, header)


@dataclass
class Session:
    """A session file as read back: header, frames (with their times), footer."""

    path: Path
    header: dict[str, Any]
    frames: list[tuple[float, Frame]] = field(default_factory=list)
    end: dict[str, Any] | None = None
    note: str | None = None  # e.g. "the last line was incomplete"

    @property
    def status(self) -> str:
        return self.end["status"] if self.end else "interrupted"

    @property
    def error(self) -> str | None:
        if self.end:
            return self.end.get("error")
        return "the run was interrupted before it finished (no end record)"

    @property
    def warnings(self) -> list[str]:
        return list(self.end.get("warnings") or []) if self.end else []

    @property
    def experiment(self) -> str:
        return str(self.header["experiment"])

    @property
    def info(self) -> dict[str, Any]:
        return dict(self.header.get("info") or {})

    def state(self) -> RunState:
        st = RunState()
        st.extend(f for _, f in self.frames)
        return st

    def result(self) -> dict[str, Any]:
        """The same JSON object `matexplore run --json` printed for this run."""
        return {"experiment": self.experiment, "params": self.header.get("params", {}),
                "seed": self.header.get("seed"), "status": self.status,
                "error": self.end.get("error") if self.end else self.error,
                **self.state().result(),
                **{k: self.header[k] for k in RESULT_META if k in self.header}}


def _check_header(obj: Any, path: Path) -> dict[str, Any]:
    if not isinstance(obj, dict) or obj.get("type") != "header":
        raise SessionError(f"{path} is not a matexplore session (the first line is not a header).")
    schema = obj.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise SessionError(f"{path} has no valid schema number in its header.")
    if schema > SCHEMA:
        raise SessionError(f"{path} uses session schema {schema}, newer than this matexplore "
                           f"understands ({SCHEMA}); upgrade matexplore to read it.")
    if not isinstance(obj.get("experiment"), str) or not isinstance(obj.get("params", {}), dict):
        raise SessionError(f"{path} has a header without a valid experiment id or params.")
    seed = obj.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise SessionError(f"{path} has a header with an invalid seed.")
    problem = _info_problem(obj.get("info"))
    if problem:
        raise SessionError(f"{path} has a header with invalid experiment info ({problem}).")
    return obj


def _is_str(v: Any, optional: bool = False) -> bool:
    return isinstance(v, str) or (optional and v is None)


def _info_problem(info: Any) -> str | None:
    """What is wrong with a header's ``info`` (as :meth:`Experiment.info` writes it), so
    that a replay can trust its title, plot and comparison rows; None if it is fine."""
    if info is None:
        return None
    if not isinstance(info, dict):
        return "not an object"
    for key in ("id", "title", "description"):
        if not _is_str(info.get(key), optional=True):
            return f"{key} is not text"
    if not isinstance(info.get("params", {}), dict):
        return "params is not an object"
    plot = info.get("plot")
    if plot is not None and not (
            isinstance(plot, dict) and _is_str(plot.get("table")) and _is_str(plot.get("x"))
            and isinstance(plot.get("y"), list) and all(_is_str(y) for y in plot["y"])
            and _is_str(plot.get("title"), optional=True)
            and isinstance(plot.get("logy", False), int)  # written as 0/1
            and isinstance(plot.get("logx", False), int)
            and isinstance(plot.get("se", {}), dict)
            and all(_is_str(k) and _is_str(v) for k, v in plot.get("se", {}).items())):
        return ("plot needs text table and x, a list of text y, an optional title, logy, "
                "logx and se (text → text)")
    compare = info.get("compare", [])
    if not isinstance(compare, list) or not all(
            isinstance(c, dict) and all(_is_str(c.get(k)) for k in ("label", "theory", "measured"))
            and _is_str(c.get("se"), optional=True) for c in compare):
        return "compare needs rows with text label, theory, measured and optional se"
    return None


def _check_end(obj: dict[str, Any], path: Path, lineno: int) -> dict[str, Any]:
    if obj.get("status") not in STATUSES:
        raise SessionError(f"{path} line {lineno}: unknown status {obj.get('status')!r}.")
    err = obj.get("error")
    if err is not None and not isinstance(err, str):
        raise SessionError(f"{path} line {lineno}: the error must be text.")
    warnings = obj.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise SessionError(f"{path} line {lineno}: the warnings must be a list of texts.")
    return obj


def _split_lines(data: bytes) -> tuple[list[bytes], bool]:
    """Split into complete lines; report whether a partial last line was dropped."""
    lines = data.split(b"\n")
    partial = lines.pop() != b""  # text after the last newline = a truncated write
    return lines, partial


def read_session(path: str | os.PathLike[str]) -> Session:
    """Read and validate a session file (see the module docstring)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise SessionError(f"cannot read {p}: {exc.strerror or exc}.") from None
    lines, partial = _split_lines(data)
    if not lines:
        raise SessionError(f"{p} is empty or was cut off before its header was complete.")
    objs = [_parse_line(line, p, i + 1) for i, line in enumerate(lines)]
    session = Session(path=p, header=_check_header(objs[0], p))
    for lineno, obj in enumerate(objs[1:], start=2):
        kind = obj.get("type")
        if session.end is not None:
            raise SessionError(f"{p} line {lineno}: data after the end record.")
        if kind == "frame":
            t = obj.get("t", 0.0)
            if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
                raise SessionError(f"{p} line {lineno}: the frame time is not a number.")
            try:
                frame = Frame.from_json(obj)
            except ValueError as exc:
                raise SessionError(f"{p} line {lineno}: {exc}.") from None
            session.frames.append((float(t), frame))
        elif kind == "end":
            session.end = _check_end(obj, p, lineno)
        # unknown record types from a future minor version are ignored
    if partial:
        session.note = "the last line was incomplete and was ignored"
    return session


def _parse_line(line: bytes, path: Path, lineno: int) -> dict[str, Any]:
    try:
        obj = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise SessionError(f"{path} line {lineno} is not valid UTF-8 text.") from None
    except (json.JSONDecodeError, RecursionError):
        raise SessionError(f"{path} line {lineno} is not valid JSON.") from None
    except ValueError:  # an integer with more digits than Python converts (4300)
        raise SessionError(f"{path} line {lineno} holds a number too long to read.") from None
    if not isinstance(obj, dict):
        raise SessionError(f"{path} line {lineno} is not a JSON object.")
    return obj


def replay_frames(session: Session, speed: float = 1.0) -> Iterator[tuple[float, Frame]]:
    """Yield ``(delay_before_frame, frame)`` pairs; ``speed=inf`` means no waiting."""
    last = 0.0
    for t, frame in session.frames:
        delay = 0.0 if speed == float("inf") else max(0.0, (t - last) / speed)
        last = t
        yield delay, frame


def default_session_dir() -> Path:
    """``$MATEXPLORE_SESSIONS`` or ./sessions (the project's shipped examples live there)."""
    return Path(os.environ.get("MATEXPLORE_SESSIONS", "sessions"))


def session_stem(experiment_id: str, name: str | None = None) -> str:
    """A safe file stem: ``<name>`` or ``<experiment>-<UTC timestamp>`` (no path parts)."""
    stem = name or f"{experiment_id}-{_dt.datetime.now(_dt.timezone.utc):%Y%m%d-%H%M%S}"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in stem).strip(".") or "session"


@dataclass
class SessionListing:
    """One row of the sessions list: readable sessions carry ``session``, others ``error``."""

    path: Path
    session: Session | None = None
    error: str | None = None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # deleted meanwhile: listed (as unreadable) at the end
        return 0.0


def list_sessions(directories: list[Path]) -> list[SessionListing]:
    """Every ``*.jsonl`` in the directories, newest first; unreadable ones keep the reason."""
    paths = sorted({p for d in directories if d.is_dir() for p in d.glob("*.jsonl")},
                   key=_mtime, reverse=True)
    out = []
    for p in paths:
        try:
            out.append(SessionListing(p, session=read_session(p)))
        except SessionError as exc:
            out.append(SessionListing(p, error=str(exc)))
    return out
