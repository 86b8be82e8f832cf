"""What the UI-latency work must not break: a form Input that no longer relayouts the
screen still scrolls its text, a text widget updated without a layout still grows when
its text needs more lines, and the collector policy frees garbage cycles once runs end."""

from __future__ import annotations

import asyncio
import gc
import weakref

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from matexplore.tui.collector import CollectorPolicy
from matexplore.tui.redraw import update_text
from matexplore.tui.runview import FormInput


class Form(App):
    CSS = "Vertical { width: 24; } Static { height: auto; }"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield FormInput("", compact=True, id="box")
            yield Input("", compact=True, id="plain")  # Textual's own, for reference
            yield Static("one line", id="text")
            yield Static("below", id="below")


def visible_line(widget) -> str:
    return "".join(seg.text for seg in widget.render_line(0))


async def typing_scrolls() -> None:
    app = Form()
    async with app.run_test(size=(40, 10)) as pilot:
        typed = "abcdefghijklmnopqrstuvwxyz0123456789"
        lines = {}
        for name in ("box", "plain"):
            box = app.query_one(f"#{name}", Input)
            box.focus()
            await pilot.press(*typed)
            await pilot.pause()
            assert box.value == typed and box.cursor_position == len(typed)
            at_end = visible_line(box)
            await pilot.press("home")
            await pilot.pause()
            lines[name] = at_end, visible_line(box)
        assert "789" in lines["box"][0] and "abc" not in lines["box"][0]  # scrolled
        assert lines["box"][1].startswith("abc")
        assert lines["box"] == lines["plain"]  # exactly what Textual's Input shows


def test_form_input_scrolls_its_text_without_relayouting():
    asyncio.run(typing_scrolls())


async def text_grows_and_shrinks() -> None:
    app = Form()
    async with app.run_test(size=(40, 10)) as pilot:
        text, below = app.query_one("#text", Static), app.query_one("#below", Static)
        await pilot.pause()
        assert text.size.height == 1 and below.region.y == 3
        update_text(text, Text("still one line"))
        await pilot.pause()
        assert text.size.height == 1 and "still one line" in visible_line(text)
        update_text(text, Text("a text that needs three lines at a width of 24"))
        await pilot.pause()
        assert text.size.height == 2 and below.region.y == 4
        update_text(text, Text("short again"))
        await pilot.pause()
        assert text.size.height == 1 and below.region.y == 3


def test_update_text_lays_out_only_what_changes_height():
    asyncio.run(text_grows_and_shrinks())


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle(holder: list[Node]) -> weakref.ref[Node]:
    """Two nodes that refer to each other (freed only by the cycle collector), the first
    kept alive by ``holder``."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    holder.append(a)
    return weakref.ref(a)


def test_collector_policy_freezes_survivors_during_runs_and_frees_cycles_after():
    pending = []
    policy = CollectorPolicy(lambda delay, fn: pending.append(fn))
    gc.unfreeze()
    try:
        policy.start()
        assert gc.get_freeze_count() > 0
        policy.runs_changed(True)
        young = cycle([])
        gc.collect()
        assert young() is None  # garbage cycles are still collected while runs are live
        holder: list[Node] = []
        old = cycle(holder)
        frozen = gc.get_freeze_count()
        gc.collect()  # it survives a full collection: frozen with the other survivors
        assert old() is not None and gc.get_freeze_count() > frozen
        holder.clear()
        gc.collect()
        assert old() is not None  # garbage now, but out of the collector's sight
        policy.runs_changed(False)
        assert len(pending) == 1  # one compaction, SETTLE seconds later
        pending.pop()()
        assert old() is None  # freed by the full collection once no run is live
        assert gc.get_freeze_count() > 0  # the survivors frozen again
    finally:
        policy.stop()
    assert gc.get_freeze_count() == 0
