"""A finished run's warnings (declared plot/compare outputs never produced) are shown in
the run tab's status line, live and on replay (issue 13.5)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from rich.console import Console
from textual.widgets import Static

from matexplore.plugins import load_registry
from matexplore.session import read_session
from matexplore.tui.app import MatexploreApp

WARNING = "warning: The plot's column(s) 'thoery' never appeared in table 't'."


def status(view) -> str:
    console = Console(width=300, record=True, color_system=None)
    console.print(view.query_one(".status-line", Static).content)
    return console.export_text()


async def _until(pilot, cond, timeout=20.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end
        await pilot.pause(0.05)


def test_warnings_show_in_the_status_line_live_and_on_replay(typo_dir: Path,
                                                            tmp_path: Path) -> None:
    registry = load_registry([typo_dir], use_entry_points=False, use_env=False)
    sessions = tmp_path / "sessions"
    app = MatexploreApp(registry=registry, session_dirs=[sessions])

    async def body() -> None:
        async with app.run_test(size=(100, 32)) as pilot:
            view = await app.main.open_experiment(registry.get("typo.x"))
            await pilot.pause()
            assert view.start_run()
            await _until(pilot, lambda: view.final_status is not None)
            assert view.final_status == "finished" and WARNING in status(view)
            replay = await app.main.open_replay(read_session(view.record_path), float("inf"))
            await _until(pilot, lambda: replay.final_status is not None)
            assert WARNING in status(replay)

    asyncio.run(body())
