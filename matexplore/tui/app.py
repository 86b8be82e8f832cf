"""The matexplore Textual app: one main screen with tabs.

* **Experiments** (F2): plugins → experiments, description with formulas and params,
  broken plugins with the reason, type-to-filter. Enter opens a run tab.
* **Sessions** (F3): recorded runs; replay, rerun (MATCH/DIFFER), export, delete.
* **Run tabs**: one per experiment opened, replay or rerun; each live run is a
  :class:`~matexplore.runner.Run` whose experiment executes in a child process
  (:mod:`matexplore.procrun`): this interpreter only draws, and a run that crashes cannot
  take the app down. Recorded to the session directory by default.

Every action has a key (shown in the footer when it applies), an entry in the command
palette (ctrl+p) and a line in the help screen (F1 / ?).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, TabbedContent, TabPane

from ..plugins import ExperimentEntry, Registry
from ..session import Session, SessionError, default_session_dir, session_stem
from .audit import AuditPane
from .browser import BrowserPane, ExperimentTree
from .collector import CollectorPolicy
from .modals import ConfirmScreen, ExportScreen, HelpScreen
from .runview import ParamForm, RunView
from .sessions import SessionsPane
from .sources import export_result
from .sweepdialog import SweepRequest, SweepScreen

__all__ = ["MatexploreApp", "MainScreen"]


def _sweep_note(spec: Any, path: Path) -> str:
    from ..sweep import spec_text

    return f"{spec_text(spec.to_json())}\nrecording to {path.name}"

BROWSE, SESSIONS, AUDIT = "tab-browse", "tab-sessions", "tab-audit"
FAST_REPLAY = 10.0
GIL_SWITCH_INTERVAL = 0.001

# action -> where it applies: "browse", "sessions", "run" (a run tab), "replay" (a replay tab)
_CONTEXT = {"run": {"run"}, "sweep": {"run"}, "cancel": {"run", "replay"}, "close_tab": {"run", "replay"},
            "jump": {"sessions", "replay"}, "fast": {"sessions", "replay"},
            "replay": {"sessions"}, "rerun": {"sessions"}, "delete": {"sessions"},
            "reload": {"sessions"}, "export": {"sessions", "run", "replay"},
            "figure": {"sessions", "run", "replay"},
            "filter": {"browse"}, "clear_filter": {"browse"},
            "compare": {"sessions", "run", "replay"}}


class MainScreen(Screen[None]):
    """Tabs: Experiments, Sessions, then one tab per run / replay / rerun."""

    AUTO_FOCUS = None  # focus is placed explicitly (a replay opens on its own tab)

    BINDINGS = [
        Binding("f2", "show_tab('tab-browse')", "Experiments"),
        Binding("f3", "show_tab('tab-sessions')", "Sessions"),
        Binding("f8", "show_tab('tab-audit')", "Audit"),
        Binding("f4,ctrl+pagedown", "next_tab", "Next tab", show=False),
        Binding("ctrl+pageup", "next_tab(-1)", "Previous tab", show=False),
        Binding("ctrl+r,f5", "run", "Run"),
        Binding("ctrl+g,f6", "cancel", "Cancel"),
        Binding("f7", "sweep", "Sweep"),
        Binding("ctrl+w", "close_tab", "Close tab", priority=True, show=False),
        Binding("slash", "filter", "Filter", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("r", "rerun", "Rerun"),
        Binding("f", "fast", "Fast"),
        Binding("j", "jump", "Jump to end"),
        Binding("x", "export", "Export"),
        Binding("p,f9", "figure", "Figure"),
        Binding("d", "delete", "Delete"),
        Binding("l", "reload", "Reload", show=False),
        Binding("c", "compare", "Compare with…"),
    ]

    def __init__(self, registry: Registry, session_dirs: list[Path]) -> None:
        super().__init__()
        self.registry = registry
        self.session_dirs = session_dirs
        self._ids = itertools.count(1)
        self.views: list[RunView] = []
        self._view_of: dict[str, RunView] = {}  # pane id -> its view

    def compose(self) -> ComposeResult:
        with TabbedContent(id="main-tabs"):
            with TabPane("Experiments", id=BROWSE):
                yield BrowserPane(self.registry, id="browser")
            with TabPane("Sessions", id=SESSIONS):
                yield SessionsPane(self.session_dirs, live=self.live_paths, id="sessions")
            with TabPane("Audit", id=AUDIT):
                yield AuditPane(self.registry, self.session_dirs, id="audit")
        yield Footer()

    async def on_mount(self) -> None:
        import threading

        from ..procrun import warm_up

        threading.Thread(target=warm_up, args=(self.registry,), name="forkserver",
                         daemon=True).start()
        app = self.app
        if getattr(app, "replay", None) is not None:
            await self.open_replay(app.replay, app.replay_speed)
        else:
            self.query_one(ExperimentTree).focus()

    # -- context --------------------------------------------------------------------------
    @property
    def tabs(self) -> TabbedContent:
        return self.query_one("#main-tabs", TabbedContent)

    @property
    def active_view(self) -> RunView | None:
        active = self.tabs.active
        if active in (BROWSE, SESSIONS, AUDIT, ""):
            return None
        return self._view_of.get(active)

    def context(self) -> str:
        active = self.tabs.active
        if active == BROWSE:
            return "browse"
        if active == SESSIONS:
            return "sessions"
        if active == AUDIT:
            return "audit"
        view = self.active_view
        return "run" if view is not None and view.mode != "replay" else "replay"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        where = _CONTEXT.get(action)
        if where is None:
            return True
        ctx = self.context()
        if ctx not in where:
            return False
        view = self.active_view
        if action in ("run", "sweep") and view is not None and view.mode != "run":
            return False
        if action in ("cancel", "jump") and ctx in ("run", "replay"):
            if view is not None and view.running:
                return True
            return None if view is not None and view.mode == "run" else False  # ended: gone
        return True

    @on(TabbedContent.TabActivated, "#main-tabs")
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()
        pane = event.pane.id
        if pane != self.tabs.active:
            return  # a stale activation (e.g. the initial one, after a replay tab opened)
        if pane == SESSIONS:
            self.query_one(SessionsPane).reload()
            self.query_one("#sessions-table", DataTable).focus()
        elif pane == BROWSE:
            self.query_one(ExperimentTree).focus()
        elif pane == AUDIT:
            self.query_one("#audit-table").focus()
        else:
            self.call_after_refresh(self._focus_view)

    def _focus_view(self) -> None:
        view = self.active_view
        focused = self.app.focused
        if view is None or (focused is not None and view in focused.ancestors_with_self):
            return  # already inside the tab (the user may have moved on with Tab)
        targets = view.query(Input) if view.mode == "run" else view.query("#cancel")
        if targets:
            targets.first().focus(scroll_visible=False)
        for form in view.query(".run-form"):
            form.scroll_home(animate=False)  # the title and first field's label in view

    # -- opening tabs ---------------------------------------------------------------------
    async def open_view(self, view: RunView) -> RunView:
        pane = TabPane(view.tab_label(), view, id=f"run-{next(self._ids)}")
        self.views.append(view)
        self._view_of[pane.id] = view
        await self.tabs.add_pane(pane)
        self.tabs.active = pane.id
        # once laid out, bring the new tab into the tab bar's view (it may be past its end)
        # (force: the tab bar hides its scrollbar, which scroll_visible otherwise respects)
        self.call_after_refresh(self.tabs.get_tab(pane.id).scroll_visible, animate=False,
                                force=True)
        self._focus_view()
        self.refresh_bindings()
        return view

    async def open_experiment(self, entry: ExperimentEntry) -> RunView:
        return await self.open_view(RunView(entry.experiment.info(), entry=entry,
                                            session_dir=self.session_dirs[0]))

    async def open_replay(self, session: Session, speed: float = 1.0) -> RunView:
        view = await self.open_view(RunView(session.info or {"id": session.experiment},
                                            mode="replay", session=session))
        view.start_replay(speed)
        return view

    async def open_rerun(self, session: Session) -> RunView | None:
        from ..plugins import UnknownExperiment
        from ..procrun import InProcess
        from ..rerun import rerun_session

        try:
            run = rerun_session(session, self.registry, frames=InProcess(self.registry))
        except (SessionError, UnknownExperiment) as exc:
            self.app.notify(str(exc), severity="error", title="cannot rerun")
            return None
        view = await self.open_view(RunView(run.entry.experiment.info(), entry=run.entry,
                                            mode="rerun", session=session))
        view.attach(run.start())
        return view

    def action_sweep(self) -> None:
        """Open the grid editor for the active run tab; start the sweep in a new tab."""
        view = self.active_view
        if view is None or view.mode != "run" or view.entry is None:
            return
        values, errors = view.query_one(ParamForm).collect()
        if errors:
            self.app.notify(f"Sweep refused: {next(iter(errors.values()))}", severity="error",
                            title="invalid parameter")
            return
        entry = view.entry
        numeric = [n for n, p in entry.experiment.params.items() if p.kind in ("int", "float")]
        example = f"{numeric[0]}=" if numeric else ""

        async def start(request: SweepRequest | None) -> None:
            if request is not None:
                await self.open_sweep(entry, values, request)

        self.app.push_screen(SweepScreen(entry.experiment, example), start)

    async def open_sweep(self, entry: ExperimentEntry, values: dict[str, Any],
                         request: SweepRequest) -> RunView:
        """A sweep is a Run of the Sweep experiment: same view, recording and cancel."""
        from ..runner import Run, draw_seed
        from ..session import Recording
        from ..sweep import SweepSpec, make_sweep

        seed = values.get("seed")
        seed = seed if seed is not None else draw_seed()
        base = {k: v for k, v in values.items() if k not in request.grid and k != "seed"}
        spec = SweepSpec(entry.id, request.grid, base, request.seeds, seed,
                         [str(d) for d in self.registry.plugin_dirs])
        sweep = make_sweep(entry, spec, scheduler=request.scheduler, workers=request.workers,
                           plot_key=request.plot_key)
        directory = self.session_dirs[0]
        directory.mkdir(parents=True, exist_ok=True)
        run = Run(sweep, {"seed": seed}, record=Recording.new(directory, f"sweep-{entry.id}"),
                  meta={"sweep": spec.to_json()}).start()
        view = await self.open_view(RunView(sweep.experiment.info(), entry=sweep, mode="sweep",
                                            note=_sweep_note(spec, run.record_path)))
        view.record_path = run.record_path
        view.attach(run)
        return view

    @on(BrowserPane.Open)
    async def _open(self, event: BrowserPane.Open) -> None:
        await self.open_experiment(event.entry)

    @on(DataTable.RowSelected, "#sessions-table")
    async def _session_chosen(self) -> None:
        await self.action_replay()

    @on(RunView.StatusChanged)
    def _status(self, event: RunView.StatusChanged) -> None:
        pane = event.view.parent
        if isinstance(pane, TabPane) and pane.id:
            self.tabs.get_tab(pane.id).label = event.view.tab_label()
        if not event.view.running and self.tabs.active == SESSIONS:
            self.query_one(SessionsPane).reload()
        self.app.collector.runs_changed(any(v.running for v in self.views))
        self.refresh_bindings()

    # -- actions --------------------------------------------------------------------------
    def action_show_tab(self, tab: str) -> None:
        self.tabs.active = tab

    def action_next_tab(self, step: int = 1) -> None:
        ids = [p.id for p in self.tabs.query(TabPane) if p.parent.parent is self.tabs]
        ids = [i for i in ids if i]
        if self.tabs.active in ids:
            self.tabs.active = ids[(ids.index(self.tabs.active) + step) % len(ids)]

    def action_run(self) -> None:
        if self.active_view is not None:
            self.active_view.start_run()

    def action_cancel(self) -> None:
        if self.active_view is not None:
            self.active_view.cancel()

    def action_jump(self) -> None:
        if self.context() == "sessions":
            self.run_worker(self.action_replay(float("inf")))
        elif self.active_view is not None:
            self.active_view.jump_to_end()

    def action_fast(self) -> None:
        if self.context() == "sessions":
            self.run_worker(self.action_replay(FAST_REPLAY))
        elif self.active_view is not None:
            self.active_view.faster()

    def action_close_tab(self) -> None:
        view = self.active_view
        if view is None:
            return
        pane_id = self.tabs.active

        def close(yes: bool | None) -> None:
            if yes:
                if view.running:
                    view.source.cancel()
                self.tabs.remove_pane(pane_id)
                self._view_of.pop(pane_id, None)

        if view.running and view.mode != "replay":
            self.app.push_screen(ConfirmScreen("This tab's run is in progress. Cancel it and "
                                               "close the tab?", "Cancel run", "Keep"), close)
        else:
            close(True)

    def action_filter(self) -> None:
        self.query_one(BrowserPane).focus_filter()

    def action_clear_filter(self) -> None:
        self.query_one(BrowserPane).clear_filter()

    def _selected_session(self) -> Session | None:
        item = self.query_one(SessionsPane).selected
        if item is None:
            return None
        if item.session is None:
            self.app.notify(f"unreadable: {item.error}", severity="error", markup=False)
            return None
        return item.session

    async def action_replay(self, speed: float = 1.0) -> None:
        session = self._selected_session()
        if session is not None:
            await self.open_replay(session, speed)

    async def action_rerun(self) -> None:
        session = self._selected_session()
        if session is not None:
            await self.open_rerun(session)

    def action_compare(self) -> None:
        """"compare with…": choose a second session of the same experiment and show it
        beside the highlighted session (opened as a replay) or the current tab's run."""
        from .compare import CompareScreen, candidates

        if self.context() == "sessions":
            first = self._selected_session()
            if first is None:
                return
            experiment, exclude, what = first.experiment, first.path, first.path.name
        else:
            view = self.active_view
            if view is None or view.mode == "sweep":
                return
            first = None
            experiment = view.info.get("id", "")
            exclude = view.record_path or (view.session.path if view.session else None)
            what = f"this {experiment} run"
        others = candidates(self.session_dirs, experiment, exclude)
        if not others:
            self.app.notify(f"No other session of {experiment} to compare with.",
                            severity="warning")
            return

        async def show(other: Session) -> None:
            target = await self.open_replay(first, float("inf")) if first is not None \
                else self.active_view
            target.compare_with(other)

        def chosen(other: Session | None) -> None:
            # after the dialog has gone and focus is back (a focus restored into the
            # Sessions pane would switch the tabs back to it)
            if other is not None:
                self.call_after_refresh(self.run_worker, show(other))

        self.app.push_screen(CompareScreen(what, others), chosen)

    def action_reload(self) -> None:
        self.query_one(SessionsPane).reload()

    def action_delete(self) -> None:
        """Delete the highlighted session file; a live run's file only after cancelling
        that run (asked first), so the run never reports a file that no longer exists."""
        item = self.query_one(SessionsPane).selected
        if item is None:
            return
        writer = next((v for v in self.live_runs() if v.record_path is not None
                       and v.record_path.resolve() == item.path.resolve()), None)

        async def delete(yes: bool | None) -> None:
            if not yes:
                return
            if writer is not None:
                writer.forget_record()
                writer.cancel()
                while writer.running:  # the run writes its end record, then we delete
                    await asyncio.sleep(0.05)
            try:
                item.path.unlink()
                self.app.notify(f"deleted {item.path.name}")
            except OSError as exc:
                self.app.notify(f"cannot delete {item.path}: {exc}", severity="error")
            self.query_one(SessionsPane).reload()

        if writer is not None:
            question = (f"{item.path.name} is being written by the live run in tab "
                        f"'{writer.tab_label()}'. Cancel that run and delete its session?")
            self.app.push_screen(ConfirmScreen(question, "Cancel run and delete", "Keep"),
                                 delete)
        else:
            self.app.push_screen(ConfirmScreen(f"Delete {item.path}?", "Delete", "Keep"),
                                 delete)

    def _shown(self, verb: str) -> tuple[dict[str, Any], dict[str, Any], Path | None, str] | None:
        """The result shown here (the highlighted session, or the tab's run/replay), its
        info, its session file (None for an unrecorded run) and a name for it; None (with
        a notification when there is nothing yet to ``verb``)."""
        if self.context() == "sessions":
            session = self._selected_session()
            if session is None:
                return None
            return session.result(), session.info, session.path, session.path.name
        view = self.active_view
        result = view.result() if view is not None else None
        if result is None:
            self.app.notify(f"Nothing to {verb} yet: run the experiment first.",
                            severity="warning")
            return None
        path = view.record_path or (view.session.path if view.session else None)
        return result, view.info, path, f"this {view.info.get('id')} run"

    def action_export(self) -> None:
        shown = self._shown("export")
        if shown is not None:
            result, info, path, what = shown
            base = path or self.session_dirs[0] / info.get("id", "run")
            self.export(result, what, base.with_name(base.stem + "-export"))

    def action_figure(self) -> None:
        """Save the current plot as SVG and PNG next to the session (an unrecorded run's in
        the sessions directory), drawn in a thread; a notification says where."""
        shown = self._shown("plot")
        if shown is not None:
            result, info, path, _ = shown
            base = path or self.session_dirs[0] / session_stem(info.get("id", "run"))
            self.run_worker(functools.partial(self._write_figures, result, info, base),
                            thread=True, group="figures")

    def _write_figures(self, result: dict[str, Any], info: dict[str, Any], base: Path) -> None:
        from ..figures import FigureError, figure_beside, figure_for, save_figure

        try:
            fig = figure_for(result, info)
            base.parent.mkdir(parents=True, exist_ok=True)
            paths = [save_figure(fig, figure_beside(base, s)) for s in (".svg", ".png")]
        except (FigureError, OSError) as exc:
            self.app.call_from_thread(self.app.notify, f"no figure: {exc}", severity="error",
                                      markup=False)
            return
        self.app.call_from_thread(self.app.notify, f"saved {paths[0]} and {paths[1].name}",
                                  title="figure", markup=False)

    def export(self, result: dict[str, Any], what: str, default: Path) -> None:
        def write(directory: Path | None) -> None:
            if directory is None:
                return
            try:
                paths = export_result(result, directory)
            except (OSError, ValueError) as exc:
                self.app.notify(f"export failed: {exc}", severity="error")
                return
            self.app.notify(f"wrote {len(paths)} file(s) to {directory}", title="exported")

        self.app.push_screen(ExportScreen(what, default), write)

    def live_runs(self) -> list[RunView]:
        return [v for v in self.views if v.running and v.mode != "replay"]

    def live_paths(self) -> set[Path]:
        """The session files this app's live runs are writing."""
        return {v.record_path for v in self.live_runs() if v.record_path is not None}

    def cancel_all(self, timeout: float = 2.0) -> None:
        views = [v for v in self.views if v.running]
        for v in views:
            v.source.cancel()
        for v in views:
            v.source.done.wait(timeout)


class MatexploreApp(App[None]):
    """``matexplore`` with no arguments (or ``matexplore replay FILE``)."""

    TITLE = "matexplore"
    CSS_PATH = "app.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (96, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [Binding("f1,question_mark", "help", "Help"),
                Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, registry: Registry | None = None, session_dirs: list[Path] | None = None,
                 replay: Session | None = None, replay_speed: float = 1.0) -> None:
        super().__init__()
        if registry is None:
            from ..plugins import get_registry

            registry = get_registry()
        self.registry = registry
        self.session_dirs = [Path(d) for d in (session_dirs or [default_session_dir()])]
        self.replay = replay
        self.replay_speed = replay_speed
        self.main = MainScreen(registry, self.session_dirs)
        self.collector = CollectorPolicy(self.set_timer)

    def get_default_screen(self) -> Screen[Any]:
        return self.main

    def on_load(self) -> None:
        # Worker threads hold the GIL between their (nogil) kernel calls; the UI thread gives
        # it up at every await and then waits up to the switch interval to get it back
        # (the "convoy effect"). 1 ms instead of 5 ms keeps keys and redraws responsive
        # while runs saturate the cores (measured in benchmarks/ui_latency.py).
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)

    def on_ready(self) -> None:
        self.collector.start()  # full collections must not stall the UI (see .collector)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        live = self.main.live_runs()
        if not live:
            self.main.cancel_all()
            self.exit()
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.main.cancel_all()
                self.exit()

        self.push_screen(ConfirmScreen(f"{len(live)} run(s) in progress. Cancel them and "
                                       "quit?", "Cancel runs and quit", "Keep running"), answer)

    def on_unmount(self) -> None:
        self.main.cancel_all(timeout=1.0)
        sys.setswitchinterval(getattr(self, "_switch_interval", 0.005))
        self.collector.stop()

    def save_screen(self, directory: Path | None = None) -> Path | None:
        """Save an SVG of the screen in ``directory`` (default: the current one) and say
        where, or say why it could not be saved."""
        target = Path(directory or Path.cwd())
        try:
            path = Path(self.save_screenshot(path=str(target)))
        except OSError as exc:
            self.notify(f"screenshot not saved: cannot write in {target}: "
                        f"{exc.strerror or exc}", severity="error", title="Screenshot")
            return None
        self.notify(f"saved {path}", title="Screenshot")
        return path

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Textual's own Screenshot writes to a Downloads folder and only says "failed"
        yield from (c for c in super().get_system_commands(screen) if c.title != "Screenshot")
        yield SystemCommand("Screenshot", "Save an SVG of the screen in the current directory "
                            "and say where", lambda: self.set_timer(0.1, self.save_screen))
        m = self.main
        commands = [
            ("Help", "List every key", self.action_help),
            ("Experiments", "Show the experiment browser (F2)", lambda: m.action_show_tab(BROWSE)),
            ("Sessions", "Show the recorded sessions (F3)", lambda: m.action_show_tab(SESSIONS)),
            ("Audit", "Show the claims audit (F8)", lambda: m.action_show_tab(AUDIT)),
            ("Next tab", "Switch to the next tab (F4)", m.action_next_tab),
            ("Open experiment", "Open a run tab for the highlighted experiment",
             self._open_selected),
            ("Run", "Run the current tab's experiment (ctrl+r)", m.action_run),
            ("Cancel run", "Cancel the current tab's run (ctrl+g)", m.action_cancel),
            ("Sweep", "Run a parameter grid × seeds on Dask from the current tab (F7)",
             m.action_sweep),
            ("Close tab", "Close the current run tab (ctrl+w)", m.action_close_tab),
            ("Replay session", "Replay the highlighted session at recorded speed",
             m.action_replay),
            ("Replay session fast", "Replay the highlighted session 10× faster",
             lambda: m.action_replay(FAST_REPLAY)),
            ("Replay: jump to end", "Show a replay's final state at once (j)", m.action_jump),
            ("Rerun session", "Re-execute the highlighted session and compare (r)",
             m.action_rerun),
            ("Export", "Export tables (CSV) and summary (JSON) (x)", m.action_export),
            ("Save figure", "Save the plot as SVG and PNG next to the session (p, F9)",
             m.action_figure),
            ("Delete session", "Delete the highlighted session file (d)", m.action_delete),
            ("Compare with…", "Overlay a second session of the same experiment on the plot "
             "and put the summaries side by side (c)", m.action_compare),
            ("Reload sessions", "Re-read the session directories (l)", m.action_reload),
        ]
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)

    async def _open_selected(self) -> None:
        entry = self.main.query_one(BrowserPane).selected
        if entry is not None:
            await self.main.open_experiment(entry)
