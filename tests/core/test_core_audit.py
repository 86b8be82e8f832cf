"""`matexplore audit` as a user runs it: JSON, exit codes, sessions, reports."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from matexplore.audit import outcome_from_session
from matexplore.plugins import load_registry
from matexplore.session import read_session

MX = [sys.executable, "-m", "matexplore.cli"]

CLAIMS = '''
from matexplore import AllHold, Claim, ErrorBelow, hookimpl

SRC = dict(source="toy-paper", source_title="A toy paper", location="Eq. 1")

@hookimpl
def matexplore_claims():
    return [
        Claim(id="toy.steps", **SRC, statement="the walk takes 3 steps",
              experiment="toy.walk", params={"steps": 3}, seed=4, rule=AllHold("k", expect=3)),
        Claim(id="toy.small", **SRC, statement="|x_5| < 1e-9", experiment="toy.walk",
              params={"steps": 5}, seed=4, rule=ErrorBelow("final", 1e-9),
              corrected="|x_5| is of order √5"),
        Claim(id="toy.broken", source="other-paper", source_title="Other", location="Eq. 2",
              statement="runs", experiment="toy.walk", params={"mode": "fail"},
              rule=AllHold("k")),
    ]
'''


@pytest.fixture
def claims_dir(toy_dir):
    (toy_dir / "toyclaims.py").write_text(CLAIMS)
    return toy_dir


def mx(*args, plugin_dir):
    env_free = [*MX, *args, "--plugin-dir", str(plugin_dir)]
    return subprocess.run(env_free, capture_output=True, text=True, timeout=120,
                          env={"MATEXPLORE_LOAD_PLUGINS": "toy,toyclaims",
                               **{k: v for k, v in __import__("os").environ.items()
                                  if k != "MATEXPLORE_LOAD_PLUGINS"}})


def test_audit_json_sessions_and_replay(claims_dir, tmp_path):
    rec = tmp_path / "rec"
    p = mx("audit", "--source", "toy-paper", "--json", "--record-dir", str(rec),
           plugin_dir=claims_dir)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    by_id = {c["id"]: c for c in out["claims"]}
    assert list(by_id) == ["toy.steps", "toy.small"]
    assert by_id["toy.steps"]["verdict"] == "holds" and by_id["toy.steps"]["measured"] == 3
    assert by_id["toy.small"]["verdict"] == "fails"
    assert "[2/2]" in p.stderr
    reg = load_registry([claims_dir], use_entry_points=False, use_env=False)
    for cid, c in by_id.items():
        session = read_session(rec / f"{cid}.jsonl")
        assert session.status == "finished" and session.header["seed"] == 4
        # the verdict recomputed from the recorded session equals the live one
        again = outcome_from_session(reg.claims[cid], rec / f"{cid}.jsonl")
        assert again.verdict.to_json() == {k: c[k] for k in again.verdict.to_json()}
        replay = mx("replay", str(rec / f"{cid}.jsonl"), "--headless", "--json", plugin_dir=claims_dir)
        assert json.loads(replay.stdout)["summary"] == session.result()["summary"]


def test_audit_exit_1_only_when_a_claim_cannot_run(claims_dir, tmp_path):
    p = mx("audit", "--claim", "toy.broken", "toy.steps", "--record-dir", str(tmp_path),
           plugin_dir=claims_dir)
    assert p.returncode == 1
    assert "claim toy.broken could not be run: ZeroDivisionError" in p.stderr
    assert "toy.steps" in p.stdout and "inconclusive" in p.stdout


def test_unknown_claim_or_source_is_one_sentence(claims_dir):
    p = mx("audit", "--claim", "toy.stpes", plugin_dir=claims_dir)
    assert p.returncode == 2 and "Unknown claim 'toy.stpes' (did you mean 'toy.steps'?)" \
        in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = mx("audit", "--source", "toy", plugin_dir=claims_dir)
    assert p.returncode == 2 and "Unknown source 'toy'" in p.stderr
    p = mx("audit", "--report", "out.pdf", plugin_dir=claims_dir)
    assert p.returncode == 2 and "--report must name a .md or .html file" in p.stderr


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_reports_are_self_contained(claims_dir, tmp_path):
    html_path, md_path = tmp_path / "r.html", tmp_path / "r.md"
    for path in (html_path, md_path):
        p = mx("audit", "--source", "toy-paper", "--report", str(path), "--quiet",
               "--record-dir", str(tmp_path / path.stem), plugin_dir=claims_dir)
        assert p.returncode == 0, p.stderr
    text = html_path.read_text()
    root = ET.fromstring(text.split("\n", 1)[1])  # well-formed XHTML after the doctype
    svgs = root.findall(".//{http://www.w3.org/2000/svg}svg")
    assert len(svgs) == 2 and svgs[0].findall(".//{http://www.w3.org/2000/svg}path")
    parser = _Collect()
    parser.feed(text)
    assert parser.tags.count("section") == 2
    assert "|x_5| is of order √5" in text and "matexplore run toy.walk" in text
    md = md_path.read_text()
    assert "| toy.small |" in md and "![toy.steps](r-figures/toy.steps.svg)" in md
    fig = tmp_path / "r-figures" / "toy.steps.svg"
    assert ET.parse(fig).getroot().tag == "{http://www.w3.org/2000/svg}svg"


def test_audit_on_a_dask_cluster_matches_the_local_audit(claims_dir, tmp_path):
    import logging

    from distributed import LocalCluster

    from matexplore.audit import run_audit

    reg = load_registry([claims_dir], use_entry_points=False, use_env=False)
    claims = [reg.claims["toy.steps"], reg.claims["toy.small"]]
    local = {o.claim.id: o for o in run_audit(reg, claims, tmp_path / "local")}
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        remote = {o.claim.id: o for o in run_audit(reg, claims, tmp_path / "dask",
                                                   scheduler=cluster.scheduler_address)}
    for cid, o in remote.items():
        assert o.verdict == local[cid].verdict
        assert o.result["summary"] == local[cid].result["summary"]
        assert read_session(tmp_path / "dask" / f"{cid}.jsonl").result() == o.result


def test_ctrl_c_cancels_the_audit_and_finalises_its_sessions(claims_dir, tmp_path):
    import os
    import signal
    import time

    slow = CLAIMS.replace('params={"steps": 3}', 'params={"steps": 3, "sleep": 0.5}')
    (claims_dir / "toyclaims.py").write_text(slow)
    env = {**os.environ, "MATEXPLORE_LOAD_PLUGINS": "toy,toyclaims"}
    proc = subprocess.Popen([*MX, "audit", "--claim", "toy.steps", "--record-dir",
                             str(tmp_path), "--plugin-dir", str(claims_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    path = tmp_path / "toy.steps.jsonl"
    end = time.monotonic() + 60
    while not (path.exists() and path.read_text().count("\n") >= 2):
        assert time.monotonic() < end and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert read_session(path).status == "cancelled"
