"""Trust what the screen says (issue 20): the summary panel read by the shared verdict rule,
live sessions protected and shown as running, sweep sessions with their grid and failures,
unfinished sessions not rerun, finished tabs without Stop or an animating bar."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, ProgressBar, Static

from matexplore.plugins import Registry, load_registry
from matexplore.runner import Run
from matexplore.session import read_session
from matexplore.tui.app import MatexploreApp
from matexplore.tui.modals import ConfirmScreen
from matexplore.tui.summary import SummaryPanel
from matexplore.verdicts import summary_rows
from test_tui_flows import aio, open_walk, plain, record, set_input, status, wait_for
from test_tui_flows import app, registry, sessions  # noqa: F401  (fixtures)

PANEL = '''
import math

from matexplore import Check, Compare, Experiment, Float, Frame, hookimpl


class Panel(Experiment):
    """Fixed numbers, so the panel's every cell is known in advance."""
    id = "trusttest.panel"
    title = "Panel"
    description = "fixed summary values"
    params = {"lam": Float(0.5, help="an input echoed in the summary")}
    compare = (Compare("E log sin² ratio (exact small-angle law)", theory="t1", measured="m",
                       se="m_se", help="E log sin² θ_L/θ_0 = -L/2 (exact)"),
               Compare("E log sin² ratio (source formula, eq. 12)", theory="t2", measured="m",
                       se="m_se", source="src", help="the source's eq. (12)"))
    checks = (Check("bound A", holds="bound_A_holds", detail="worst_ratio_A",
                    detail_label="worst ratio"),)

    def run(self, p, ctx):
        yield Frame(summary={"t1": -3.0, "t2": -2.0, "m": -3.05, "m_se": 0.1, "src": -2.0,
                             "bound_A_holds": 0, "worst_ratio_A": 55.407,
                             "median_source": 0.25, "lam": p.lam, "networks_done": 3000})


class Idle(Experiment):
    id = "trusttest.idle"
    title = "No step count"
    description = "yields frames without step/total"

    def run(self, p, ctx):
        yield Frame(summary={"x": 1.0})


@hookimpl
def matexplore_experiments():
    return [Panel, Idle]
'''


def panel_registry(tmp_path: Path) -> Registry:
    d = tmp_path / "trustplugins"
    d.mkdir()
    (d / "trusttest.py").write_text(PANEL, encoding="utf-8")
    return load_registry([d], use_entry_points=False, use_env=False)


def screen_lines(widget: Any) -> list[str]:
    """What the widget draws, line by line (its rendered strips, not its data)."""
    return [widget.render_line(y).text for y in range(widget.size.height)]


async def run_panel(app: MatexploreApp, pilot: Any, exp: str = "trusttest.panel") -> Any:
    await pilot.pause()
    view = await app.main.open_experiment(app.registry.get(exp))
    await pilot.pause()
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: view.final_status is not None)
    await pilot.pause(0.2)
    return view


@aio
async def test_summary_panel_at_80x24(tmp_path: Path) -> None:
    reg = panel_registry(tmp_path)
    app = MatexploreApp(registry=reg, session_dirs=[tmp_path / "s"])
    async with app.run_test(size=(80, 24)) as pilot:
        view = await run_panel(app, pilot)
        panel = view.query_one(SummaryPanel)
        table = panel.table
        heads = [str(c.label).strip() for c in table.columns.values()]
        assert heads == ["quantity", "theory", "source says", "measured", "error (SE)"]
        cells = [[str(c).strip() for c in table.get_row_at(i)] for i in range(table.row_count)]
        # compared rows: error in SE (-0.5 and -10.5 SE), marks by the 4-SE rule
        assert cells[0][1:] == ["-3", "", "-3.05", "-0.5 ✓"]
        assert cells[1][1:] == ["-2", "-2 ✗", "-3.05", "-10.5 ✗"]
        # the check as a sentence; the source value and other outputs in their own groups
        flat = [c[0] for c in cells]
        assert "bound A violated (worst ratio 55.41)" in flat
        assert flat.index("source says (not compared)") < flat.index("median_source")
        assert flat.index("other outputs") < flat.index("networks_done")
        assert "lam" not in flat and "m_se" not in flat  # inputs never shown
        # the long labels are drawn in full (wrapped), so the two rows differ on screen
        drawn = " ".join(" ".join(ln.split()) for ln in screen_lines(table))
        assert "(exact small-angle law)" in drawn.replace("-0.5 ✓ ", "")
        table.scroll_to(y=4, animate=False)
        await pilot.pause()
        drawn = " ".join(" ".join(ln.split()) for ln in screen_lines(table))
        assert "(source" in drawn
        # the highlighted row's full label and help formula are shown under the panel
        detail = plain(panel.query_one(".summary-detail", Static))
        assert "E log sin² ratio (exact small-angle law)" in detail
        assert "-L/2 (exact)" in detail and "± 0.1 (SE)" in detail
        table.focus()
        await pilot.press("down")
        await pilot.pause()
        detail = plain(panel.query_one(".summary-detail", Static))
        assert "(source formula, eq. 12)" in detail and "source says -2 (disagrees)" in detail
    # the panel's rows are exactly the shared rows (same verdicts as CLI and audit)
    shared = summary_rows(reg.get("trusttest.panel").experiment.info(), view.state.summary,
                          {"lam": 0.5})
    assert [r.ok for r in shared if r.kind == "compare"] == [True, False]


@aio
async def test_finished_run_without_step_count_has_no_animating_bar(tmp_path: Path) -> None:
    reg = panel_registry(tmp_path)
    app = MatexploreApp(registry=reg, session_dirs=[tmp_path / "s"])
    async with app.run_test(size=(100, 32)) as pilot:
        view = await run_panel(app, pilot, "trusttest.idle")
        bar = view.query_one(".progress", ProgressBar)
        assert bar.total is None and not bar.display  # an indeterminate bar would animate


@aio
async def test_replay_tab_offers_no_stop_once_it_ended(registry, app, sessions: Path) -> None:
    path = record(registry, sessions / "r.jsonl", steps=3)
    async with app.run_test(size=(100, 32)) as pilot:
        view = await app.main.open_replay(read_session(path), float("inf"))
        await wait_for(pilot, lambda: view.final_status is not None)
        await pilot.pause()
        assert not view.query_one("#cancel").display
        assert app.main.check_action("cancel", ()) is False  # not even shown dimmed


async def start_slow(app: MatexploreApp, pilot: Any) -> Any:
    view = await open_walk(app, pilot)
    await set_input(pilot, view, "steps", "100000")
    await set_input(pilot, view, "sleep", "0.01")
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: (view.state.step or 0) >= 2)
    return view


@aio
async def test_live_session_listed_running_and_delete_cancels_first(registry, app,
                                                                   sessions: Path) -> None:
    other = sessions / "other.jsonl"  # another process's file without an end record
    record(registry, other, steps=3)
    other.write_text("\n".join(other.read_text().splitlines()[:-1]) + "\n")
    async with app.run_test(size=(100, 32)) as pilot:
        view = await start_slow(app, pilot)
        live = view.record_path
        await pilot.press("f3")
        await pilot.pause()
        table = app.main.query_one("#sessions-table", DataTable)
        said = {str(table.get_row_at(i)[3]): str(table.get_row_at(i)[0])
                for i in range(table.row_count)}
        assert said == {live.name: "running", "other.jsonl": "no end record yet"}
        table.move_cursor(row=[str(table.get_row_at(i)[3]) for i in
                               range(table.row_count)].index(live.name))
        await pilot.pause()
        assert "status running" in plain(app.main.query_one("#session-detail", Static))
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "Cancel that run" in plain(
            app.screen.query_one(".question", Static))
        await pilot.press("y")
        await wait_for(pilot, lambda: not live.exists() and view.final_status is not None)
        assert view.source.status == "cancelled"
        assert "saved" not in status(view) and "was deleted" in status(view)


@aio
async def test_rerun_of_cancelled_session_is_refused_at_once(registry, app,
                                                             sessions: Path) -> None:
    run = Run(registry.get("tuitest.walk"), {"steps": 100000, "sleep": 0.01, "seed": 1},
              record=sessions / "c.jsonl").start()
    while (run.state.step or 0) < 2:
        time.sleep(0.01)
    run.cancel()
    run.wait(5)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        started = time.monotonic()
        await pilot.press("r")
        await pilot.pause(0.3)
        assert app.main.active_view is None  # no rerun tab: nothing was recomputed
        note = [n.message for n in app._notifications]
        assert any("nothing complete to compare" in m for m in note)
        assert time.monotonic() - started < 5


def sweep_session(registry: Registry, path: Path, grid: dict, seeds: int, base: dict) -> Path:
    from distributed import Client, LocalCluster

    from matexplore.sweep import SweepSpec, make_sweep

    spec = SweepSpec("tuitest.walk", grid, base, seeds, 3, [str(d) for d in
                                                            registry.plugin_dirs])
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        sweep = make_sweep(registry.get("tuitest.walk"), spec, client=client)
        Run(sweep, {"seed": 3}, record=path, meta={"sweep": spec.to_json()}).execute()
    return path


@aio
async def test_sweep_session_shows_grid_and_failed_tasks(registry, app, sessions: Path) -> None:
    path = sweep_session(registry, sessions / "sw.jsonl", {"mode": ["ok", "fail"]}, 2,
                         {"steps": 4})
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        table = app.main.query_one("#sessions-table", DataTable)
        row = [str(c) for c in table.get_row_at(0)]
        assert row[0] == ("finished, 2 of 4 tasks failed "
                          "(first: ZeroDivisionError: kernel blew up at step 3)")
        assert "grid mode=ok,fail × 2 seeds" in row[4] and "steps=4" in row[4]
        detail = plain(app.main.query_one("#session-detail", Static))
        assert "mode = ok, fail" in detail and "2 seeds per point, sweep seed 3" in detail
        assert "steps = 4" in detail
        view = await app.main.open_replay(read_session(path), math.inf)
        await wait_for(pilot, lambda: view.final_status is not None)
        await pilot.pause()
        assert status(view).startswith("finished, 2 of 4 tasks failed")
        shown = plain(view.query_one(".recorded-params", Static))
        assert "mode = ok, fail" in shown and "steps = 4" in shown


@aio
async def test_results_marked_stale_when_the_form_is_edited(app) -> None:
    async with app.run_test(size=(100, 32)) as pilot:
        view = await open_walk(app, pilot)
        await set_input(pilot, view, "steps", "3")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: view.final_status is not None)
        await pilot.pause()
        assert not status(view).startswith("stale")
        await set_input(pilot, view, "steps", "4")
        await pilot.pause()
        assert status(view).startswith("stale: the parameters were edited since this run")
        assert view.query_one(".run-output").has_class("-stale")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: view.final_status is not None)
        await pilot.pause()
        assert not status(view).startswith("stale")
        assert not view.query_one(".run-output").has_class("-stale")


def test_empty_list_default_is_not_called_random(registry) -> None:
    from matexplore.params import FloatList, Seed

    assert FloatList([], min_len=0).format_default() == "(empty list)"
    assert Seed().format_default() == "(random)"


@aio
async def test_compare_with_overlays_curves_and_puts_summaries_side_by_side(
        registry, app, sessions: Path) -> None:
    from textual.widgets import OptionList
    from textual_plotext import PlotextPlot

    from matexplore.tui.compare import CompareScreen

    a = record(registry, sessions / "a.jsonl", steps=6)
    b = sessions / "b.jsonl"
    Run(registry.get("tuitest.walk"), {"seed": 8, "steps": 6}, record=b).execute()
    b_x2 = read_session(b).state().summary["x2"]
    a_x2 = read_session(a).state().summary["x2"]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        table = app.main.query_one("#sessions-table", DataTable)
        names = [str(table.get_row_at(i)[3]) for i in range(table.row_count)]
        table.move_cursor(row=names.index("a.jsonl"))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        options = app.screen.query_one(OptionList)
        assert options.option_count == 1  # only the other session of the experiment
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.main.active_view is not None
                       and app.main.active_view.final_status is not None)
        await pilot.pause(0.3)
        view = app.main.active_view
        panel = view.query_one(SummaryPanel)
        heads = [str(c.label).strip() for c in panel.table.columns.values()]
        assert heads[-1] == "b"
        row = [str(c).strip() for c in panel.table.get_row_at(0)]
        assert row[0] == "x_k²" and float(row[2]) == float(f"{a_x2:.3g}")
        assert float(row[-1]) == float(f"{b_x2:.3g}")
        assert f"b: {b_x2:.6g}" in plain(panel.query_one(".summary-detail", Static))
        drawn = "\n".join(screen_lines(view.query_one(PlotextPlot)))
        assert "x2 [b]" in drawn and "k [b]" in drawn


@aio
async def test_enter_in_the_description_opens_the_experiment(app) -> None:
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        app.main.query_one("#description-scroll").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.main.active_view is not None)
        assert app.main.active_view.info["id"] == "tuitest.walk"


@aio
async def test_new_tab_opens_at_its_first_field_and_in_view_in_the_tab_bar(app) -> None:
    from textual.widgets import Input

    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for _ in range(12):  # more tabs than the 80-column tab bar can show
            await pilot.press("f2", "enter")
            await pilot.pause(0.3)
        view = app.main.active_view
        assert len(app.main.views) == 12
        form = view.query_one(".run-form")
        assert form.scroll_y == 0
        assert app.focused is view.query(Input).first()
        tab = app.main.tabs.get_tab(app.main.tabs.active)
        bar = app.main.tabs.query_one("#tabs-scroll")
        assert bar.scroll_x > 0 and bar.region.contains_region(tab.region)


@aio
async def test_screenshot_says_where_it_saved_or_why_not(app, tmp_path: Path) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        path = app.save_screen(tmp_path)
        assert path is not None and path.exists() and path.parent == tmp_path
        await pilot.pause()
        assert any(f"saved {path}" in n.message for n in app._notifications)
        assert app.save_screen(tmp_path / "missing" / "dir") is None
        await pilot.pause()
        assert any("screenshot not saved: cannot write in" in n.message
                   and "missing" in n.message for n in app._notifications)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles.count("Screenshot") == 1


@aio
async def test_compare_with_from_a_run_tab(registry, app, sessions: Path) -> None:
    from matexplore.tui.compare import CompareScreen

    other = sessions / "other.jsonl"
    Run(registry.get("tuitest.walk"), {"seed": 8, "steps": 20}, record=other).execute()
    other_x2 = read_session(other).state().summary["x2"]
    async with app.run_test(size=(100, 32)) as pilot:
        view = await open_walk(app, pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: view.final_status is not None)
        app.main.action_compare()
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        assert len(app.screen.sessions) == 1  # its own session is not offered
        await pilot.press("enter")
        await wait_for(pilot, lambda: view.other is not None)
        await pilot.pause(0.2)
        assert app.main.active_view is view
        row = [str(c).strip() for c in view.query_one(SummaryPanel).table.get_row_at(0)]
        assert float(row[-1]) == float(f"{other_x2:.3g}")


@aio
async def test_a_long_form_opens_at_its_title_and_first_field(tmp_path: Path) -> None:
    """batchnorm-rank.depth's form is taller than 80×24: focusing its first input used to
    scroll the title and that field's label out of view."""
    from matexplore.plugins import get_registry

    app = MatexploreApp(registry=get_registry(), session_dirs=[tmp_path])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(*"batchnorm depth", "enter")  # filter, then open, as a user does
        await pilot.pause(0.5)
        view = app.main.active_view
        assert view.info["id"] == "batchnorm-rank.depth"
        assert view.query_one(".run-form").scroll_y == 0
        assert app.focused is view.query("Input").first()
