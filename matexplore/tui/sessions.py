"""The sessions list: every ``*.jsonl`` in the session directories, newest first.

Readable sessions show experiment, status, date and params. The status is the end record's
(a sweep's "finished" says how many tasks failed), ``running`` for a file one of this app's
live runs is writing, and "no end record yet" for any other file without an end record (a
run of another process, or one that was killed — the file cannot tell which); a file that cannot be read is listed as ``unreadable`` with the reason
and the rest of the list keeps working. The actions (replay, rerun, delete, export) are
the screen's; this pane only lists and describes.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from ..session import Session, SessionListing, list_sessions
from ..sweep import failed_tasks, spec_text
from .runview import fmt_value

__all__ = ["SessionsPane", "params_text", "status_text"]

NO_END = "no end record yet"


def params_text(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v if isinstance(v, (str, int)) else fmt_value(v)}"
                    for k, v in params.items() if k != "seed")


def status_text(session: Session, live: bool = False) -> str:
    """What the list says of a session's state (module docstring)."""
    if live:
        return "running"
    if session.end is None:
        return NO_END
    failed = failed_tasks(session.result()) if "sweep" in session.header else None
    return f"{session.status}, {failed}" if failed else session.status


def _params(session: Session) -> str:
    sweep = session.header.get("sweep")
    if isinstance(sweep, dict) and isinstance(sweep.get("grid"), dict):
        grid = " ".join(f"{k}={','.join(map(str, v))}" for k, v in sweep["grid"].items())
        return f"grid {grid} × {sweep.get('seeds')} seeds " + params_text(sweep.get("params")
                                                                           or {})
    return params_text(session.header.get("params") or {})


def _date(listing: SessionListing) -> str:
    started = listing.session.header.get("started") if listing.session else None
    try:
        when = _dt.datetime.fromisoformat(started).astimezone() if started else \
            _dt.datetime.fromtimestamp(listing.path.stat().st_mtime)
    except (ValueError, TypeError, OSError):
        return "?"
    return f"{when:%Y-%m-%d %H:%M}"


class SessionsPane(Vertical):
    """A DataTable of sessions and a detail pane for the highlighted one."""

    def __init__(self, directories: list[Path],
                 live: Callable[[], set[Path]] = set, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.directories = directories
        self.live = live  # the session files this app's live runs are writing
        self.listings: list[SessionListing] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="sessions-dirs", classes="dim-line")
        yield DataTable(id="sessions-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(classes="session-detail"):
            yield Static("", id="session-detail")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("status", "experiment", "date", "file", "params")
        self.reload()

    def reload(self) -> None:
        table = self.query_one(DataTable)
        keep = self.selected_path
        self.listings = list_sessions(self.directories)
        table.clear()
        live = self.live_paths()
        for i, item in enumerate(self.listings):
            if item.session is not None:
                s = item.session
                said = status_text(s, item.path.resolve() in live)
                status = Text(said, style="bold" if s.status == "failed" or "failed" in said
                              else "")
                table.add_row(status, Text(s.experiment), _date(item), Text(item.path.name),
                              Text(_params(s)), key=str(i))
            else:
                table.add_row(Text("unreadable", style="bold reverse"), "?", _date(item),
                              Text(item.path.name), Text(item.error or ""), key=str(i))
        dirs = ", ".join(str(d) for d in self.directories) or "(none)"
        self.query_one("#sessions-dirs", Static).update(
            f"{len(self.listings)} session file(s) in {dirs}  ·  Enter replay · f fast · "
            "j jump to end · r rerun · c compare with… · p figure · x export · d delete · "
            "l reload")
        for i, item in enumerate(self.listings):
            if item.path == keep:
                table.move_cursor(row=i)
        self._describe()

    def live_paths(self) -> set[Path]:
        return {p.resolve() for p in self.live()}

    @property
    def selected(self) -> SessionListing | None:
        table = self.query_one(DataTable)
        if not self.listings or table.row_count == 0:
            return None
        row = table.cursor_row
        return self.listings[row] if 0 <= row < len(self.listings) else None

    @property
    def selected_path(self) -> Path | None:
        item = self.selected if self.listings else None
        return item.path if item else None

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._describe()

    def _describe(self) -> None:
        item = self.selected
        detail = self.query_one("#session-detail", Static)
        if item is None:
            detail.update(Text("No session files yet: every run you start is recorded here.",
                               style="italic"))
            return
        text = Text()
        text.append(f"{item.path}\n", style="bold")
        if item.session is None:
            text.append("unreadable: ", style="bold")
            text.append(f"{item.error}\n")
            detail.update(text)
            return
        s = item.session
        h = s.header
        text.append(f"{s.experiment} — {s.info.get('title', '')}\n")
        live = item.path.resolve() in self.live_paths()
        text.append(f"status {status_text(s, live)}", style="bold")
        if live:
            text.append(" (a run in this app is writing it)")
        elif s.end is None:
            text.append(" (another process may still be writing it, or it was killed)")
        elif s.error and s.status != "finished":
            text.append(f": {s.error}")
        text.append(f" · {len(s.frames)} frames · seed {h.get('seed')} · plugin "
                    f"{h.get('plugin')} {h.get('plugin_version')} · started {h.get('started')}\n")
        if s.note:
            text.append(f"note: {s.note}\n", style="italic")
        if isinstance(h.get("sweep"), dict):
            text.append(spec_text(h["sweep"]) + "\n", style="dim")
        else:
            text.append("params: " + params_text(h.get("params") or {}) + "\n", style="dim")
        summary = s.state().summary
        if summary:
            text.append("summary: " + "  ".join(f"{k}={fmt_value(v)}"
                                                for k, v in list(summary.items())[:12]),
                        style="dim")
        detail.update(text)
