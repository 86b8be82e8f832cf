"""The sessions list: every ``*.jsonl`` in the session directories, newest first.

Readable sessions show experiment, status (finished / cancelled / failed / interrupted),
date and params; a file that cannot be read is listed as ``unreadable`` with the reason
and the rest of the list keeps working. The actions (replay, rerun, delete, export) are
the screen's; this pane only lists and describes.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from ..session import SessionListing, list_sessions
from .runview import fmt_value

__all__ = ["SessionsPane", "params_text"]


def params_text(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v if isinstance(v, (str, int)) else fmt_value(v)}"
                    for k, v in params.items() if k != "seed")


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

    def __init__(self, directories: list[Path], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.directories = directories
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
        for i, item in enumerate(self.listings):
            if item.session is not None:
                s = item.session
                status = Text(s.status, style="bold" if s.status == "failed" else "")
                table.add_row(status, Text(s.experiment), _date(item), Text(item.path.name),
                              Text(params_text(s.header.get("params") or {})), key=str(i))
            else:
                table.add_row(Text("unreadable", style="bold reverse"), "?", _date(item),
                              Text(item.path.name), Text(item.error or ""), key=str(i))
        dirs = ", ".join(str(d) for d in self.directories) or "(none)"
        self.query_one("#sessions-dirs", Static).update(
            f"{len(self.listings)} session file(s) in {dirs}  ·  Enter replay · f fast · "
            "j jump to end · r rerun · x export · p figure · d delete · l reload")
        for i, item in enumerate(self.listings):
            if item.path == keep:
                table.move_cursor(row=i)
        self._describe()

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
        text.append(f"status {s.status}", style="bold")
        if s.error and s.status != "finished":
            text.append(f": {s.error}")
        text.append(f" · {len(s.frames)} frames · seed {h.get('seed')} · plugin "
                    f"{h.get('plugin')} {h.get('plugin_version')} · started {h.get('started')}\n")
        if s.note:
            text.append(f"note: {s.note}\n", style="italic")
        text.append("params: " + params_text(h.get("params") or {}) + "\n", style="dim")
        summary = s.state().summary
        if summary:
            text.append("summary: " + "  ".join(f"{k}={fmt_value(v)}"
                                                for k, v in list(summary.items())[:12]),
                        style="dim")
        detail.update(text)
