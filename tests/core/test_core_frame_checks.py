"""Frames are checked when yielded: a run cannot record what replay would reject; plus the
load-time and end-of-run checks of what an experiment declares (issue 13.5)."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from matexplore.frames import Compare, Frame, FrameError, Plot, RunState, Series, Table, check_frame
from matexplore.plugins import load_registry
from matexplore.runner import Run
from matexplore.session import read_session

BAD_FRAMES = {
    "long row": (Frame(tables={"t": Table(["a", "b"], [[1, 2, 3]])}),
                 "table 't' row 1 has 3 values for 2 columns"),
    "row not a list": (Frame(tables={"t": Table(["a"], [5])}), "table 't' row 1 is not a list"),
    "cell is a list": (Frame(tables={"t": Table(["a"], [[[1, 2]]])}),
                       "table 't' row 1 holds list [1, 2], not a number, string or None"),
    "columns a string": (Frame(tables={"t": Table("ab", [["x", "y"]])}),
                         "table 't' needs a list of column names"),
    "table not a Table": (Frame(tables={"t": [[1]]}), "table 't' is a list, not a Table"),
    "table name": (Frame(tables={3: Table(["a"], [[1]])}), "table names must be strings"),
    "summary nested list": (Frame(summary={"x": [1, [2]]}), "summary 'x' is list [1, [2]]"),
    "summary dict": (Frame(summary={"x": {"a": 1}}), "summary 'x' is dict"),
    "series string": (Frame(series={"s": [1.0, "two"]}), "series 's' holds str 'two'"),
    "series scalar": (Frame(series={"s": 1.0}), "series 's' is a float, not a list of numbers"),
    "series array 2-d": (Frame(series={"s": np.ones((2, 2))}), "series 's' holds ndarray"),
    "huge int": (Frame(series={"s": [10 ** 400]}), "series 's' holds int"),
    "step float": (Frame(step=1.5), "step must be an integer or None"),
    "not a frame": ({"step": 1}, "run() yielded dict, not a Frame"),
}


@pytest.mark.parametrize("name", list(BAD_FRAMES))
def test_check_frame_names_the_mistake(name):
    frame, needle = BAD_FRAMES[name]
    with pytest.raises(FrameError) as err:
        check_frame(frame, "toy.bad")
    assert str(err.value).startswith("experiment toy.bad yielded a malformed frame: ")
    assert needle in str(err.value)


def test_good_frames_pass_including_numpy_and_non_finite():
    check_frame(Frame(step=np.int64(3).item(), tables={"t": Table(["a", "b"], [
        [np.float64(1.5), None], np.array([1, 2]), ("x", math.nan)])},
        series={"s": np.array([1.0, math.inf]), "r": Series([True, 2], replace=True)},
        summary={"k": np.int32(4), "f": -math.inf, "s": "text", "n": None,
                 "done": [1.0, 2], "arr": np.array([1, 2])}))


BAD_PLUGIN = '''
from matexplore import Experiment, Frame, Table, hookimpl

class Bad(Experiment):
    id = "bad.rows"
    title = "A row longer than its columns"

    def run(self, p, ctx):
        yield Frame(tables={"t": Table(["a"], [[1]])})
        yield Frame(tables={"t": Table(["a", "b"], [[1, 2, 3]])})

@hookimpl
def matexplore_experiments():
    return [Bad]
'''


def test_a_malformed_frame_fails_the_run_and_the_session_replays(tmp_path):
    """The issue's case: the run finished with exit 0 and replay then rejected the file."""
    (tmp_path / "bad.py").write_text(BAD_PLUGIN)
    entry = load_registry([tmp_path], use_entry_points=False, use_env=False).get("bad.rows")
    run = Run(entry, {"seed": 1}, record=tmp_path / "s.jsonl").execute()
    assert run.status == "failed"
    assert run.error == ("experiment bad.rows yielded a malformed frame: table 't' row 1 has "
                         "3 values for 2 columns.")
    s = read_session(tmp_path / "s.jsonl")
    assert s.status == "failed" and len(s.frames) == 1 and s.result() == run.result()


def test_plugin_declaring_its_own_seed_is_rejected_at_load_time(tmp_path):
    (tmp_path / "seedy.py").write_text(textwrap.dedent('''
        from matexplore import Experiment, Int, hookimpl

        class Seedy(Experiment):
            id = "seedy.x"
            title = "declares seed"
            params = {"seed": Int(3)}
            def run(self, p, ctx):
                yield from ()

        @hookimpl
        def matexplore_experiments():
            return [Seedy]
    '''))
    reg = load_registry([tmp_path], use_entry_points=False, use_env=False)
    assert "declares its own 'seed' parameter" in reg.plugin("seedy").error
    assert "seedy.x" not in reg.experiments


def _state(frames):
    st = RunState()
    st.extend(frames)
    return st


def test_output_warnings_name_what_never_appeared():
    from matexplore.frames import output_warnings

    plot = Plot(table="walk", x="k", y=("theory", "x2"))
    compare = [Compare("x", theory="k", measured="x2", se="x2_se")]
    full = _state([Frame(tables={"walk": Table(["k", "theory", "x2"], [[1, 1, 1]])},
                         summary={"k": 1, "x2": 1, "x2_se": 0.1})])
    assert output_warnings(plot, compare, full) == []
    partial = _state([Frame(tables={"walk": Table(["k", "x2"], [[1, 1]])}, summary={"k": 1})])
    assert output_warnings(plot, compare, partial) == [
        "The plot's column(s) 'theory' never appeared in table 'walk'.",
        "The comparison 'x' names summary key(s) 'x2', 'x2_se' that never appeared in the "
        "summary."]
    assert output_warnings(plot, (), RunState()) == [
        "The plot's table 'walk' never appeared in the run's tables."]


def test_finished_run_warns_on_stderr_and_in_the_session(typo_dir, tmp_path):
    import subprocess
    import sys

    rec = tmp_path / "s.jsonl"
    p = subprocess.run([sys.executable, "-m", "matexplore.cli", "run", "typo.x", "--json",
                        "--record", str(rec), "--plugin-dir", str(typo_dir)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0
    assert "warning: The plot's column(s) 'thoery' never appeared in table 't'." in p.stderr
    assert read_session(rec).warnings == ["The plot's column(s) 'thoery' never appeared in "
                                          "table 't'."]


def test_replacing_tables_and_series_survive_the_session_round_trip(tmp_path):
    """The writer stores ``replace: true`` as 1 (booleans become 0/1): the reader must still
    replace, or a replayed table grows where the live one was redrawn."""
    from matexplore.session import SessionWriter

    frames = [Frame(tables={"w": Table(["k"], [[k]], replace=True)},
                    series={"h": Series([k, k], replace=True)}) for k in range(3)]
    w = SessionWriter(tmp_path / "r.jsonl", {"experiment": "a.b", "params": {}, "seed": 1})
    for f in frames:
        w.write_frame(f, 0.0)
    w.finish("finished", None, 0.0)
    assert read_session(tmp_path / "r.jsonl").state().result() == _state(frames).result() == {
        "summary": {}, "tables": {"w": {"columns": ["k"], "rows": [[2]]}},
        "series": {"h": [2, 2]}}
