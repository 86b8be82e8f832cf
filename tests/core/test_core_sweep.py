"""Sweeps on Dask: grid validation, aggregation vs direct runs, failures, resume, a killed
worker, cancellation. Most tests use an in-process cluster for speed; the worker-kill and
CLI tests use real worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from matexplore.params import ParamError
from matexplore.plugins import load_registry
from matexplore.runner import Run
from matexplore.session import Recording, read_session
from matexplore.sweep import (SweepSpec, host_slots, make_sweep, parse_grid, sweep_seeds,
                              task_threads)


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                           dashboard_address=None)
    with Client(cluster) as c:
        yield c
    cluster.close()


def toy(toy_dir):
    return load_registry([toy_dir], use_entry_points=False, use_env=False).get("toy.walk")


def sweep_run(toy_dir, client, grid, seeds=3, seed=5, base=None, record=None, resume=None):
    entry = toy(toy_dir)
    spec = SweepSpec("toy.walk", grid, base or {}, seeds, seed, [str(toy_dir)])
    sweep = make_sweep(entry, spec, client=client, resume=resume)
    if record is not None and resume is not None:  # resuming rewrites its own session file
        record = Recording(path=record, overwrite=True)
    return Run(sweep, {"seed": seed}, record=record, meta={"sweep": spec.to_json()}).execute()


def test_grid_errors_are_one_sentence(toy_dir):
    exp = toy(toy_dir).experiment
    with pytest.raises(ParamError, match="did you mean 'steps'"):
        parse_grid(exp, ["stpes=1,2"])
    with pytest.raises(ParamError, match=r"Parameter 'steps' must be an integer in \[1, 100000\]"):
        parse_grid(exp, ["steps=1,0"])
    with pytest.raises(ParamError, match="is empty"):
        parse_grid(exp, ["steps=,"])
    with pytest.raises(ParamError, match="at least one --grid"):
        parse_grid(exp, [])
    with pytest.raises(ParamError, match="--seeds"):
        parse_grid(exp, ["seed=1,2"])
    assert parse_grid(exp, ["steps=2,4", "mode=ok"]) == {"steps": [2, 4], "mode": ["ok"]}


def test_aggregate_equals_independent_direct_runs(toy_dir, client):
    run = sweep_run(toy_dir, client, {"steps": [3, 7]}, seeds=4, seed=11)
    res = run.result()
    assert res["status"] == "finished" and res["summary"]["finished"] == 8
    table = res["tables"]["sweep"]
    cols = table["columns"]
    assert cols[:3] == ["steps", "n_finished", "n_failed"]
    assert "x2_theory" in cols  # from the experiment's compare row (theory key "k")
    for row in table["rows"]:
        r = dict(zip(cols, row))
        # independent path: the same tasks run directly, without Dask
        direct = [Run(toy(toy_dir), {"steps": r["steps"], "seed": s}).execute().result()["summary"]
                  for s in sweep_seeds(11, 4)]
        finals = np.array([d["final"] for d in direct])
        assert r["final_mean"] == pytest.approx(finals.mean(), rel=1e-12)
        assert r["final_se"] == pytest.approx(finals.std(ddof=1) / 2, rel=1e-12)
        assert r["x2_theory"] == r["steps"]
    plot = make_sweep(toy(toy_dir), SweepSpec("toy.walk", {"steps": [3, 7]}, {}, 4, 11),
                      client=client).experiment.plot
    assert (plot.table, plot.x, tuple(plot.y)) == ("sweep", "steps", ("x2_theory", "x2_mean"))
    assert set(plot.y) <= set(cols)
    again = sweep_run(toy_dir, client, {"steps": [3, 7]}, seeds=4, seed=11).result()
    assert again["tables"]["sweep"] == table  # reproducible from the sweep seed


def test_failing_tasks_are_reported_per_point(toy_dir, client):
    res = sweep_run(toy_dir, client, {"mode": ["ok", "fail"]}, seeds=2,
                    base={"steps": 5}).result()
    rows = {r[0]: r for r in res["tables"]["sweep"]["rows"]}
    assert rows["ok"][1:3] == [2, 0] and rows["fail"][1:3] == [0, 2]
    tasks = res["tables"]["tasks"]
    errors = [dict(zip(tasks["columns"], r))["error"] for r in tasks["rows"]]
    assert errors.count("ZeroDivisionError: kernel blew up at step 3") == 2
    assert res["summary"] == {"tasks": 4, "finished": 2, "failed": 2}


def test_resume_skips_finished_tasks(toy_dir, client, tmp_path):
    full = sweep_run(toy_dir, client, {"steps": [2, 4, 6]}, seeds=2,
                     record=tmp_path / "full.jsonl").result()
    lines = (tmp_path / "full.jsonl").read_text().splitlines()
    task_frames = [ln for ln in lines if '"tasks":{"columns"' in ln]
    # simulate a sweep killed after its first task frames
    cut = lines.index(task_frames[1]) + 1
    (tmp_path / "part.jsonl").write_text("\n".join(lines[:cut]) + "\n")
    part = read_session(tmp_path / "part.jsonl")
    already = len(part.result()["tables"]["tasks"]["rows"])
    assert part.status == "interrupted" and 0 < already < 6
    resumed = sweep_run(toy_dir, client, {"steps": [2, 4, 6]}, seeds=2, resume=part,
                        record=tmp_path / "part.jsonl")
    res = resumed.result()
    assert res["tables"]["sweep"] == full["tables"]["sweep"]
    assert len(res["tables"]["tasks"]["rows"]) == 6
    assert res["summary"]["finished"] == 6
    with pytest.raises(ParamError, match="different sweep"):
        sweep_run(toy_dir, client, {"steps": [2, 4]}, seeds=2, resume=part)


def test_cancel_stops_a_sweep(toy_dir, client):
    entry = toy(toy_dir)
    spec = SweepSpec("toy.walk", {"steps": [200, 201]}, {"sleep": 0.01}, 4, 1, [str(toy_dir)])
    run = Run(make_sweep(entry, spec, client=client), {"seed": 1}).start()
    time.sleep(0.3)
    run.cancel()
    assert run.wait(2.0) and run.status == "cancelled"


def test_killed_worker_loses_nothing(toy_dir):
    """A worker process dies mid-sweep: Dask reschedules its tasks and every task finishes."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    try:
        with Client(cluster) as c:
            entry = toy(toy_dir)
            spec = SweepSpec("toy.walk", {"steps": [10, 11, 12, 13]}, {"sleep": 0.03}, 3, 2,
                             [str(toy_dir)])
            run = Run(make_sweep(entry, spec, client=c), {"seed": 2}).start()
            while (run.state.summary.get("finished") or 0) < 2:
                assert not run.done.is_set()
                time.sleep(0.05)
            pids = c.run(os.getpid)
            os.kill(next(iter(pids.values())), signal.SIGKILL)
            assert run.wait(120)
            res = run.result()
            assert res["status"] == "finished"
            assert res["summary"] == {"tasks": 12, "finished": 12, "failed": 0}
            assert sorted((r[0], r[1]) for r in res["tables"]["tasks"]["rows"]) == \
                [(i, j) for i in range(4) for j in range(3)]
    finally:
        cluster.close()


def test_cli_sweep_json_and_limits(toy_dir, tmp_path):
    base = [sys.executable, "-m", "matexplore.cli", "sweep", "toy.walk", "--plugin-dir",
            str(toy_dir)]
    p = subprocess.run([*base, "--grid", "steps=1,2,3", "--seeds", "1000"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2 and "3000 tasks, more than the limit of 2000; pass --yes" in p.stderr
    p = subprocess.run([*base, "--grid", "steps=2,3", "--set", "steps=4"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2 and "Parameter 'steps' is both fixed and swept" in p.stderr
    p = subprocess.run([*base, "--grid", "steps=2,3", "--seeds", "2", "--seed", "3",
                        "--workers", "2", "--json", "--record", str(tmp_path / "s.jsonl")],
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["sweep"]["grid"] == {"steps": [2, 3]} and out["summary"]["finished"] == 4
    rep = subprocess.run([sys.executable, "-m", "matexplore.cli", "replay",
                          str(tmp_path / "s.jsonl"), "--headless", "--json"],
                         capture_output=True, text=True)
    assert json.loads(rep.stdout) == out


def test_theory_column_uses_the_first_compare_row():
    """A quantity compared with the exact law and with a source formula: the sweep's
    K_theory must be the first (trusted) one, not whichever comes last."""
    from matexplore import Compare, Experiment
    from matexplore.sweep import primary_theory

    class E(Experiment):
        id = "x.y"
        title = "t"
        compare = (Compare("exact", theory="m_exact", measured="m"),
                   Compare("source", theory="m_source", measured="m"))

    assert primary_theory(E()) == {"m": "m_exact"}


def test_task_threads_share_the_cores_of_a_host(monkeypatch):
    monkeypatch.delenv("MATEXPLORE_THREADS", raising=False)
    slots = {"10.0.0.1": 2, "10.0.0.2": 1}
    assert task_threads("tcp://10.0.0.1:4000", slots, cores=2) == 1  # workers ≥ cores
    assert task_threads("tcp://10.0.0.1:4000", slots, cores=3) == 1
    assert task_threads("tcp://10.0.0.2:4000", slots, cores=8) == 8  # one slot, 8 cores
    assert task_threads("tcp://10.0.0.3:4000", slots, cores=8) is None  # unknown host
    assert task_threads(None, slots) is None
    monkeypatch.setenv("MATEXPLORE_THREADS", "3")
    assert task_threads("tcp://10.0.0.1:4000", slots, cores=2) is None  # env var decides


def test_host_slots_of_the_real_local_cluster(client):
    """The fixture's LocalCluster: 2 single-threaded workers on one host ⇒ 2 slots, so on
    this machine (cores ≤ 2 or more) each task gets cores // 2 kernel threads."""
    slots = host_slots(client)
    assert sum(slots.values()) == 2 and len(slots) == 1


def test_cli_rerun_of_a_sweep_session_reruns_the_sweep(toy_dir, tmp_path):
    """`rerun` of a sweep session reruns the same grid × seeds (sweep seed, fixed params)
    and compares summary and per-point table: MATCH, exit 0 — not one default run."""
    cli = [sys.executable, "-m", "matexplore.cli"]
    rec = tmp_path / "s.jsonl"
    p = subprocess.run([*cli, "sweep", "toy.walk", "--plugin-dir", str(toy_dir),
                        "--grid", "steps=2,3", "--set", "sleep=0", "--seeds", "2", "--seed",
                        "9", "--workers", "1", "--quiet", "--record", str(rec)],
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([*cli, "rerun", str(rec), "--plugin-dir", str(toy_dir), "--workers",
                        "1", "--quiet", "--json"], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(p.stdout)
    assert report["match"] and report["differences"] == []
    assert report["lines"][0].startswith("rerun of sweep of toy.walk (seed 9)")
    assert "4 tasks" in report["lines"][1]
    # tampering with one recorded mean must be seen as a difference
    lines = rec.read_text().splitlines()
    last = max(i for i, ln in enumerate(lines) if '"sweep":{"columns"' in ln)
    frame = json.loads(lines[last])
    frame["tables"]["sweep"]["rows"][0][3] += 1.0
    lines[last] = json.dumps(frame)
    rec.write_text("\n".join(lines) + "\n")
    p = subprocess.run([*cli, "rerun", str(rec), "--plugin-dir", str(toy_dir), "--workers",
                        "1", "--quiet"], capture_output=True, text=True, timeout=180)
    assert p.returncode == 1 and "DIFFER" in p.stdout and "sweep.rows[0]" in p.stdout


def test_rerun_of_an_unfinished_session_is_refused_at_once(toy_dir, tmp_path):
    from matexplore.rerun import rerun_session
    from matexplore.session import SessionError

    registry = load_registry([toy_dir], use_entry_points=False, use_env=False)
    run = Run(registry.get("toy.walk"), {"steps": 100000, "sleep": 0.01, "seed": 1},
              record=tmp_path / "c.jsonl").start()
    while (run.state.step or 0) < 3:
        time.sleep(0.01)
    run.cancel()
    run.wait(5)
    session = read_session(tmp_path / "c.jsonl")
    assert session.status == "cancelled"
    with pytest.raises(SessionError, match="was cancelled at step .*/100000: there is nothing "
                                           "complete to compare"):
        rerun_session(session, registry)


def test_failed_tasks_are_counted_with_the_first_reason(toy_dir, client):
    from matexplore.sweep import failed_tasks

    res = sweep_run(toy_dir, client, {"mode": ["ok", "fail"]}, seeds=2,
                    base={"steps": 5}).result()
    assert failed_tasks(res) == ("2 of 4 tasks failed "
                                 "(first: ZeroDivisionError: kernel blew up at step 3)")
    ok = sweep_run(toy_dir, client, {"steps": [2, 3]}, seeds=1).result()
    assert failed_tasks(ok) is None
