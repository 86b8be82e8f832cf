"""What a run view watches: a live :class:`~matexplore.runner.Run` or a replayed session.

Both expose the same small surface (``take_update()``, ``status``, ``error``, ``done``,
``cancel()``, ``result()``), so the view has one code path: it polls ``take_update()`` a
few times per second and renders whatever merged delta it gets. :class:`ReplaySource`
feeds a session's recorded frames, timed by :func:`~matexplore.session.replay_frames`,
through the very same buffer; it needs no plugin code.

Exports (:func:`export_result`) write a run's tables as CSV and its summary as JSON.
"""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path
from typing import Any, Protocol

from ..frames import Frame, FrameBuffer, RunState, to_json_value
from ..session import Session, replay_frames

__all__ = ["Source", "ReplaySource", "export_result"]


class Source(Protocol):
    """The surface a run view polls (implemented by ``Run`` and ``ReplaySource``)."""

    status: str
    error: str | None
    warnings: list[str]  # about the finished run, e.g. a declared plot column never produced
    done: threading.Event

    def take_update(self) -> Frame | None: ...

    def cancel(self) -> None: ...

    def result(self) -> dict[str, Any]: ...


class ReplaySource:
    """Replays a session's frames in a thread at ``speed`` × the recorded pace.

    ``speed=inf`` jumps to the end at once; :meth:`jump_to_end` and :meth:`set_speed`
    take effect immediately, even in the middle of a long recorded pause.
    """

    def __init__(self, session: Session, speed: float = 1.0) -> None:
        self.session = session
        self.speed = float(speed)
        self.status = "pending"
        self.error: str | None = None
        self.warnings: list[str] = []
        self.state = RunState()
        self.done = threading.Event()
        self._cancel = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()  # guards self.state
        self._updates = FrameBuffer()

    @property
    def experiment_id(self) -> str:
        return self.session.experiment

    def start(self) -> ReplaySource:
        threading.Thread(target=self._feed, name="replay", daemon=True).start()
        return self

    def _feed(self) -> None:
        self.status = "running"
        for gap, frame in replay_frames(self.session, 1.0):  # recorded gaps, in seconds
            self._sleep(gap)
            if self._cancel.is_set():
                break
            with self._lock:
                self.state.apply(frame)
            self._updates.push(frame)
        if self._cancel.is_set():
            self.status, self.error = "cancelled", "replay stopped"
        else:
            self.status = self.session.status
            self.error = None if self.status == "finished" else self.session.error
            self.warnings = self.session.warnings
        self.done.set()

    def _sleep(self, recorded: float) -> None:
        """Wait ``recorded / speed`` seconds, waking early on jump, speed change or cancel."""
        remaining = max(0.0, recorded)
        while remaining > 1e-4 and not self._cancel.is_set():
            speed = self.speed
            if speed == float("inf"):
                return
            step = min(remaining / speed, 0.1)
            self._wake.clear()
            self._wake.wait(step)
            remaining -= step * speed

    def set_speed(self, speed: float) -> None:
        self.speed = float(speed)
        self._wake.set()

    def jump_to_end(self) -> None:
        self.set_speed(float("inf"))

    def cancel(self) -> None:
        self._cancel.set()
        self._wake.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def take_update(self) -> Frame | None:
        return self._updates.take()

    def result(self) -> dict[str, Any]:
        out = self.session.result()
        with self._lock:
            out.update(self.state.result())
        out["status"], out["error"] = self.status, self.error
        return out


def export_result(result: dict[str, Any], directory: Path) -> list[Path]:
    """Write each table to ``<table>.csv`` and the summary (+ run metadata) to
    ``summary.json`` in ``directory``; return the written paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in result.get("tables", {}).items():
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name) or "table"
        path = directory / f"{safe}.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(table["columns"])
            writer.writerows(table["rows"])
        written.append(path)
    meta = {k: result.get(k) for k in ("experiment", "params", "seed", "status", "error")}
    path = directory / "summary.json"
    path.write_text(json.dumps(to_json_value({**meta, "summary": result.get("summary", {})}),
                               indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                    encoding="utf-8")
    written.append(path)
    return written
