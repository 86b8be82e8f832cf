"""Runs in a child process (matexplore.procrun): same results, crash isolation, cancel."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from matexplore.plugins import load_registry
from matexplore.procrun import InProcess, memory_limit
from matexplore.runner import Run
from matexplore.session import read_session



@pytest.fixture
def registry(crashy_dir: Path):
    return load_registry([crashy_dir], use_entry_points=False, use_env=False)


def child_run(registry, exp: str, params: dict, path: Path) -> Run:
    return Run(registry.get(exp), params, record=path, frames=InProcess(registry)).start()


def test_child_process_run_equals_the_in_thread_run(registry, tmp_path):
    params = {"steps": 40, "seed": 7}
    child = child_run(registry, "toy.walk", params, tmp_path / "c.jsonl")
    assert child.wait(60)
    local = Run(registry.get("toy.walk"), params).execute()
    assert child.status == "finished", child.error
    assert child.result() == local.result()
    assert read_session(tmp_path / "c.jsonl").result() == local.result()


def test_child_errors_keep_their_sentence_and_traceback(registry, tmp_path):
    run = child_run(registry, "crashy.crash", {"how": "raise", "seed": 1}, tmp_path / "r.jsonl")
    assert run.wait(60)
    assert (run.status, run.error) == ("failed", "KeyError: 'boom'")
    assert "Traceback" in run.traceback and "crashy.py" in run.traceback
    run = child_run(registry, "toy.walk", {"mode": "bad-input", "seed": 1}, tmp_path / "b.jsonl")
    assert run.wait(60)
    assert (run.status, run.error, run.traceback) == (
        "failed", "steps must be even for this mode.", None)


@pytest.mark.parametrize("how, sentence", [
    ("exit", "the experiment's process exited with code 3 before the run ended; "
             "the results end early"),
    ("segfault", "the experiment's process crashed (segmentation fault); the results end early"),
    ("allocate", "the run ran out of memory: it exceeded its limit of 3.0 GiB "
                 "($MATEXPLORE_RUN_MEMORY)"),
])
def test_a_dying_child_fails_its_run_only(registry, tmp_path, monkeypatch, how, sentence):
    monkeypatch.setenv("MATEXPLORE_RUN_MEMORY", "3G")
    normal = child_run(registry, "toy.walk", {"steps": 60, "sleep": 0.05, "seed": 2},
                       tmp_path / "n.jsonl")
    bad = child_run(registry, "crashy.crash", {"how": how, "seed": 1}, tmp_path / "bad.jsonl")
    assert bad.wait(60) and normal.wait(60)
    assert (bad.status, bad.error) == ("failed", sentence)
    s = read_session(tmp_path / "bad.jsonl")
    assert (s.status, s.error, len(s.frames)) == ("failed", sentence, 2)
    assert s.result()["summary"] == {"x": 2.0}
    assert normal.status == "finished" and len(normal.result()["tables"]["walk"]["rows"]) == 60
    assert read_session(tmp_path / "n.jsonl").status == "finished"


def test_a_child_that_never_yields_is_terminated_on_cancel(registry, tmp_path):
    normal = child_run(registry, "toy.walk", {"steps": 40, "sleep": 0.05, "seed": 2},
                       tmp_path / "n.jsonl")
    bad = child_run(registry, "crashy.crash", {"how": "loop", "seed": 1}, tmp_path / "l.jsonl")
    deadline = time.monotonic() + 60
    while bad.state.frames < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    bad.cancel()
    assert bad.wait(10), "a child ignoring the cancel was not terminated"
    assert bad.status == "cancelled"
    s = read_session(tmp_path / "l.jsonl")
    assert (s.status, len(s.frames)) == ("cancelled", 2)
    assert normal.wait(60) and normal.status == "finished"


def test_memory_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv("MATEXPLORE_RUN_MEMORY", "1.5G")
    assert memory_limit() == 3 * 2**29
    monkeypatch.setenv("MATEXPLORE_RUN_MEMORY", "512MiB")
    assert memory_limit() == 512 * 2**20
    monkeypatch.setenv("MATEXPLORE_RUN_MEMORY", "none")
    assert memory_limit() is None
    monkeypatch.delenv("MATEXPLORE_RUN_MEMORY")
    import os

    assert memory_limit() == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2


def test_a_bad_memory_setting_is_one_sentence(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("MATEXPLORE_RUN_MEMORY", "lots")
    run = child_run(registry, "toy.walk", {"seed": 1}, tmp_path / "m.jsonl")
    assert run.wait(10)
    assert (run.status, run.error) == (
        "failed", "MATEXPLORE_RUN_MEMORY='lots' is not a size (e.g. 8G, 512M, or none)")
    assert read_session(tmp_path / "m.jsonl").status == "failed"
