"""Compare two runs: choose a second session of the same experiment ("compare with…").

The chosen session's final state is shown in the run tab beside the tab's own run: its
curves are overlaid on the plot (labelled with the session's name) and its values stand in
an extra column of the summary panel, marked by the same verdict rule. Only sessions of
the same experiment are offered (other experiments' summaries have other keys).
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..session import Session, list_sessions

__all__ = ["CompareScreen", "candidates"]


def candidates(directories: list[Path], experiment: str,
               exclude: Path | None = None) -> list[Session]:
    """Readable sessions of ``experiment``, newest first, other than ``exclude``; sweep
    sessions are left out (their summary is per grid point, not per run)."""
    skip = exclude.resolve() if exclude is not None else None
    return [item.session for item in list_sessions(directories)
            if item.session is not None and item.session.experiment == experiment
            and "sweep" not in item.session.header and item.path.resolve() != skip]


class CompareScreen(ModalScreen[Session | None]):
    """A list of sessions to compare with; dismisses with the chosen one (or None)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, what: str, sessions: list[Session]) -> None:
        super().__init__(classes="modal")
        self.what = what
        self.sessions = sessions

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog compare-dialog"):
            yield Static(f"Compare {self.what} with… (Enter choose, Esc cancel)",
                         classes="question")
            yield OptionList(*(Option(_describe(s), id=str(i))
                               for i, s in enumerate(self.sessions)), id="compare-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.sessions[int(event.option.id or 0)])


def _describe(session: Session) -> str:
    from .sessions import params_text, status_text

    return (f"{session.path.name}  ·  {status_text(session)}  ·  seed "
            f"{session.header.get('seed')}  ·  {params_text(session.header.get('params') or {})}")
