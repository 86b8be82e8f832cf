"""One run tab: parameter form, Run/Cancel, and the live output of a run or a replay.

The view watches a *source* (a :class:`~matexplore.runner.Run`, or a
:class:`~matexplore.tui.sources.ReplaySource` for a recorded session): a timer polls
``source.take_update()`` at :data:`POLL_HZ` and renders the merged delta — progress with
ETA, a status line, the summary panel (:mod:`.summary`), bounded
DataTables, one Sparkline per series and the experiment's main theory-vs-simulation plot.
Live runs and replays go through exactly the same rendering code.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.widgets import (Button, DataTable, Input, Label, ProgressBar, Select, Sparkline,
                             Static, Switch, TabbedContent, TabPane)

from ..frames import Frame, RunState
from ..params import Bool, Choice, Param, ParamError
from ..plugins import ExperimentEntry
from ..session import Recording, Session
from ..sweep import failed_tasks, spec_text
from .redraw import update_text
from .sources import ReplaySource, Source
from .summary import SummaryPanel

__all__ = ["RunView", "ParamForm", "POLL_HZ", "TABLE_ROWS", "fmt_value"]

POLL_HZ = 12          # how often the view drains the run's coalescing buffer (≤ 15 Hz)
PLOT_INTERVAL = 2.0   # seconds between redraws of the plot/tables/sparklines while streaming
                      # (a plot redraw is a few KB of terminal output: matters over SSH)
SUMMARY_INTERVAL = 1.0  # seconds between redraws of the summary panel while streaming
                        # (re-rendering its table costs the UI 5–10 ms; at 0.5 s the key
                        # p95 of benchmarks/ui_latency.py was 52–56 ms, at 1 s 36–38 ms)
TABLE_ROWS = 500      # rows kept in each on-screen DataTable (the session keeps them all)
SPARK_POINTS = 400    # points shown per sparkline
STATUS_ICONS = {"pending": "·", "running": "▶", "finished": "✓", "cancelled": "■",
                "failed": "✗", "interrupted": "…"}


def recorded_elapsed(session: Session) -> float:
    """How long the recorded run took: its end record's elapsed, else its last frame's time."""
    if session.end and isinstance(session.end.get("elapsed"), (int, float)):
        return float(session.end["elapsed"])
    return session.frames[-1][0] if session.frames else 0.0


def fmt_value(v: Any) -> str:
    """A compact rendering of a summary/table value."""
    if v is None:
        return "—"
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        return f"{v:.5g}"
    return str(v)


class FormInput(Input):
    """A one-line Input whose edits repaint only itself.

    Textual's Input keeps the width of its text as its *virtual size*, a reactive that asks
    for a screen layout when it changes, i.e. at every key press: a reflow and repaint of
    the whole screen, 10–40 ms while runs stream (``benchmarks/ui_latency.py``). A compact
    Input in the form has a fixed size (the text scrolls inside it), so that layout
    changes nothing on screen."""

    virtual_size = Reactive(Size(0, 0), layout=False)


class ParamForm(Vertical):
    """Inputs generated from typed params, validated as the user types."""

    def __init__(self, specs: dict[str, Param], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.specs = specs

    def compose(self) -> ComposeResult:
        for name, spec in self.specs.items():
            with Vertical(classes="field", id=f"field-{name}"):
                yield Label(f"{name} [dim]({spec.kind})[/]", classes="field-label")
                if isinstance(spec, Bool):
                    with Horizontal(classes="switch-row"):
                        yield Switch(value=bool(spec.default), id=f"param-{name}")
                        yield Label(_on_off(bool(spec.default)), classes="switch-state")
                elif isinstance(spec, Choice):
                    yield Select([(c, c) for c in spec.choices], value=spec.default,
                                 allow_blank=False, compact=True, id=f"param-{name}")
                else:
                    yield FormInput(spec.format(spec.default), compact=True,
                                    id=f"param-{name}",
                                    placeholder="random" if spec.kind == "seed" else
                                    "(empty) " + spec.allowed()
                                    if spec.kind.endswith("_list") else spec.allowed())
                yield Static("", classes="field-error", id=f"error-{name}")
                if spec.help:
                    yield Static(spec.help, classes="field-help")

    def _check(self, name: str) -> tuple[Any, str | None]:
        spec = self.specs[name]
        widget = self.query_one(f"#param-{name}")
        try:
            if isinstance(widget, Input):
                return spec.parse(name, widget.value), None
            return spec.validate(name, widget.value), None
        except ParamError as exc:
            return None, str(exc)

    def show_error(self, name: str, message: str | None) -> None:
        err = self.query_one(f"#error-{name}", Static)
        err.update(message or "")
        err.set_class(bool(message), "-shown")
        self.query_one(f"#param-{name}").set_class(bool(message), "-invalid")

    @on(Input.Changed)
    def _validate_as_typed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("param-")
        if name in self.specs:
            self.show_error(name, self._check(name)[1])

    def collect(self) -> tuple[dict[str, Any], dict[str, str]]:
        """Parsed values and the error message of each invalid field (shown inline)."""
        values, errors = {}, {}
        for name in self.specs:
            value, err = self._check(name)
            self.show_error(name, err)
            if err:
                errors[name] = err
            else:
                values[name] = value
        return values, errors

    def set_values(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name not in self.specs:
                continue
            widget = self.query_one(f"#param-{name}")
            if isinstance(widget, Input):
                widget.value = self.specs[name].format(value)
            else:
                widget.value = value


class RunView(Vertical):
    """A tab's content: the form (or the recorded params) and the live output."""

    class StatusChanged(Message):
        """The view's source changed status (the tab label follows it)."""

        def __init__(self, view: RunView) -> None:
            super().__init__()
            self.view = view

    def __init__(self, info: dict[str, Any], *, entry: ExperimentEntry | None = None,
                 mode: str = "run", session: Session | None = None,
                 session_dir: Path | None = None, note: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.info = info
        self.entry = entry
        self.note = note  # shown instead of the form (e.g. a sweep's grid)
        self.mode = mode  # "run" | "replay" | "rerun" | "sweep"
        self.session = session
        self.session_dir = session_dir
        self.source: Source | None = None
        self.record_path: Path | None = None
        self._forgotten: Path | None = None  # a record deleted while the run was live
        self._stale = False  # the form was edited after the shown run ended
        self.other: Session | None = None  # "compare with…": a second run shown beside
        self.comparison: dict[str, Any] | None = None
        self.final_status: str | None = None  # set once the end of the source is rendered
        self.state = RunState(series_limit=SPARK_POINTS)
        self._timer: Any = None
        self._started = 0.0
        self._plot_dirty = False
        self._sparks: dict[str, tuple[Label, Sparkline]] = {}  # series name → its widgets
        self._tables: dict[str, DataTable] = {}  # table name → its DataTable
        self._generation: dict[str, int] = {}  # bumped when a table is (re)created/replaced
        self._rendered: dict[str, tuple[int, int]] = {}  # generation, rows shown of the state
        self._tables_dirty = self._sparks_dirty = self._summary_dirty = False
        self._last_draw = self._last_summary = 0.0

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(classes="run-body"):
            with VerticalScroll(classes="run-form"):
                yield Static(Text(self.info.get("title", ""), style="bold"), classes="run-title")
                if self.mode == "run" and self.entry is not None:
                    yield ParamForm(self.entry.experiment.all_params(), classes="params")
                    with Vertical(classes="field"):
                        yield Label("record session", classes="field-label")
                        with Horizontal(classes="switch-row"):
                            yield Switch(value=True, id="record")
                            yield Label(_on_off(True), classes="switch-state")
                    with Vertical(classes="field"):
                        yield Label("session name", classes="field-label")
                        yield FormInput(placeholder="auto", compact=True, id="session-name")
                    with Horizontal(classes="buttons"):
                        yield Button("Run", id="run", variant="primary", compact=True)
                        yield Button("Cancel", id="cancel", variant="error", compact=True,
                                     disabled=True)
                else:
                    yield Static(self.note or self._recorded_params(), classes="recorded-params")
                    with Horizontal(classes="buttons"):
                        yield Button("Stop", id="cancel", variant="error", compact=True)
            with Vertical(classes="run-output"):
                yield Static("ready — set parameters and press Run (ctrl+r)",
                             classes="status-line")
                yield ProgressBar(total=None, show_eta=True, classes="progress")
                yield SummaryPanel(self.info, classes="summary")
                with TabbedContent(classes="outputs"):
                    with TabPane("plot", classes="plot-pane", id="out-plot"):
                        yield Static("", classes="plot-placeholder")
                    with TabPane("tables", classes="tables-pane", id="out-tables"):
                        yield VerticalScroll(classes="tables")
                    with TabPane("series", classes="sparks-pane", id="out-series"):
                        yield VerticalScroll(classes="sparks")

    def _recorded_sweep(self) -> dict[str, Any] | None:
        sweep = self.session.header.get("sweep") if self.session is not None else None
        return sweep if isinstance(sweep, dict) and "grid" in sweep else None

    def compare_with(self, other: Session) -> None:
        """Show ``other``'s final state beside this tab's run: its curves overlaid on the
        plot and its values in their own summary column (see :mod:`.compare`)."""
        self.other = other
        self.query_one(".summary", SummaryPanel).set_other(
            other.path.stem, other.state().summary, other.header.get("params") or {})
        self._plot_dirty = True
        self._draw_outputs(force=True)

    def forget_record(self) -> None:
        """Its session file is about to be deleted: never call it saved."""
        self._forgotten, self.record_path = self.record_path, None

    def _recorded_params(self) -> Text:
        header = self.session.header if self.session else {}
        text = Text()
        if self.session is not None:
            text.append(f"{self.session.path.name}\n", style="bold")
        if self._recorded_sweep() is not None:
            text.append(spec_text(self._recorded_sweep()) + "\n")
            return text
        for k, v in (header.get("params") or {}).items():
            text.append(f"{k} = ", style="dim")
            text.append(f"{fmt_value(v) if not isinstance(v, list) else v}\n")
        return text

    def on_mount(self) -> None:
        self.query_one(".summary", SummaryPanel).display = False  # until there are rows
        self.query_one(".progress", ProgressBar).display = False  # no animation until a run
        if self.info.get("plot") is None:
            self.query_one(".plot-placeholder", Static).update("(this experiment declares no plot)")

    # -- starting -------------------------------------------------------------------------
    def start_run(self) -> bool:
        """Validate the form and start a Run; False (with inline messages) if refused."""
        if self.mode != "run" or self.entry is None:
            return False
        if self.running:
            self.app.notify("This tab's run is still in progress.", severity="warning")
            return False
        from ..procrun import InProcess
        from ..runner import Run

        values, errors = self.query_one(ParamForm).collect()
        if errors:
            first = next(iter(errors))
            self.query_one(f"#param-{first}").focus()
            self.app.notify(f"Run refused: {errors[first]}", severity="error",
                            title="invalid parameter")
            self._set_status(Text(f"not started: {len(errors)} invalid parameter(s)",
                                  style="bold"), "error")
            return False
        path = None
        if self.query_one("#record", Switch).value and self.session_dir is not None:
            name = self.query_one("#session-name", Input).value.strip() or None
            try:
                self.session_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                self.app.notify(f"cannot create {self.session_dir}: {exc}", severity="error")
                return False
            path = Recording.new(self.session_dir, self.entry.id, name)
        try:
            run = Run(self.entry, values, record=path,
                      frames=InProcess(self.app.registry)).start()
        except (ParamError, OSError) as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return False
        self.record_path = run.record_path
        self.attach(run)
        return True

    def start_replay(self, speed: float) -> None:
        assert self.session is not None
        self.attach(ReplaySource(self.session, speed).start())

    def attach(self, source: Source) -> None:
        """Show ``source`` from now on (resetting the outputs) and start polling it."""
        self.source = source
        self._stale = False
        self.query_one(".run-output").remove_class("-stale")
        self.state = RunState(series_limit=SPARK_POINTS)
        self.query_one(".summary", SummaryPanel).set_params(_source_params(source))
        self._reset_outputs()
        self._started = time.monotonic()
        self._set_running(True)
        if self._timer is None:
            self._timer = self.set_interval(1 / POLL_HZ, self._poll)
        else:
            self._timer.resume()
        self.post_message(self.StatusChanged(self))

    def _reset_outputs(self) -> None:
        self.query_one(".tables", VerticalScroll).remove_children()
        self.query_one(".sparks", VerticalScroll).remove_children()
        self.query_one(".progress", ProgressBar).update(total=None, progress=0)
        self._show_eta(True)
        self.query_one(".summary", SummaryPanel).show({})
        self._sparks.clear()
        self._tables.clear()
        self._generation.clear()
        self._rendered.clear()
        self._plot_dirty = self._tables_dirty = self._sparks_dirty = False
        self._summary_dirty, self._last_summary = False, 0.0
        self.comparison = None
        self.final_status = None

    def _set_running(self, running: bool) -> None:
        for button in self.query("#run"):
            button.disabled = running
        for button in self.query("#cancel"):
            button.disabled = not running
            if self.mode != "run":  # a replay/rerun/sweep tab cannot be restarted: no Stop
                button.display = running
        bar = self.query_one(".progress", ProgressBar)
        if running:
            bar.display = True
        elif self.state.total is None:
            bar.display = False  # an indeterminate bar would animate forever while idle

    # -- control --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.source is not None and not self.source.done.is_set()

    @property
    def status(self) -> str:
        return self.source.status if self.source is not None else "pending"

    def cancel(self) -> None:
        if self.running:
            self.source.cancel()
            self._set_status(Text("cancelling…"), "")

    def jump_to_end(self) -> None:
        if isinstance(self.source, ReplaySource) and self.running:
            self.source.jump_to_end()

    def faster(self) -> None:
        if isinstance(self.source, ReplaySource) and self.running:
            self.source.set_speed(self.source.speed * 4)
            self.app.notify(f"replay speed ×{self.source.speed:g}")

    @on(Input.Changed, ".params Input")
    @on(Select.Changed, ".params Select")
    @on(Switch.Changed, ".params Switch")
    def _form_edited(self) -> None:
        """The shown results are no longer those of the form's values: mark them stale."""
        if self.mode != "run" or self.source is None or self.running or self._stale:
            return
        self._stale = True
        self.query_one(".run-output").add_class("-stale")
        line = self.query_one(".status-line", Static)
        text = Text.assemble("stale: the parameters were edited since this run · ",
                             style="bold")
        text.append_text(line.content if isinstance(line.content, Text) else Text(
            str(line.content)))
        line.update(text)

    @on(Switch.Changed)
    def _switch_state(self, event: Switch.Changed) -> None:
        for label in event.switch.parent.query(".switch-state"):
            label.update(_on_off(event.value))

    @on(Button.Pressed, "#run")
    def _run_pressed(self) -> None:
        self.start_run()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.cancel()

    # -- rendering ------------------------------------------------------------------------
    def _poll(self) -> None:
        src = self.source
        if src is None:
            return
        ended = src.done.is_set()  # read before draining: no frame can follow the end
        update = src.take_update()
        with self.app.batch_update():
            if update is not None:
                self.apply(update)
            if ended:
                self._timer.pause()
                self._finish()
            else:
                self._show_running()
            self._draw_summary(force=ended)
            self._draw_outputs(force=ended)

    def apply(self, frame: Frame) -> None:
        """Fold one merged delta into the view's state and update the progress bar; the
        summary is marked dirty (redrawn at most every SUMMARY_INTERVAL), tables,
        sparklines and the plot too (at most every PLOT_INTERVAL, and only when their tab
        is showing)."""
        self.state.apply(frame)
        if frame.total is not None or frame.step is not None:
            bar = self.query_one(".progress", ProgressBar)
            bar.update(total=self.state.total, progress=self.state.step or 0)
        for name, table in frame.tables.items():
            if table.replace or name not in self._generation:
                self._generation[name] = self._generation.get(name, 0) + 1
            self._tables_dirty = True
            if self.info.get("plot") and name == self.info["plot"]["table"]:
                self._plot_dirty = True
        if frame.series:
            self._sparks_dirty = True
        if frame.summary:
            self._summary_dirty = True

    def _draw_summary(self, force: bool = False) -> None:
        if self._summary_dirty and (force or time.monotonic() - self._last_summary
                                    >= SUMMARY_INTERVAL):
            self.query_one(".summary", SummaryPanel).show(self.state.summary)
            self._summary_dirty = False
            self._last_summary = time.monotonic()

    def _draw_outputs(self, force: bool = False) -> None:
        """Redraw the dirty output of the visible inner tab (throttled unless forced)."""
        if not force and time.monotonic() - self._last_draw < PLOT_INTERVAL:
            return
        pane = self.parent
        switcher = pane.parent if pane is not None else None
        if getattr(switcher, "current", pane.id if pane else None) != (pane.id if pane else None):
            return  # its tab is hidden: redraw when shown
        shown = self.query_one(".outputs", TabbedContent).active_pane
        classes = shown.classes if shown is not None else set()
        if self._plot_dirty and "plot-pane" in classes:
            self._draw_plot()
        elif self._tables_dirty and "tables-pane" in classes:
            self._draw_tables()
        elif self._sparks_dirty and "sparks-pane" in classes:
            self._update_sparks(list(self.state.series))
        self._last_draw = time.monotonic()

    def show_output(self, name: str) -> None:
        """Show the inner tab "plot", "tables" or "series"."""
        self.query_one(".outputs", TabbedContent).active = f"out-{name}"

    @on(TabbedContent.TabActivated, ".outputs")
    def _output_tab(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        self._draw_outputs(force=True)

    def _draw_tables(self) -> None:
        for name, data in self.state.tables.items():
            self._sync_table(name, data["columns"], data["rows"])
        self._tables_dirty = False

    def _sync_table(self, name: str, columns: list[str], rows: list[list[Any]]) -> None:
        """Bring the on-screen table up to date with the state's rows: append the new
        ones, keeping between TABLE_ROWS and 2·TABLE_ROWS rows (removing DataTable rows one
        by one is slow, so it trims by rebuilding at once); rebuild after a replace."""
        table = self._tables.get(name)
        if table is None:
            box = self.query_one(".tables", VerticalScroll)
            box.mount(Label(Text(name), classes="table-title"))
            table = DataTable(id=self._unique_id("table", name), classes="data",
                              cursor_type="row")
            box.mount(table)
            self._tables[name] = table
        generation, done = self._rendered.get(name, (0, 0))
        if generation != self._generation.get(name):
            table.clear(columns=True)
            table.add_columns(*(Text(c) for c in columns))
            done = max(0, len(rows) - TABLE_ROWS)
        new = rows[done:]
        if table.row_count + len(new) > 2 * TABLE_ROWS:
            table.clear()
            new = rows[-TABLE_ROWS:]
        for row in new:
            table.add_row(*(Text(fmt_value(v)) for v in row))
        self._rendered[name] = (self._generation.get(name, 0), len(rows))
        if table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False, scroll=True)

    def _update_sparks(self, names: Any) -> None:
        """One label + Sparkline per series, found by name (not by an id derived from it:
        "a b" and "a_b" are different series)."""
        box = self.query_one(".sparks", VerticalScroll)
        for name in names:
            values = [float(v) for v in self.state.series.get(name, [])
                      if isinstance(v, (int, float)) and math.isfinite(v)]
            if name not in self._sparks:
                uid = self._unique_id("spark", name)
                self._sparks[name] = (Label("", id=f"label-{uid}", classes="spark-label"),
                                      Sparkline([], id=uid, classes="spark"))
                box.mount(*self._sparks[name])
            label, spark = self._sparks[name]
            spark.data = values
            last = f"last {fmt_value(values[-1])}  min {fmt_value(min(values))}  " \
                   f"max {fmt_value(max(values))}" if values else "no finite values"
            label.update(Text.assemble((name, "bold"), f"  {len(values)} pts  {last}"))
        self._sparks_dirty = False

    def _unique_id(self, prefix: str, name: str) -> str:
        """``<prefix>-<name made safe>``, with ``-2``, ``-3``… when that id is taken."""
        base = f"{prefix}-{_safe(name)}"
        uid, n = base, 2
        while self.query(f"#{uid}"):
            uid, n = f"{base}-{n}", n + 1
        return uid

    def _draw_plot(self) -> None:
        from textual_plotext import PlotextPlot

        spec = self.info.get("plot")
        table = self.state.tables.get(spec["table"]) if spec else None
        if spec is None or table is None:
            return
        pane = self.query_one(".plot-pane", TabPane)
        found = pane.query(PlotextPlot)
        if found:
            plot = found.first()
        else:
            pane.query(".plot-placeholder").remove()
            plot = PlotextPlot(classes="plot")
            pane.mount(plot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(spec.get("title") or "")
        _plot_table(plt, spec, table, "")
        if self.other is not None:  # "compare with…": the other run's curves on top
            other = self.other.state().tables.get(spec["table"])
            if other is not None:
                _plot_table(plt, spec, other, f" [{self.other.path.stem}]")
        if spec["x"] in table["columns"]:
            plt.xlabel(spec["x"])
            if spec.get("logy"):
                plt.ylabel("log10")
        plot.refresh()
        self._plot_dirty = False

    def _show_running(self) -> None:
        st = self.state
        elapsed = time.monotonic() - self._started
        parts = [f"{self.status} {elapsed:.0f} s"]  # whole seconds: fewer redraws
        if st.total:
            parts.append(f"step {st.step or 0}/{st.total}")
        if isinstance(self.source, ReplaySource):
            parts.append(f"replay ×{self.source.speed:g}")
        if st.message:
            parts.append(st.message)
        self._set_status(Text(" · ".join(parts)), "running")

    def _show_eta(self, shown: bool) -> None:
        """Show the progress bar's ETA countdown only while the run is live (after a cancel
        the bar would keep counting down)."""
        for eta in self.query(".progress #eta"):
            eta.display = shown

    def _finish(self) -> None:
        src = self.source
        self._set_running(False)
        self._show_eta(False)
        status = src.status
        elapsed = time.monotonic() - self._started
        if isinstance(src, ReplaySource):  # the recorded run's duration, not the replay's
            elapsed = recorded_elapsed(src.session)
        if status == "failed":
            line = Text(f"failed: {src.error}", style="bold")
        else:
            done = f"step {self.state.step}/{self.state.total}" if self.state.total else \
                f"{self.state.frames} frames"
            what = {"finished": "finished", "cancelled": "cancelled (partial results kept)",
                    "interrupted": "interrupted (recording ends early)"}.get(status, status)
            line = Text(f"{what} · {done} · {elapsed:.1f} s")
            if isinstance(src, ReplaySource):
                line.append(f" · replay of {src.session.path.name}")
        failed = failed_tasks(src.result()) if status == "finished" else None
        if failed:
            line = Text(f"finished, {failed}", style="bold")
        if self.record_path is not None and self.record_path.exists():
            line.append(f" · saved {self.record_path}")
        elif self.record_path is not None or self._forgotten is not None:
            line.append(f" · session file {(self.record_path or self._forgotten).name} "
                        "was deleted")
        if self.mode == "rerun" and self.session is not None:
            from ..rerun import compare_results

            self.comparison = compare_results(self.session, src.result())
            verdict = "MATCH" if self.comparison["match"] else "DIFFER"
            line = Text(" · ".join(self.comparison["lines"][1:]) or verdict, style="bold")
            self.app.notify(self.comparison["lines"][-1] if self.comparison["match"]
                            else "\n".join(self.comparison["lines"][:4]),
                            title=f"rerun: {verdict}",
                            severity="information" if self.comparison["match"] else "warning")
        warnings = list(getattr(src, "warnings", None) or [])
        if warnings:  # the run's own messages: shown, never fatal
            line.append(f" · warning: {warnings[0]}" + (f" (+{len(warnings) - 1} more)"
                                                        if len(warnings) > 1 else ""))
            for w in warnings:
                self.app.notify(w, title="warning", severity="warning", markup=False)
        self._set_status(line, "error" if status == "failed" else status)
        self.final_status = status
        if status in ("failed",) and self.mode == "run":
            self.app.notify(f"{self.info.get('id')}: failed: {src.error}", severity="error")
        self.post_message(self.StatusChanged(self))

    def _set_status(self, text: Text, kind: str) -> None:
        line = self.query_one(".status-line", Static)
        if text != line.content or not line.has_class(f"-{kind}"):
            update_text(line, text)  # changes at every poll: no screen layout for that
        for cls in ("running", "finished", "cancelled", "error", "interrupted"):
            line.set_class(cls == kind, f"-{cls}")

    def tab_label(self) -> str:
        short = self.info.get("id", "?").split(".", 1)[-1]
        prefix = {"replay": "⟲ ", "rerun": "↻ ", "sweep": "Σ "}.get(self.mode, "")
        return f"{STATUS_ICONS.get(self.status, '?')} {prefix}{short}"

    def result(self) -> dict[str, Any] | None:
        return self.source.result() if self.source is not None else None


def _source_params(source: Source) -> dict[str, Any]:
    """The inputs of the run a source shows (a replay's from its session header)."""
    session = getattr(source, "session", None)
    if session is not None:
        return dict(session.header.get("params") or {})
    params = getattr(source, "params", None)
    return dict(params.to_dict() if hasattr(params, "to_dict") else params or {})


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def _plot_table(plt: Any, spec: dict[str, Any], table: dict[str, Any], suffix: str) -> None:
    """Draw the plot spec's y columns of one run's table against its x column."""
    cols = table["columns"]
    if spec["x"] not in cols:
        return
    xi = cols.index(spec["x"])
    for y in spec["y"]:
        if y not in cols:
            continue
        yi = cols.index(y)
        pts = [(r[xi], r[yi]) for r in table["rows"] if _plottable(r[xi], r[yi],
                                                                  spec.get("logy"))]
        if len(pts) > 2000:  # the terminal has far fewer columns than that
            pts = pts[:: len(pts) // 1000 + 1]
        if pts:
            xs, ys = zip(*pts)
            if spec.get("logy"):
                ys = tuple(math.log10(v) for v in ys)
            plt.plot(xs, ys, label=y + suffix, marker="braille")


def _plottable(x: Any, y: Any, logy: bool | None) -> bool:
    ok = all(isinstance(v, (int, float)) and math.isfinite(v) for v in (x, y))
    return ok and (not logy or y > 0)


def _safe(name: str) -> str:
    """An ASCII identifier fragment (Textual ids allow letters, digits, ``-`` and ``_``)."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name)
