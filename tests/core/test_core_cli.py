"""The command line, as a user runs it: subprocesses, exit codes, one-sentence errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from matexplore.session import read_session

MX = [sys.executable, "-m", "matexplore.cli"]


def mx(*args, toy_dir=None, check=False):
    extra = ["--plugin-dir", str(toy_dir)] if toy_dir else []
    return subprocess.run([*MX, *args, *extra], capture_output=True, text=True, check=check,
                          timeout=120)


def test_run_json_contract(toy_dir):
    p = mx("run", "toy.walk", "--set", "steps=4", "--set", "seed=9", "--json", toy_dir=toy_dir)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert set(out) == {"experiment", "params", "seed", "status", "error", "summary", "tables",
                        "series"}
    assert out["params"] == {"steps": 4, "sleep": 0.0, "mode": "ok", "seed": 9}
    assert p.stderr == ""  # not a terminal: no progress noise


@pytest.mark.parametrize("args, needle", [
    (["--set", "steps=abc"], "Parameter 'steps' must be an integer in [1, 100000]; got 'abc'."),
    (["--set", "steps=-3"], "Parameter 'steps' must be an integer in [1, 100000]; got '-3'."),
    (["--set", "stpes=3"], "Unknown parameter 'stpes' (did you mean 'steps'?)"),
    (["--set", "steps"], "--set expects NAME=VALUE; got 'steps'."),
])
def test_bad_parameters_exit_2_with_one_sentence(toy_dir, args, needle):
    p = mx("run", "toy.walk", *args, toy_dir=toy_dir)
    assert p.returncode == 2 and needle in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_unknown_experiment_suggests(toy_dir):
    p = mx("run", "toy.wlk", toy_dir=toy_dir)
    assert p.returncode == 2 and "did you mean 'toy.walk'" in p.stderr


def test_failed_run_exit_1_without_traceback_unless_debug(toy_dir, tmp_path):
    p = mx("run", "toy.walk", "--set", "mode=fail", "--json", "--record", str(tmp_path / "f.jsonl"),
           toy_dir=toy_dir)
    assert p.returncode == 1
    assert json.loads(p.stdout)["error"] == "ZeroDivisionError: kernel blew up at step 3"
    assert "Traceback" not in p.stderr
    assert read_session(tmp_path / "f.jsonl").status == "failed"
    p = mx("run", "toy.walk", "--set", "mode=fail", "--debug", toy_dir=toy_dir)
    assert "Traceback" in p.stderr


def test_record_replay_rerun(toy_dir, tmp_path):
    s = tmp_path / "x.jsonl"
    run = mx("run", "toy.walk", "--set", "steps=6", "--json", "--record", str(s), toy_dir=toy_dir)
    # replay needs no plugin code: no --plugin-dir here
    rep = mx("replay", str(s), "--headless", "--json")
    assert rep.returncode == 0 and json.loads(rep.stdout) == json.loads(run.stdout)
    rr = mx("rerun", str(s), toy_dir=toy_dir)
    assert rr.returncode == 0 and "MATCH" in rr.stdout
    # a tampered number is detected
    lines = s.read_text().splitlines()
    frame = json.loads(lines[-2])  # the last frame: its summary is final
    frame["summary"]["final"] += 1e-12
    lines[-2] = json.dumps(frame)
    s.write_text("\n".join(lines) + "\n")
    rr = mx("rerun", str(s), "--json", toy_dir=toy_dir)
    rep = json.loads(rr.stdout)
    assert rr.returncode == 1 and not rep["match"]
    assert any(d.startswith("summary.final") for d in rep["differences"])


def test_corrupt_session_is_one_sentence(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\x00\xff garbage")
    p = mx("replay", str(bad), "--headless")
    assert p.returncode == 2 and "Traceback" not in p.stderr and "bad.jsonl" in p.stderr


def _start_slow(toy_dir, path):
    return subprocess.Popen([*MX, "run", "toy.walk", "--set", "steps=100000", "--set", "sleep=0.01",
                             "--json", "--record", str(path), "--plugin-dir", str(toy_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_frames(path, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and path.read_text().count("\n") >= 3:
            return
        time.sleep(0.05)
    raise AssertionError("no frames written")


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 130)])
def test_ctrl_c_and_sigterm_cancel_cleanly(toy_dir, tmp_path, sig, code):
    path = tmp_path / "c.jsonl"
    proc = _start_slow(toy_dir, path)
    _wait_for_frames(path)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == code, err
    assert json.loads(out)["status"] == "cancelled"
    assert read_session(path).status == "cancelled"


def test_killed_process_leaves_a_readable_interrupted_session(toy_dir, tmp_path):
    path = tmp_path / "k.jsonl"
    proc = _start_slow(toy_dir, path)
    _wait_for_frames(path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    s = read_session(path)
    assert s.status == "interrupted" and len(s.frames) >= 2
    p = mx("replay", str(path), "--headless", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["status"] == "interrupted"


def test_list_and_describe(toy_dir):
    listing = json.loads(mx("list", "--json", toy_dir=toy_dir, check=True).stdout)
    toy = next(p for p in listing["plugins"] if p["name"] == "toy")
    assert toy["error"] is None and toy["experiments"] == [{"id": "toy.walk", "title": "Random walk"}]
    d = mx("describe", "toy.walk", toy_dir=toy_dir, check=True).stdout
    assert "steps" in d and "[1, 100000]" in d and "seed" in d
