"""The Sweep action (F7) on a run tab: grid editor with inline errors, then a sweep on a
real local Dask cluster in its own tab, recorded as a session that replays identically."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static, TextArea

from matexplore.session import read_session
from matexplore.sweep import sweep_seeds
from matexplore.tui.sweepdialog import SweepScreen
from test_tui_flows import SIZE, aio, open_walk, plain, wait_for
from test_tui_flows import app, registry, sessions  # noqa: F401  (fixtures)


@aio
async def test_sweep_from_a_run_tab(app, registry, sessions: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = await open_walk(app, pilot)
        view.query_one("#param-seed", Input).value = "5"
        await pilot.press("f7")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
        dialog = app.screen
        assert dialog.query_one("#grid", TextArea).text == "steps="  # prefilled, cursor at end
        await pilot.press(*"3,x")  # a bad value: refused with the reason, dialog stays open
        await pilot.press("ctrl+s")
        error = plain(dialog.query_one("#sweep-error", Static))
        assert "Parameter 'steps' must be an integer" in error and "'x'" in error
        dialog.query_one("#grid", TextArea).text = "stepz=3,4"  # a typo in the name
        await pilot.press("ctrl+s")
        error = plain(dialog.query_one("#sweep-error", Static))
        assert "did you mean 'steps'" in error and isinstance(app.screen, SweepScreen)
        dialog.query_one("#grid", TextArea).text = "steps=3,4"
        dialog.query_one("#seeds", Input).value = "2"
        dialog.query_one("#workers", Input).value = "1"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.main.active_view is not view)
        sweep_view = app.main.active_view
        assert sweep_view.mode == "sweep" and sweep_view.tab_label().endswith("Σ walk")
        await wait_for(pilot, lambda: sweep_view.final_status is not None, timeout=120)
        assert sweep_view.final_status == "finished"
        result = sweep_view.result()
    # the recorded session holds the same sweep (read back independently of the view)
    path = sweep_view.record_path
    session = read_session(path)
    assert session.result() == result
    assert session.header["sweep"]["grid"] == {"steps": [3, 4]}
    assert session.header["sweep"]["seed"] == 5
    rows = result["tables"]["sweep"]["rows"]
    cols = result["tables"]["sweep"]["columns"]
    assert [r[cols.index("steps")] for r in rows] == [3, 4]
    assert [r[cols.index("n_finished")] for r in rows] == [2, 2]
    tasks = result["tables"]["tasks"]
    seeds = sorted({r[tasks["columns"].index("seed")] for r in tasks["rows"]})
    assert seeds == sorted(sweep_seeds(5, 2))
