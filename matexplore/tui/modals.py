"""Small modal screens: yes/no confirmation, the help screen, the export dialog."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

__all__ = ["ConfirmScreen", "HelpScreen", "ExportScreen", "HELP_KEYS"]

HELP_KEYS: list[tuple[str, list[tuple[str, str]]]] = [
    ("everywhere", [("F1 / ?", "this help"), ("ctrl+p", "command palette (every action)"),
                    ("F2", "experiments tab"), ("F3", "sessions tab"), ("F8", "audit tab"),
                    ("F4 / ctrl+pgdn", "next tab"), ("ctrl+pgup", "previous tab"),
                    ("ctrl+w", "close the current run tab (cancels its run)"),
                    ("tab / shift+tab", "move focus"), ("ctrl+q", "quit (asks if runs are live)")]),
    ("experiments", [("type", "filter by id, title or plugin"), ("/", "focus the filter"),
                     ("esc", "clear the filter"), ("↑ ↓", "move"),
                     ("enter", "open a run tab for the experiment")]),
    ("run tab", [("ctrl+r / F5", "run with the form's parameters"),
                 ("ctrl+g / F6", "cancel the run (partial results are kept and saved)"),
                 ("F7", "sweep: a grid of parameters × seeds on Dask, in a new tab"),
                 ("x", "export the tab's tables (CSV) and summary (JSON)"),
                 ("j", "replay: jump to the end"), ("f", "replay: 4× faster")]),
    ("sessions", [("enter", "replay at the recorded speed"), ("f", "replay 10× faster"),
                  ("j", "replay, jumping to the end"),
                  ("r", "rerun with the recorded params and seed; shows MATCH or DIFFER"),
                  ("x", "export tables (CSV) and summary (JSON)"), ("d", "delete (asks)"),
                  ("l", "reload the list")]),
    ("audit", [("r", "run the highlighted claim"), ("g", "run every claim of its source"),
               ("a", "run all claims"),
               ("enter", "replay the claim's recorded run (or run it)")]),
]


class ConfirmScreen(ModalScreen[bool]):
    """A question with Yes / No; dismisses with True or False."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="modal")
        self.question, self.yes, self.no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="question")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="error", compact=True)
                yield Button(f"{self.no} (n)", id="no", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class HelpScreen(ModalScreen[None]):
    """Every key, grouped by where it applies."""

    BINDINGS = [Binding("escape,q,f1,question_mark", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for section, keys in HELP_KEYS:
            table.add_row(Text(section, style="bold underline"), "")
            for key, what in keys:
                table.add_row(key, what)
        with VerticalScroll(classes="dialog help"):
            yield Static(Text("matexplore — keys", style="bold"))
            yield Static(table)
            yield Static(Text("Esc closes this help. Every action is also in the command "
                              "palette (ctrl+p).", style="dim"))


class ExportScreen(ModalScreen["Path | None"]):
    """Ask for the directory to export into; dismisses with the path or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, what: str, default: Path) -> None:
        super().__init__(classes="modal")
        self.what, self.default = what, default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Export {self.what}: tables as <table>.csv and the summary as "
                         "summary.json into the directory:", classes="question")
            yield Input(str(self.default), id="export-dir", compact=True)
            yield Label("Enter to export, Esc to cancel", classes="field-help")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.dismiss(Path(text).expanduser() if text else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
