"""The frame model: deltas fold into a RunState; coalescing preserves the result."""

from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from matexplore.frames import (Frame, RunState, Series, Table, from_json_value, merge_frames,
                               to_json_value)


def test_non_finite_and_numpy_values_encode_to_strict_json():
    enc = to_json_value({"a": math.nan, "b": -math.inf, "c": np.float64(2.5), "d": np.bool_(True),
                         "e": np.int32(3), "f": np.arange(2), "g": True})
    text = json.dumps(enc, allow_nan=False)
    assert json.loads(text) == {"a": "NaN", "b": "-Infinity", "c": 2.5, "d": 1, "e": 3,
                                "f": [0, 1], "g": 1}
    back = from_json_value(json.loads(text))
    assert math.isnan(back["a"]) and back["b"] == -math.inf


def test_runstate_append_replace_and_summary():
    st_ = RunState()
    st_.apply(Frame(step=1, total=3, tables={"t": Table(["a"], [[1]])}, series={"s": [1.0]},
                    summary={"x": 1}))
    st_.apply(Frame(step=2, tables={"t": Table(["a"], [[2]])}, series={"s": [2.0]},
                    summary={"y": 2}))
    st_.apply(Frame(tables={"h": Table(["bin"], [[0]], replace=True)},
                    series={"s": Series([9.0], replace=True)}, summary={"x": 3}))
    r = st_.result()
    assert r["tables"]["t"]["rows"] == [[1], [2]]
    assert r["series"]["s"] == [9.0]
    assert r["summary"] == {"x": 3, "y": 2}
    assert (st_.step, st_.total) == (2, 3)


def test_series_ring_buffer_bounds_memory():
    st_ = RunState(series_limit=5)
    for i in range(20):
        st_.apply(Frame(series={"s": [float(i)]}))
    assert st_.series["s"] == [15.0, 16.0, 17.0, 18.0, 19.0]


def test_frame_json_roundtrip():
    f = Frame(step=4, total=9, tables={"t": Table(["a", "b"], [[1, math.inf]])},
              series={"s": Series([1.0, math.nan], replace=True)}, summary={"k": None},
              message="compiling…")
    g = Frame.from_json(json.loads(json.dumps(f.to_json(), allow_nan=False)))
    assert g.step == 4 and g.total == 9 and g.message == "compiling…"
    assert g.tables["t"].rows[0][1] == math.inf
    assert math.isnan(g.series["s"].values[1]) and g.series["s"].replace


names = st.sampled_from(["t1", "t2"])
frames = st.builds(
    lambda tname, cols, rows, rep, sname, vals, srep, summ: Frame(
        tables={tname: Table(cols, [[v] * len(cols) for v in rows], replace=rep)},
        series={sname: Series(vals, replace=srep)}, summary=summ),
    names, st.sampled_from([["a"], ["a", "b"]]), st.lists(st.integers(), max_size=3),
    st.booleans(), names, st.lists(st.floats(allow_nan=False), max_size=3), st.booleans(),
    st.dictionaries(st.sampled_from(["x", "y"]), st.integers(), max_size=2))


@given(st.lists(frames, max_size=8), st.integers(min_value=0, max_value=8))
def test_merging_frames_equals_applying_them_one_by_one(fs, cut):
    """The UI's coalescing buffer must not change what the user ends up seeing."""
    one = RunState()
    one.extend(fs)
    merged = RunState()
    merged.extend([merge_frames(fs[:cut]), merge_frames(fs[cut:])] if fs else [])
    assert merged.result() == one.result()
