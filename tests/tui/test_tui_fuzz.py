"""No session file, however crafted, crashes the reader or the TUI (issue 13.7).

Hypothesis writes session files of random JSON shapes — colliding series/table names
("a b" vs "a_b", markup-like "[bold]", non-ASCII), huge and non-finite numbers, deep
nesting, wrong types anywhere — then checks that ``read_session`` either returns a session
whose result is strict JSON or raises ``SessionError``; and that the real app lists every
file (readable, or "unreadable" with the reason) and replays every readable one to its end
through RunView, drawing its tables, sparklines and plot. Example counts are kept small
(the whole module runs in well under 40 s)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.widgets import DataTable

from matexplore.frames import Frame, RunState, Series, Table, check_frame
from matexplore.plugins import Registry
from matexplore.session import SessionError, SessionWriter, read_session
from matexplore.tui.app import MatexploreApp
from matexplore.tui.sessions import status_text

NAMES = st.sampled_from(["x", "x y", "x_y", "x-y", "x.y", "é", "[bold]", "[/]", "1", "",
                         "table-x", "spark-x", "label-spark-x", "-", "#a"]) | st.text(max_size=6)
HUGE = st.sampled_from([10 ** 308, -(10 ** 400), 2 ** 63, 1e308, -1e-320, float("inf"),
                        float("nan"), 10 ** 4000])
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | HUGE
           | st.sampled_from(["NaN", "Infinity", "-Infinity", "[red]x", "[/]"]) | NAMES)
JSON = st.recursive(SCALARS, lambda c: st.lists(c, max_size=3)
                    | st.dictionaries(NAMES, c, max_size=3), max_leaves=8)


def maybe(strategy: Any) -> Any:
    """Usually the well-formed value, sometimes any JSON at all."""
    return st.one_of(strategy, strategy, strategy, JSON)


@st.composite
def tables(draw: Any) -> dict[str, Any]:
    out = {}
    for name in draw(st.lists(NAMES, max_size=3)):
        cols = draw(st.lists(NAMES, max_size=3))
        rows = draw(st.lists(st.lists(SCALARS, min_size=len(cols), max_size=len(cols)),
                             max_size=4))
        out[name] = draw(maybe(st.fixed_dictionaries(
            {"columns": maybe(st.just(cols)), "rows": maybe(st.just(rows))},
            optional={"replace": st.booleans()})))
    return out


SERIES = st.dictionaries(NAMES, maybe(st.fixed_dictionaries(
    {"values": maybe(st.lists(st.integers() | st.floats() | HUGE, max_size=5))},
    optional={"replace": st.booleans()})), max_size=4)

FRAME = st.fixed_dictionaries(
    {"type": st.just("frame")},
    optional={"t": maybe(st.floats(0, 1e3)), "step": maybe(st.integers(-5, 10 ** 20)),
              "total": maybe(st.integers(-5, 10 ** 20) | st.none()),
              "tables": maybe(tables()), "series": maybe(SERIES),
              "summary": maybe(st.dictionaries(NAMES, SCALARS, max_size=4)),
              "message": maybe(NAMES)})

PLOT = st.fixed_dictionaries({"table": maybe(NAMES), "x": maybe(NAMES),
                              "y": maybe(st.lists(NAMES, max_size=3))},
                             optional={"title": maybe(NAMES), "logy": maybe(st.booleans())})
COMPARE = st.lists(st.fixed_dictionaries(
    {"label": maybe(NAMES), "theory": maybe(NAMES), "measured": maybe(NAMES)},
    optional={"se": maybe(NAMES | st.none())}), max_size=3)
INFO = st.fixed_dictionaries({}, optional={"id": maybe(NAMES), "title": maybe(NAMES),
                                           "plot": maybe(PLOT | st.none()),
                                           "compare": maybe(COMPARE),
                                           "params": maybe(st.dictionaries(NAMES, JSON))})
HEADER = st.fixed_dictionaries(
    {"type": st.just("header"), "schema": maybe(st.just(1)),
     "experiment": maybe(st.just("fuzz.exp")), "info": maybe(INFO)},
    optional={"params": maybe(st.dictionaries(NAMES, JSON, max_size=3)),
              "seed": maybe(st.integers(0, 2 ** 63)), "started": maybe(NAMES)})
END = st.fixed_dictionaries({"type": st.just("end"),
                             "status": maybe(st.sampled_from(["finished", "cancelled", "failed"])),
                             "error": maybe(st.none() | NAMES)},
                            optional={"warnings": maybe(st.lists(NAMES, max_size=2))})
DEEP = st.integers(50, 20000).map(lambda n: '{"type": "frame", "summary": {"x": '
                                  + "[" * n + "]" * n + "}}")


@st.composite
def session_text(draw: Any) -> str:
    lines = [json.dumps(draw(HEADER))]
    lines += [json.dumps(f) for f in draw(st.lists(FRAME, max_size=6))]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(1, len(lines))), draw(DEEP))
    if draw(st.booleans()):
        lines.append(json.dumps(draw(END)))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", '\n{"type": "fr']))


def check_read(path: Path) -> Any:
    """read_session's contract on any file: a session with a strict-JSON result whose
    frames are well-formed, or SessionError."""
    try:
        s = read_session(path)
    except SessionError as exc:
        assert str(exc).strip() and "\n" not in str(exc)
        return None
    for _, frame in s.frames:
        check_frame(frame)
    json.dumps(s.result(), allow_nan=False)
    return s


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=session_text())
def test_read_session_returns_a_valid_session_or_one_sentence(tmp_path: Path, text: str) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text(text, encoding="utf-8")
    check_read(path)


def test_huge_integer_and_deep_nesting_are_unreadable_not_crashes(tmp_path: Path) -> None:
    header = json.dumps({"type": "header", "schema": 1, "experiment": "a.b"})
    for body in ('{"type": "frame", "summary": {"x": ' + "9" * 5000 + "}}",
                 '{"type": "frame", "summary": {"x": ' + "[" * 100000 + "]" * 100000 + "}}",
                 '{"type": "frame", "tables": {"t": {"columns": ["a"], "rows": [[['
                 + "[" * 3000 + "]" * 3000 + "]]]}}}"):
        (tmp_path / "h.jsonl").write_text(header + "\n" + body + "\n")
        assert check_read(tmp_path / "h.jsonl") is None


# -- the replay view ------------------------------------------------------------------------
def colliding_session(path: Path) -> Path:
    """The issue's crash: series (and tables) whose names map to the same widget id."""
    w = SessionWriter(path, {"experiment": "fuzz.collide", "params": {}, "seed": 1, "info": {
        "id": "fuzz.collide", "title": "[bold]collide", "plot": {
            "table": "a b", "x": "[/]", "y": ["a_b", "é"], "title": "", "logy": True},
        "compare": [{"label": "[red]", "theory": "a b", "measured": "a_b", "se": None}]}})
    for k in range(3):
        w.write_frame(Frame(step=k, total=3, series={
            "a b": [k, 1e308], "a_b": Series([-k], replace=True), "a-b": [float("inf")],
            "é": [k], "è": [k], "[bold]": [2 ** 63]},
            tables={"a b": Table(["[/]", "a_b", "é"], [[k, "[red]", None]]),
                    "a_b": Table(["x"], [[10 ** 300]]), "é": Table([], [[]])},
            summary={"a b": k, "a_b": "[/]", "é": None, "[bold]": float("nan")}), t=0.0)
    w.finish("finished", None, 0.0, ["[bold]warning"])
    return path


async def _replay_all(app: MatexploreApp, sessions: list[Any]) -> None:
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        table = app.main.query_one("#sessions-table", DataTable)
        listed = {str(table.get_row_at(i)[3]): str(table.get_row_at(i)[0])
                  for i in range(table.row_count)}
        for s in sessions:
            name, session = s
            assert listed[name] == ("unreadable" if session is None else status_text(session))
        for name, session in sessions:
            if session is None:
                continue
            view = await app.main.open_replay(session, float("inf"))
            end = time.monotonic() + 20
            while view.final_status is None:
                assert time.monotonic() < end, f"replay of {name} did not end"
                await pilot.pause(0.02)
            for tab in ("tables", "series", "plot"):
                view.show_output(tab)
                await pilot.pause()
            assert view.state.result() == RunState().result() or view.state.frames


@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(texts=st.lists(session_text(), min_size=6, max_size=6))
def test_app_lists_and_replays_any_session_file(tmp_path_factory: Any, texts: list[str]) -> None:
    d = tmp_path_factory.mktemp("sessions")
    sessions = [("collide.jsonl", check_read(colliding_session(d / "collide.jsonl")))]
    assert sessions[0][1] is not None
    for k, text in enumerate(texts):
        (d / f"f{k}.jsonl").write_text(text, encoding="utf-8")
        sessions.append((f"f{k}.jsonl", check_read(d / f"f{k}.jsonl")))
    app = MatexploreApp(registry=Registry(), session_dirs=[d])
    asyncio.run(_replay_all(app, sessions))
