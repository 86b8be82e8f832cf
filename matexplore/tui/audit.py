"""The Audit tab: every registered claim grouped by source document, with its verdict.

On opening, each claim shows the verdict of its newest recorded audit session
(``<sessions>/audit-*/<claim>.jsonl``, re-evaluated from the recorded run). Keys: ``r`` runs
the highlighted claim, ``g`` its source's group, ``a`` all claims — in a background thread,
two claims at a time, recorded to a fresh ``audit-<time>`` directory; verdicts fill in as
runs finish. Enter on a claim with a recorded run replays it in its own tab (jumping to
the end); on one that has not run yet, it starts the run.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from ..audit import ClaimOutcome, audit_dir, latest_outcomes, run_audit
from ..claims import Claim, group_by_source
from ..plugins import Registry
from ..report import format_number, measured_text

__all__ = ["AuditPane"]

_STYLE = {"holds": "green", "fails": "bold red", "holds-partly": "yellow",
          "inconclusive": "dim", "running": "italic cyan", "queued": "dim italic"}
_KEYS = "r run · g run source · a run all · Enter open"


class AuditPane(Vertical):
    """Claims by source with their last verdict; runs them on request (module docstring)."""

    BINDINGS = [Binding("r", "run_claim", "Run claim"),
                Binding("g", "run_group", "Run source"),
                Binding("a", "run_all", "Run all")]

    def __init__(self, registry: Registry, session_dirs: list[Path], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.registry = registry
        self.session_dirs = session_dirs
        self.groups = group_by_source(list(registry.claims.values()))
        self.outcomes: dict[str, ClaimOutcome] = {}
        self.pending: set[str] = set()
        self._done: queue.Queue[ClaimOutcome] = queue.Queue()
        self._stop = threading.Event()
        self._keys: list[str] = []  # row index -> claim id, or "" for a source header

    def compose(self) -> ComposeResult:
        yield Static("", id="audit-status")
        yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=False)
        with VerticalScroll(classes="session-detail"):
            yield Static("", id="audit-detail")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("verdict", width=12)
        table.add_columns("claim", "source says", "exact", "measured ± se", "location")
        self.outcomes = latest_outcomes(self.registry, self.session_dirs)
        self._fill()
        self.set_interval(0.25, self._poll)

    def on_unmount(self) -> None:
        self._stop.set()

    # -- table --------------------------------------------------------------------------
    def _fill(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        self._keys = []
        for claims in self.groups.values():
            table.add_row(Text(""), Text(f"▸ {claims[0].source}", style="bold"), "", "", "",
                          Text(claims[0].source_title, style="bold"))
            self._keys.append("")
            for c in claims:
                table.add_row(*self._cells(c))
                self._keys.append(c.id)
        if self._keys:
            table.move_cursor(row=min(max(row, 1), len(self._keys) - 1), scroll=False)
        self._status()
        self._describe()

    def _cells(self, c: Claim) -> list[Any]:
        o = self.outcomes.get(c.id)
        word = "running" if c.id in self.pending else (o.verdict.verdict if o else "—")
        cells: list[Any] = [Text(word, style=_STYLE.get(word, "")), "  " + c.id]
        if o is None or c.id in self.pending:
            return cells + ["", "", "", c.location]
        v = o.verdict
        return cells + [format_number(v.source_value), format_number(v.exact),
                        measured_text(o), c.location]

    def _update_row(self, claim_id: str) -> None:
        table = self.query_one(DataTable)
        row = self._keys.index(claim_id)
        for col, value in enumerate(self._cells(self.registry.claims[claim_id])):
            table.update_cell_at((row, col), value)

    def _status(self) -> None:
        counts: dict[str, int] = {}
        for o in self.outcomes.values():
            counts[o.verdict.verdict] = counts.get(o.verdict.verdict, 0) + 1
        seen = ", ".join(f"{n} {k}" for k, n in counts.items()) or "none run yet"
        running = f" · {len(self.pending)} running" if self.pending else ""
        self.query_one("#audit-status", Static).update(
            f"{len(self.registry.claims)} claims · {seen}"
            f"{running}  ·  {_KEYS}")

    @property
    def selected(self) -> Claim | None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        cid = self._keys[row] if 0 <= row < len(self._keys) else ""
        return self.registry.claims.get(cid)

    @on(DataTable.RowHighlighted, "#audit-table")
    def _highlighted(self) -> None:
        self._describe()

    def _describe(self) -> None:
        c = self.selected
        detail = self.query_one("#audit-detail", Static)
        if c is None:
            detail.update(Text("Highlight a claim: r runs it, g its whole source, a all.",
                               style="italic"))
            return
        text = Text()
        text.append(f"{c.id}", style="bold")
        text.append(f" — {c.source_title}, {c.location}\n")
        text.append(f"{c.statement}\n")
        o = self.outcomes.get(c.id)
        if o is not None:
            text.append(f"{o.verdict.verdict}: ", style=_STYLE[o.verdict.verdict])
            text.append(f"{o.verdict.detail}\n")
        if c.corrected:
            text.append(f"corrected: {c.corrected}\n", style="dim")
        text.append(f"{c.experiment} {c.run_params()} · rule {c.rule.describe()}", style="dim")
        if o is not None and o.session:
            text.append(f"\nsession {o.session}", style="dim")
        detail.update(text)

    # -- running ------------------------------------------------------------------------
    def run_claims(self, claims: list[Claim]) -> None:
        """Start the claims not already running, in a background thread."""
        todo = [c for c in claims if c.id not in self.pending]
        if not todo:
            return
        self.pending |= {c.id for c in todo}
        for c in todo:
            self._update_row(c.id)
        self._status()
        directory = audit_dir(self.session_dirs[0])

        def work() -> None:
            for outcome in run_audit(self.registry, todo, directory, threads=2,
                                     cancel=self._stop.is_set):
                self._done.put(outcome)

        threading.Thread(target=work, name="audit", daemon=True).start()

    def _poll(self) -> None:
        changed = False
        while not self._done.empty():
            o = self._done.get()
            self.outcomes[o.claim.id] = o
            self.pending.discard(o.claim.id)
            self._update_row(o.claim.id)
            changed = True
        if changed:
            self._status()
            self._describe()

    def action_run_claim(self) -> None:
        if self.selected is not None:
            self.run_claims([self.selected])

    def action_run_group(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        header = next((i for i in range(row, -1, -1) if self._keys[i] == ""), 0)
        after = next((i for i in range(header + 1, len(self._keys)) if self._keys[i] == ""),
                     len(self._keys))
        self.run_claims([self.registry.claims[k] for k in self._keys[header + 1:after]])

    def action_run_all(self) -> None:
        self.run_claims(list(self.registry.claims.values()))

    @on(DataTable.RowSelected, "#audit-table")
    async def _open(self) -> None:
        c = self.selected
        if c is None:
            return
        o = self.outcomes.get(c.id)
        if o is None or o.session is None or c.id in self.pending:
            if c.id not in self.pending:
                self.app.notify(f"{c.id} has no recorded run yet: running it now.")
                self.run_claims([c])
            return
        from ..session import SessionError, read_session

        try:
            session = read_session(o.session)
        except SessionError as exc:
            self.app.notify(str(exc), severity="error")
            return
        await self.screen.open_replay(session, float("inf"))
