"""Rough edges of issue 19: every plugin at a glance at 80×24, no ETA countdown after a
cancel, descriptions reflowed by paragraph with formula lines intact, and the default of
an empty list shown as (empty list)."""

from __future__ import annotations

import asyncio
import time

from matexplore.cli import main
from matexplore.plugins import load_registry
from matexplore.tui.app import MatexploreApp
from matexplore.tui.browser import reflow


def test_reflow_joins_prose_lines_and_keeps_formula_lines():
    text = """
        The kernel map is iterated from rho_0
        until it settles; the bound reads

            |ρ_ℓ − ρ*| ≤ C β^ℓ
        ρ_{ℓ+1} = κ(ρ_ℓ), κ'(ρ*) < 1
        with the rate beta given
        by the slope.

        - a list item stays
        - as written
        """
    assert reflow(text) == (
        "The kernel map is iterated from rho_0 until it settles; the bound reads\n\n"
        "    |ρ_ℓ − ρ*| ≤ C β^ℓ\n"
        "ρ_{ℓ+1} = κ(ρ_ℓ), κ'(ρ*) < 1\n"
        "with the rate beta given by the slope.\n\n"
        "- a list item stays\n- as written")


def test_describe_shows_an_empty_list_default_as_empty(capsys):
    assert main(["describe", "kernel-maps.kernel"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.strip().startswith("hermite_weights"))
    assert "default: (empty list)" in line
    seed = next(l for l in out.splitlines() if l.strip().startswith("seed"))
    assert "default: (random)" in seed


async def first_screen() -> None:
    registry = load_registry(use_env=False)
    app = MatexploreApp(registry=registry, session_dirs=[])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        tree = app.main.query_one("#experiment-tree")
        plugins = tree.root.children
        assert len(plugins) == len(registry.plugins) >= 5
        assert plugins[-1].line + 1 <= tree.size.height, "the last plugin is below the fold"
        for node, info in zip(plugins, registry.plugins):
            assert node.label.plain.startswith(f"{info.name} ({len(info.experiments)})")


def test_first_screen_at_80x24_shows_every_plugin():
    asyncio.run(first_screen())


async def cancel_stops_the_eta(toy_dir, sessions) -> None:
    registry = load_registry([toy_dir], use_entry_points=False, use_env=False)
    app = MatexploreApp(registry=registry, session_dirs=[sessions])
    async with app.run_test(size=(100, 32)) as pilot:
        view = await app.main.open_experiment(registry.get("toy.walk"))
        view.query_one("ParamForm").set_values({"steps": 100000, "sleep": 0.01, "seed": 1})
        await pilot.pause()
        eta = view.query_one(".progress #eta")
        assert view.start_run()
        end = time.monotonic() + 60
        while view.state.step is None and time.monotonic() < end:
            await pilot.pause(0.05)
        assert eta.display
        view.cancel()
        while view.final_status is None and time.monotonic() < end:
            await pilot.pause(0.05)
        assert view.final_status == "cancelled" and not eta.display
        view.query_one("ParamForm").set_values({"steps": 100000, "sleep": 0.01, "seed": 1})
        assert view.start_run() and eta.display  # a new run shows its countdown again
        view.cancel()
        while view.final_status is None and time.monotonic() < end:
            await pilot.pause(0.05)


def test_no_eta_countdown_after_a_cancel(toy_dir, tmp_path):
    asyncio.run(cancel_stops_the_eta(toy_dir, tmp_path / "sessions"))
