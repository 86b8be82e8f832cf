"""The Sweep dialog: a grid editor that turns a run tab's form into a Dask sweep.

The user writes one ``name=v1,v2,...`` line per swept parameter; every other parameter
keeps the value in the run tab's form. The dialog validates everything with the same
functions as ``matexplore sweep`` (:func:`~matexplore.sweep.parse_grid`, the task limit)
and shows the one-sentence error in place until the sweep is valid.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from ..experiment import Experiment
from ..params import ParamError
from ..sweep import DEFAULT_MAX_TASKS, parse_grid

__all__ = ["SweepRequest", "SweepScreen"]


@dataclass
class SweepRequest:
    """What the dialog returns: a validated grid and where to run it."""

    grid: dict[str, list[Any]]
    seeds: int
    workers: int | None
    scheduler: str | None
    plot_key: str | None


class SweepScreen(ModalScreen[SweepRequest | None]):
    """Grid editor; dismisses with a :class:`SweepRequest` or None (cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", priority=True),
                Binding("ctrl+s", "start", "Start sweep", priority=True)]

    def __init__(self, experiment: Experiment, example: str) -> None:
        super().__init__(classes="modal")
        self.experiment = experiment
        self.example = example

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog sweep-dialog"):
            yield Static(f"Sweep {self.experiment.id}: one NAME=V1,V2,... line per swept "
                         "parameter; the others keep the form's values.", classes="question")
            yield TextArea(self.example, id="grid", soft_wrap=True, compact=True)
            with Horizontal(classes="sweep-fields"):
                with Vertical():
                    yield Label("seeds per point")
                    yield Input("8", id="seeds", compact=True)
                with Vertical():
                    yield Label(f"local workers (cores: {os.cpu_count()})")
                    yield Input("", placeholder="one per core", id="workers", compact=True)
            yield Label("scheduler address (empty: a local cluster)")
            yield Input("", placeholder="tcp://host:8786", id="scheduler", compact=True)
            yield Label("summary key to plot (empty: the first compared quantity)")
            yield Input("", id="plot-key", compact=True)
            yield Static("", id="sweep-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Start sweep (ctrl+s)", id="start", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel-sweep", compact=True)

    def on_mount(self) -> None:
        grid = self.query_one("#grid", TextArea)
        grid.focus()
        grid.cursor_location = grid.document.end  # continue typing after "NAME="

    def validate(self) -> SweepRequest:
        """The request, or ParamError with one sentence saying what is wrong."""
        lines = [ln.strip() for ln in self.query_one("#grid", TextArea).text.splitlines()]
        grid = parse_grid(self.experiment, [ln for ln in lines if ln])
        seeds = _positive(self.query_one("#seeds", Input).value, "seeds per point")
        raw_workers = self.query_one("#workers", Input).value.strip()
        workers = _positive(raw_workers, "local workers") if raw_workers else None
        tasks = seeds
        for values in grid.values():
            tasks *= len(values)
        if tasks > DEFAULT_MAX_TASKS:
            raise ParamError(f"This sweep has {tasks} tasks, more than the limit of "
                             f"{DEFAULT_MAX_TASKS}; use the command line with --yes for it.")
        scheduler = self.query_one("#scheduler", Input).value.strip() or None
        plot_key = self.query_one("#plot-key", Input).value.strip() or None
        return SweepRequest(grid, seeds, workers, scheduler, plot_key)

    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        try:
            request = self.validate()
        except ParamError as exc:
            self.query_one("#sweep-error", Static).update(str(exc))
            return
        self.dismiss(request)

    @on(Button.Pressed, "#cancel-sweep")
    def action_cancel(self) -> None:
        self.dismiss(None)


def _positive(text: str, what: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise ParamError(f"{what} must be a positive integer; got {text.strip()!r}.")
    return value
