"""The runner: background thread, cooperative cancellation, failures, determinism."""

from __future__ import annotations

import time

from matexplore.plugins import load_registry
from matexplore.runner import Run
from matexplore.session import read_session


def entry(toy_dir):
    return load_registry([toy_dir], use_entry_points=False, use_env=False).get("toy.walk")


def test_finished_run_result_and_session(toy_dir, tmp_path):
    run = Run(entry(toy_dir), {"steps": 5, "seed": 3}, record=tmp_path / "s.jsonl").start()
    assert run.wait(10)
    r = run.result()
    assert r["status"] == "finished" and r["seed"] == 3 and r["error"] is None
    assert [row[0] for row in r["tables"]["walk"]["rows"]] == [1, 2, 3, 4, 5]
    assert read_session(tmp_path / "s.jsonl").result() == r


def test_same_seed_bit_identical_and_drawn_seed_recorded(toy_dir):
    a = Run(entry(toy_dir), {"steps": 50, "seed": 11}).execute().result()
    b = Run(entry(toy_dir), {"steps": 50, "seed": 11}).execute().result()
    assert a == b
    c = Run(entry(toy_dir), {"steps": 5}).execute()
    assert isinstance(c.seed, int) and c.result()["params"]["seed"] == c.seed
    again = Run(entry(toy_dir), {"steps": 5, "seed": c.seed}).execute().result()
    assert again["summary"] == c.result()["summary"]


def test_cancel_takes_effect_quickly_and_finalises_session(toy_dir, tmp_path):
    path = tmp_path / "c.jsonl"
    run = Run(entry(toy_dir), {"steps": 100000, "sleep": 0.01, "seed": 1}, record=path).start()
    time.sleep(0.2)
    t0 = time.monotonic()
    run.cancel()
    assert run.wait(0.5), "cancellation took longer than 0.5 s"
    assert time.monotonic() - t0 < 0.5
    assert run.status == "cancelled"
    s = read_session(path)
    assert s.status == "cancelled" and len(s.frames) == len(run.result()["tables"]["walk"]["rows"]) > 0


def test_exception_fails_the_run_with_message_and_keeps_partial_results(toy_dir, tmp_path):
    path = tmp_path / "f.jsonl"
    run = Run(entry(toy_dir), {"mode": "fail", "steps": 10, "seed": 1}, record=path).execute()
    assert run.status == "failed"
    assert run.error == "ZeroDivisionError: kernel blew up at step 3"
    assert "Traceback" in run.traceback
    s = read_session(path)
    assert s.status == "failed" and s.error == run.error and len(s.frames) == 2


def test_experiment_error_is_a_clean_failure(toy_dir):
    run = Run(entry(toy_dir), {"mode": "bad-input", "seed": 1}).execute()
    assert (run.status, run.error, run.traceback) == ("failed", "steps must be even for this mode.", None)


def test_take_update_coalesces(toy_dir):
    run = Run(entry(toy_dir), {"steps": 40, "seed": 2}).execute()
    merged = run.take_update()
    assert len(merged.tables["walk"].rows) == 40 and merged.step == 40
    assert run.take_update() is None


def test_run_experiment_accepts_command_line_strings(toy_dir):
    from matexplore.testing import run_experiment

    exp = entry(toy_dir).experiment
    a = run_experiment(exp, steps="4", sleep="0", seed=5)
    b = run_experiment(exp, steps=4, seed=5)
    assert a["params"]["steps"] == 4 and a["summary"] == b["summary"]


def test_twenty_concurrent_runs_in_one_second_get_twenty_valid_sessions(toy_dir, tmp_path):
    """Issue 13.1: auto-named sessions (<experiment>-<UTC second>) of runs started in the
    same second used to share one file; each must get its own, readable back intact."""
    import threading

    from matexplore.session import Recording

    e = entry(toy_dir)
    barrier = threading.Barrier(20)
    runs = []

    def start(k):
        run = Run(e, {"steps": 30, "seed": k}, record=Recording.new(tmp_path, e.id))
        barrier.wait()
        runs.append(run.start())

    threads = [threading.Thread(target=start, args=(k,)) for k in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.wait(60) for r in runs)
    paths = {r.record_path for r in runs}
    assert len(paths) == 20 and paths == set(tmp_path.glob("*.jsonl"))
    for r in runs:
        s = read_session(r.record_path)
        assert s.status == "finished" and s.result() == r.result()


def test_record_to_an_existing_file_fails_the_run_and_keeps_the_file(toy_dir, tmp_path):
    path = tmp_path / "old.jsonl"
    path.write_text("precious\n")
    run = Run(entry(toy_dir), {"steps": 3, "seed": 1}, record=path).execute()
    assert run.status == "failed" and "exists" in run.error
    assert path.read_text() == "precious\n"


def test_abandon_ends_the_session_cancelled_while_the_experiment_runs(toy_dir, tmp_path):
    path = tmp_path / "a.jsonl"
    run = Run(entry(toy_dir), {"steps": 100000, "sleep": 0.005, "seed": 1}, record=path).start()
    time.sleep(0.2)
    run.abandon("stopped at once (third signal)")
    s = read_session(path)  # readable now, although the thread is still going
    assert s.status == "cancelled" and s.error == "stopped at once (third signal)"
    run.cancel()
    assert run.wait(10)
    assert read_session(path).status == "cancelled"  # the thread's footer was not appended
