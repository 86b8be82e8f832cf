"""The app survives a run whose process segfaults (issue 19): the run's tab ends failed
with one sentence, its session is finalised, and a concurrent run in another tab and the
app itself carry on."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from rich.console import Console
from textual.widgets import Static

from matexplore.plugins import load_registry
from matexplore.session import read_session
from matexplore.tui.app import MatexploreApp

SEGFAULT = "the experiment's process crashed (segmentation fault); the results end early"


def status(view) -> str:
    console = Console(width=300, record=True, color_system=None)
    console.print(view.query_one(".status-line", Static).content)
    return console.export_text().strip()


async def wait_for(pilot, cond, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached in time"
        await pilot.pause(0.05)


async def segfault_beside_a_normal_run(crashy_dir: Path, sessions: Path) -> None:
    registry = load_registry([crashy_dir], use_entry_points=False, use_env=False)
    app = MatexploreApp(registry=registry, session_dirs=[sessions])
    async with app.run_test(size=(100, 32)) as pilot:
        walk = await app.main.open_experiment(registry.get("toy.walk"))
        walk.query_one("ParamForm").set_values({"steps": 40, "sleep": 0.05, "seed": 1})
        crash = await app.main.open_experiment(registry.get("crashy.crash"))
        crash.query_one("ParamForm").set_values({"how": "segfault", "seed": 1})
        await pilot.pause()
        assert walk.start_run() and crash.start_run()
        await wait_for(pilot, lambda: crash.final_status is not None)
        assert crash.final_status == "failed"
        assert status(crash) == f"failed: {SEGFAULT} · saved {crash.record_path}"
        saved = read_session(crash.record_path)
        assert (saved.status, saved.error, len(saved.frames)) == ("failed", SEGFAULT, 2)
        await wait_for(pilot, lambda: walk.final_status is not None)
        assert walk.final_status == "finished"
        assert len(read_session(walk.record_path).result()["tables"]["walk"]["rows"]) == 40
        # the app still works: the crashed tab runs again (and crashes again, alone)
        assert crash.start_run()
        await wait_for(pilot, lambda: crash.final_status == "failed")
        assert app.is_running


def test_app_survives_a_segfaulting_run(crashy_dir: Path, tmp_path: Path) -> None:
    asyncio.run(segfault_beside_a_normal_run(crashy_dir, tmp_path / "sessions"))
