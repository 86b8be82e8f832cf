"""Pilot tests of every TUI flow, driven through the real screens and a real plugin
loaded from a temporary plugin directory (``tuitest_plugin``), with real threads and
real session files. Results shown on screen are compared with independent readings of
the session file the run wrote (not with the view's own state)."""

from __future__ import annotations

import asyncio
import csv
import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import DataTable, Input, Select, Sparkline, Static, Switch

from matexplore.frames import from_json_value
from matexplore.plugins import Registry, load_registry
from matexplore.runner import Run
from matexplore.session import read_session
from matexplore.tui.app import MatexploreApp
from matexplore.tui.modals import ConfirmScreen, ExportScreen, HelpScreen
from matexplore.tui.runview import RunView, SummaryPanel
from tuitest_plugin import write_plugins

SIZE = (100, 32)


def aio(fn: Callable[..., Any]) -> Callable[..., None]:
    """Run an async test body in a fresh event loop (no async pytest plugin needed)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))
    return wrapper


def plain(widget: Static) -> str:
    """The text a Static currently shows."""
    console = Console(width=300, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


async def wait_for(pilot: Any, cond: Callable[[], bool], timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached in time"
        await pilot.pause(0.05)


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return load_registry([write_plugins(tmp_path / "plugins")], use_entry_points=False,
                         use_env=False)


@pytest.fixture
def sessions(tmp_path: Path) -> Path:
    d = tmp_path / "sessions"
    d.mkdir()
    return d


@pytest.fixture
def app(registry: Registry, sessions: Path) -> MatexploreApp:
    return MatexploreApp(registry=registry, session_dirs=[sessions])


def record(registry: Registry, path: Path, **params: Any) -> Path:
    """A real recorded session of tuitest.walk (the same Run the CLI uses)."""
    Run(registry.get("tuitest.walk"), {"seed": 7, **params}, record=path).execute()
    return path


async def open_walk(app: MatexploreApp, pilot: Any) -> RunView:
    await pilot.pause()
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.main.active_view is not None)
    return app.main.active_view


async def set_input(pilot: Any, view: RunView, name: str, text: str) -> None:
    """Type into a param field as a user would: clear it, then type each key."""
    box = view.query_one(f"#param-{name}", Input)
    box.focus()
    await pilot.press("end", *["backspace"] * len(box.value), *list(text))


async def run_to_end(pilot: Any, view: RunView) -> None:
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: view.final_status is not None)


def status(view: RunView) -> str:
    return plain(view.query_one(".status-line", Static)).strip()


# -- browser ------------------------------------------------------------------------------
@aio
async def test_browser_groups_by_plugin_shows_broken_and_filters(app: MatexploreApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.main.query_one("#experiment-tree")
        labels = [n.label.plain for n in tree.root.children]
        assert labels[0] == "tuitest (1)" and labels[1].startswith("broken") and "BROKEN" in labels[1]
        broken = tree.root.children[1].children[0].label.plain
        assert "this_module_does_not_exist_anywhere" in broken
        desc = plain(app.main.query_one("#description", Static))
        assert "E[x_k²] = k" in desc and "steps" in desc and "an integer in [1, 100000]" in desc
        await pilot.press("z", "z", "q")  # type-to-filter from the tree
        assert app.main.query_one("#filter", Input).value == "zzq"
        assert "no experiment matches" in tree.root.children[0].label.plain
        tree.focus()                       # back in the tree, Backspace edits the filter
        await pilot.press("backspace")
        assert app.main.query_one("#filter", Input).value == "zz"
        assert app.focused is app.main.query_one("#filter", Input)
        await pilot.press("escape")
        await pilot.pause()
        assert app.main.query_one("#filter", Input).value == ""
        assert [n.label.plain for n in tree.root.children][0] == "tuitest (1)"
        await pilot.press("w", "a", "l")
        assert [n.label.plain for n in tree.root.children] == ["tuitest (1)"]


# -- run tab: form, validation, run, cancel, failure ---------------------------------------
@aio
async def test_invalid_param_is_refused_with_message_next_to_field(app: MatexploreApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = await open_walk(app, pilot)
        await set_input(pilot, view, "steps", "abc")
        error = view.query_one("#error-steps", Static)
        assert error.display and "Parameter 'steps' must be an integer in [1, 100000]" in plain(error)
        await pilot.press("ctrl+r")
        await pilot.pause(0.2)
        assert view.source is None  # refused
        assert "invalid parameter" in status(view)
        await set_input(pilot, view, "steps", "0")
        assert "got '0'" in plain(error)
        await set_input(pilot, view, "steps", "5")
        assert not error.display
        await run_to_end(pilot, view)
        assert view.source.status == "finished"
        view.show_output("tables")
        await pilot.pause()
        assert view.query_one("#table-walk", DataTable).row_count == 5


@aio
async def test_run_to_completion_shows_rows_summary_plot_and_saves(app: MatexploreApp,
                                                                   sessions: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = await open_walk(app, pilot)
        await set_input(pilot, view, "seed", "123")
        view.query_one("#session-name", Input).value = "my-walk"
        await run_to_end(pilot, view)
        saved = read_session(sessions / "my-walk.jsonl")  # named as the user asked
        assert saved.status == "finished" and saved.header["seed"] == 123
        rows = saved.result()["tables"]["walk"]["rows"]
        assert view.query("PlotextPlot")  # the plot tab is shown first
        view.show_output("tables")
        await pilot.pause()
        table = view.query_one("#table-walk", DataTable)
        assert table.row_count == len(rows) == 20
        last = [str(c) for c in table.get_row_at(table.row_count - 1)]
        assert last[0] == "20" and float(last[2]) == pytest.approx(rows[-1][2], rel=1e-4)
        panel = view.query_one(SummaryPanel)
        quantity, theory, measured, error = [str(c).strip()
                                             for c in panel.table.get_row_at(0)]
        x2 = saved.result()["summary"]["x2"]
        assert (quantity, theory) == ("x_k²", "20")  # no SE, no tol: no verdict mark
        assert float(measured) == pytest.approx(x2, rel=1e-2)
        assert error == f"{100 * (x2 - 20) / 20:+.2g} %"
        view.show_output("series")
        await pilot.pause()
        assert view.query_one(Sparkline).data == saved.result()["series"]["x"]
        tab = app.main.tabs.get_tab(app.main.tabs.active)
        assert str(tab.label).startswith("✓")
        assert status(view).startswith("finished") and "my-walk.jsonl" in status(view)


@aio
async def test_record_switch_off_writes_no_session(app: MatexploreApp, sessions: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = await open_walk(app, pilot)
        view.query_one("#record", Switch).value = False
        await run_to_end(pilot, view)
        assert view.source.status == "finished" and not list(sessions.iterdir())


@aio
async def test_cancel_stops_within_half_a_second_keeping_partial_results(
        app: MatexploreApp, sessions: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = await open_walk(app, pilot)
        await set_input(pilot, view, "steps", "100000")
        await set_input(pilot, view, "sleep", "0.02")
        view.show_output("tables")
        await pilot.press("ctrl+r")
        table_rows = lambda: len(view.query("#table-walk")) and view.query_one(  # noqa: E731
            "#table-walk", DataTable).row_count
        await wait_for(pilot, lambda: (table_rows() or 0) >= 5)
        await pilot.press("ctrl+g")
        assert view.source.done.wait(0.5), "the run did not stop within 0.5 s"
        await wait_for(pilot, lambda: view.final_status == "cancelled")
        assert status(view).startswith("cancelled (partial results kept)")
        saved = read_session(view.record_path)
        assert saved.status == "cancelled"
        n = len(saved.result()["tables"]["walk"]["rows"])
        assert 5 <= n < 100000 and min(n, 500) <= table_rows() <= min(n, 1000)
        table = view.query_one("#table-walk", DataTable)
        assert str(table.get_row_at(table.row_count - 1)[0]) == str(n)  # the newest row


@aio
async def test_failing_kernel_shows_failed_tab_and_app_keeps_running(
        app: MatexploreApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = await open_walk(app, pilot)
        view.query_one("#param-mode", Select).value = "fail"
        await run_to_end(pilot, view)
        assert status(view) == "failed: ZeroDivisionError: kernel blew up at step 3 · saved " \
            f"{view.record_path}"
        assert str(app.main.tabs.get_tab(app.main.tabs.active).label).startswith("✗")
        saved = read_session(view.record_path)
        assert (saved.status, saved.error) == ("failed", "ZeroDivisionError: kernel blew up "
                                               "at step 3")
        assert len(saved.frames) == 3  # message frame + steps 1, 2
        # the app still works: back to the browser, open and run another tab
        await pilot.press("f2")
        view2 = await open_walk(app, pilot)
        assert view2 is not view
        await run_to_end(pilot, view2)
        assert view2.source.status == "finished"


@aio
async def test_quit_with_live_runs_asks_then_cancels_them(app: MatexploreApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        views = []
        for _ in range(2):  # two runs at once, each in its own tab and thread
            await pilot.press("f2")
            view = await open_walk(app, pilot)
            await set_input(pilot, view, "steps", "100000")
            await set_input(pilot, view, "sleep", "0.01")
            views.append(view)
        for view in views:  # the Run button's handler (typing while runs stream is slow)
            assert view.start_run()
        await wait_for(pilot, lambda: all(v.running and v.state.step for v in views))
        assert views[0].source._thread is not views[1].source._thread
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "2 run(s)" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen) and all(v.running for v in views)
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
    assert all(v.source.status == "cancelled" for v in views)
    assert all(read_session(v.record_path).status == "cancelled" for v in views)


# -- sessions: list, corrupt file, replay, rerun, export, delete ---------------------------
@aio
async def test_sessions_screen_lists_and_shows_corrupt_file_as_unreadable(
        registry: Registry, app: MatexploreApp, sessions: Path) -> None:
    record(registry, sessions / "good.jsonl", steps=4)
    (sessions / "bad.jsonl").write_text('{"type": "header", "schema": 1}\nnot json\n')
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        table = app.main.query_one("#sessions-table", DataTable)
        rows = {str(table.get_row_at(i)[3]): [str(c) for c in table.get_row_at(i)]
                for i in range(table.row_count)}
        assert set(rows) == {"good.jsonl", "bad.jsonl"}
        assert rows["good.jsonl"][:2] == ["finished", "tuitest.walk"]
        assert "steps=4" in rows["good.jsonl"][4]
        assert rows["bad.jsonl"][0] == "unreadable"
        assert "not a matexplore session" in rows["bad.jsonl"][4] or "line" in rows["bad.jsonl"][4]
        bad_row = list(rows).index("bad.jsonl")
        table.move_cursor(row=bad_row)
        await pilot.pause()
        assert "unreadable:" in plain(app.main.query_one("#session-detail", Static))
        await pilot.press("enter")  # replaying an unreadable file is refused, nothing opens
        await pilot.pause()
        assert app.main.active_view is None
        table.move_cursor(row=1 - bad_row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.main.active_view is not None)
        assert app.main.active_view.mode == "replay"


@aio
async def test_replay_feeds_recorded_frames_into_the_same_view(registry: Registry,
                                                               sessions: Path) -> None:
    path = record(registry, sessions / "rec.jsonl", steps=12)
    session = read_session(path)
    app = MatexploreApp(registry=registry, replay=session, replay_speed=2.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.active_view is not None)
        view = app.main.active_view
        await wait_for(pilot, lambda: view.final_status == "finished")
        recorded = session.result()
        assert view.state.result()["tables"] == recorded["tables"]
        assert view.state.result()["summary"] == recorded["summary"]
        view.show_output("tables")
        await pilot.pause()
        assert view.query_one("#table-walk", DataTable).row_count == 12
        assert "replay of rec.jsonl" in status(view)


@aio
async def test_replay_jump_to_end_from_sessions(registry: Registry, app: MatexploreApp,
                                                sessions: Path) -> None:
    path = record(registry, sessions / "slow.jsonl", steps=25, sleep=0.02)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("j")
        await wait_for(pilot, lambda: app.main.active_view is not None
                       and app.main.active_view.final_status is not None)
        view = app.main.active_view
        assert view.source.speed == float("inf")  # no waiting between recorded frames
        assert view.state.result()["summary"] == read_session(path).result()["summary"]


@aio
async def test_rerun_shows_match(registry: Registry, app: MatexploreApp,
                                 sessions: Path) -> None:
    record(registry, sessions / "rec.jsonl", steps=8)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("r")
        await wait_for(pilot, lambda: app.main.active_view is not None)
        view = app.main.active_view
        await wait_for(pilot, lambda: view.comparison is not None)
        assert view.comparison["match"] is True
        assert status(view).startswith("MATCH")
        assert str(app.main.tabs.get_tab(app.main.tabs.active).label).startswith("✓ ↻")


@aio
async def test_export_tables_csv_and_summary_json(registry: Registry, app: MatexploreApp,
                                                  sessions: Path, tmp_path: Path) -> None:
    path = record(registry, sessions / "rec.jsonl", steps=6)
    out = tmp_path / "exported"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        app.screen.query_one(Input).value = str(out)
        await pilot.press("enter")
        await pilot.pause()
    # independent reading: the raw JSON lines of the session file
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    rows = [r for x in lines if x["type"] == "frame" for r in x.get("tables", {})
            .get("walk", {}).get("rows", [])]
    with open(out / "walk.csv", newline="") as fh:
        got = list(csv.reader(fh))
    assert got[0] == ["k", "x", "x2", "marked"]
    assert [[float(v) for v in r] for r in got[1:]] == [[float(v) for v in r] for r in rows]
    summary = json.loads((out / "summary.json").read_text())
    last = [x for x in lines if x["type"] == "frame"][-1]["summary"]
    assert summary["summary"] == from_json_value(last)
    assert summary["status"] == "finished" and summary["seed"] == 7


@aio
async def test_delete_asks_then_removes_file(registry: Registry, app: MatexploreApp,
                                             sessions: Path) -> None:
    path = record(registry, sessions / "gone.jsonl", steps=2)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert path.exists()
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert not path.exists()
        assert app.main.query_one("#sessions-table", DataTable).row_count == 0


@aio
async def test_help_screen_and_command_palette_entries(app: MatexploreApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Run", "Cancel run", "Replay session", "Rerun session", "Export",
                "Delete session", "Help", "Sessions", "Experiments"} <= titles


# -- figures (p) ----------------------------------------------------------------------------
def notes(app: MatexploreApp) -> list[str]:
    return [n.message for n in app._notifications]


def assert_figure_of(svg: Path, result: dict[str, Any]) -> None:
    """The SVG parses and holds each plotted column; the PNG beside it is a real PNG."""
    import xml.etree.ElementTree as ET

    ids = {el.get("id") for el in ET.parse(svg).getroot().iter()}
    assert {"k", "x2"} <= ids and result["tables"]["walk"]["rows"]
    assert svg.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@aio
async def test_figure_key_on_the_sessions_list_saves_next_to_the_session(
        registry: Registry, app: MatexploreApp, sessions: Path) -> None:
    path = record(registry, sessions / "rec.jsonl", steps=6)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("p")
        await wait_for(pilot, lambda: any("rec.svg" in n for n in notes(app)), timeout=30)
    assert f"saved {sessions / 'rec.svg'} and rec.png" in notes(app)
    assert_figure_of(sessions / "rec.svg", read_session(path).result())


@aio
async def test_figure_key_on_an_unrecorded_run_saves_in_the_sessions_dir(
        app: MatexploreApp, sessions: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = await open_walk(app, pilot)
        view.query_one("#record", Switch).value = False
        await run_to_end(pilot, view)
        assert isinstance(app.focused, Input)  # "p" would be typed into the field: F9
        await pilot.press("f9")
        await wait_for(pilot, lambda: any(".svg" in n for n in notes(app)), timeout=30)
        result = view.result()
    svgs = list(sessions.glob("tuitest.walk-*.svg"))
    assert len(svgs) == 1 and not list(sessions.glob("*.jsonl"))
    assert_figure_of(svgs[0], result)


@aio
async def test_figure_key_on_a_replay_tab(registry: Registry, sessions: Path) -> None:
    path = record(registry, sessions / "rep.jsonl", steps=5)
    app = MatexploreApp(registry=registry, replay=read_session(path), replay_speed=float("inf"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.active_view is not None
                       and app.main.active_view.final_status == "finished")
        app.set_focus(None)
        await pilot.press("p")
        await wait_for(pilot, lambda: any("rep.svg" in n for n in notes(app)), timeout=30)
    assert_figure_of(sessions / "rep.svg", read_session(path).result())
