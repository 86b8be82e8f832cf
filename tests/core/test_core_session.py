"""Session files: round trip, killed-process truncation, corruption, hostile input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matexplore.frames import Frame, Series, Table
from matexplore.session import (SCHEMA, Recording, SessionError, SessionWriter, list_sessions,
                                read_session, replay_frames, session_stem)

HEADER = {"matexplore": "test", "plugin": "toy", "plugin_version": "1", "experiment": "toy.walk",
          "info": {"title": "Random walk"}, "params": {"steps": 3, "seed": 7}, "seed": 7}


def write_session(path: Path, n: int = 4, status: str | None = "finished") -> Path:
    w = SessionWriter(path, HEADER, overwrite=True)
    for k in range(n):
        w.write_frame(Frame(step=k + 1, total=n, tables={"walk": Table(["k", "x"], [[k, k * 0.5]])},
                            series={"x": [k * 0.5]}, summary={"x": k * 0.5, "bad": math.nan}),
                      t=0.01 * k)
    if status:
        w.finish(status, None, 0.05)
    return path


def test_roundtrip(tmp_path):
    s = read_session(write_session(tmp_path / "a.jsonl"))
    assert s.status == "finished" and s.experiment == "toy.walk" and len(s.frames) == 4
    r = s.result()
    assert r["tables"]["walk"]["rows"][-1] == [3, 1.5]
    assert r["summary"]["bad"] == "NaN"  # non-finite kept, explicitly encoded
    assert r["seed"] == 7 and r["params"] == {"steps": 3, "seed": 7}
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["schema"] == SCHEMA and len(lines) == 6
    delays = [d for d, _ in replay_frames(s, speed=2.0)]
    assert delays[1] == pytest.approx(0.005)


def test_frames_are_flushed_as_written(tmp_path):
    """A reader sees every frame while the writer is still open (killed-process safety)."""
    w = SessionWriter(tmp_path / "live.jsonl", HEADER)
    w.write_frame(Frame(step=1, summary={"x": 1}), t=0.0)
    s = read_session(tmp_path / "live.jsonl")
    assert s.status == "interrupted" and len(s.frames) == 1
    w.finish("cancelled", None, 0.1)
    assert read_session(tmp_path / "live.jsonl").status == "cancelled"


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0))
def test_truncated_at_any_byte_replays_a_prefix(tmp_path, cut):
    full = write_session(tmp_path / "full.jsonl").read_bytes()
    cut = cut % (len(full) + 1)
    path = tmp_path / "cut.jsonl"
    path.write_bytes(full[:cut])
    header_end = full.index(b"\n") + 1
    if cut < header_end:
        with pytest.raises(SessionError):
            read_session(path)
        return
    s = read_session(path)
    complete = full[:cut].count(b"\n") - 1  # complete records after the header
    if cut == len(full):
        assert s.status == "finished"
    else:
        assert s.status == "interrupted"
        assert len(s.frames) == min(complete, 4)
        assert s.result()["status"] == "interrupted"


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pos=st.integers(min_value=0), byte=st.integers(min_value=0, max_value=255))
def test_corrupted_byte_gives_clear_error_or_valid_session(tmp_path, pos, byte):
    data = bytearray(write_session(tmp_path / "ok.jsonl").read_bytes())
    data[pos % len(data)] = byte
    path = tmp_path / "bad.jsonl"
    path.write_bytes(bytes(data))
    try:
        s = read_session(path)
    except SessionError as exc:
        assert str(exc).endswith(".") and "\n" not in str(exc)
    else:
        s.result()  # whatever was read must be usable


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_reader(tmp_path, blob):
    path = tmp_path / "junk.jsonl"
    path.write_bytes(blob)
    try:
        read_session(path).result()
    except SessionError:
        pass


def test_hostile_and_future_files(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps({**HEADER, "type": "header", "schema": SCHEMA + 1}) + "\n")
    with pytest.raises(SessionError, match="newer than this matexplore"):
        read_session(p)
    # a pickle-looking payload is just text: never executed, rejected as not JSON
    p.write_bytes(b"\x80\x04\x95cos\nsystem\n")
    with pytest.raises(SessionError, match="not valid"):
        read_session(p)
    p.write_text(json.dumps({**HEADER, "type": "header", "schema": 1}) + "\n"
                 + json.dumps({"type": "frame", "tables": {"t": {"columns": ["a"], "rows": [[1, 2]]}}})
                 + "\n")
    with pytest.raises(SessionError, match="line 2"):
        read_session(p)
    with pytest.raises(SessionError, match="cannot read"):
        read_session(tmp_path / "missing.jsonl")


def test_unknown_record_types_are_ignored(tmp_path):
    p = write_session(tmp_path / "a.jsonl", status=None)
    with p.open("a") as fh:
        fh.write(json.dumps({"type": "annotation", "text": "from a future version"}) + "\n")
        fh.write(json.dumps({"type": "end", "status": "finished", "error": None, "elapsed": 1}) + "\n")
    assert read_session(p).status == "finished"


def test_list_sessions_keeps_unreadable_with_reason(tmp_path):
    write_session(tmp_path / "good.jsonl")
    (tmp_path / "bad.jsonl").write_text("not json\n")
    rows = {r.path.name: r for r in list_sessions([tmp_path])}
    assert rows["good.jsonl"].session is not None
    assert "not valid JSON" in rows["bad.jsonl"].error


def test_session_stem_is_safe_and_create_never_reuses_a_name(tmp_path):
    stem = session_stem("x.y", name="my run/../evil")
    assert "/" not in stem
    a = SessionWriter.create(tmp_path, stem, HEADER)
    b = SessionWriter.create(tmp_path, stem, HEADER)
    assert a.path.parent == tmp_path and a.path != b.path and b.path.name == f"{stem}-2.jsonl"


def test_writer_refuses_an_existing_file_unless_overwrite(tmp_path):
    path = write_session(tmp_path / "keep.jsonl")
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        SessionWriter(path, HEADER)
    assert path.read_bytes() == before  # untouched
    w = SessionWriter(path, HEADER, overwrite=True)
    w.finish("finished", None, 0.0)
    assert read_session(path).frames == []


def test_finish_from_two_threads_writes_one_end_record(tmp_path):
    """The CLI may end a session from the main thread while the run's thread also ends it:
    exactly one footer is written, and frames after it are dropped."""
    import threading

    for attempt in range(20):
        w = SessionWriter(tmp_path / f"f{attempt}.jsonl", HEADER)
        barrier = threading.Barrier(8)

        def end(status):
            barrier.wait()
            w.finish(status, None, 0.0)
            w.write_frame(Frame(step=1), t=0.0)

        threads = [threading.Thread(target=end, args=(s,))
                   for s in ["cancelled", "finished"] * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        s = read_session(w.path)  # raises on "data after the end record"
        assert s.status in ("cancelled", "finished") and s.frames == []


def test_end_record_keeps_warnings(tmp_path):
    w = SessionWriter(tmp_path / "w.jsonl", HEADER)
    w.finish("finished", None, 0.0, ["The plot's table 'walk' never appeared."])
    assert read_session(w.path).warnings == ["The plot's table 'walk' never appeared."]
    assert Recording.new(tmp_path, "x.y").directory == tmp_path


