"""rerun: exact comparison, and one sentence when the experiment's version changed."""

from __future__ import annotations

import json

from matexplore import Experiment, Frame, Int
from matexplore.plugins import ExperimentEntry, PluginInfo
from matexplore.rerun import compare_results, recorded_version
from matexplore.runner import Run
from matexplore.session import read_session


class Draws(Experiment):
    id = "rerun.draws"
    title = "Random draws"
    params = {"n": Int(3, ge=1, le=10, help="draws")}

    def run(self, p, ctx):
        yield Frame(summary={"x": float(ctx.rng.standard_normal(p.n).sum())})


class DrawsV2(Draws):
    version = "2"

    def run(self, p, ctx):
        yield Frame(summary={"x": float(ctx.rng.standard_normal(p.n + 1).sum())})


def _record(tmp_path, exp):
    path = tmp_path / "s.jsonl"
    Run(ExperimentEntry(exp(), PluginInfo("t", "0", "t")), {"seed": 4}, record=path).execute()
    return path


def _rerun(session, exp):
    run = Run(ExperimentEntry(exp(), PluginInfo("t", "0", "t")), {"seed": 4}).execute()
    return compare_results(session, run.result(), str(exp.version))


def test_header_records_the_version_and_the_same_version_matches(tmp_path):
    session = read_session(_record(tmp_path, Draws))
    assert session.header["experiment_version"] == "1"
    report = _rerun(session, Draws)
    assert report["match"] and report["lines"][1].startswith("MATCH")


def test_a_new_version_is_named_in_one_sentence(tmp_path):
    session = read_session(_record(tmp_path, Draws))
    report = _rerun(session, DrawsV2)
    assert not report["match"] and report["version_changed"]
    assert report["lines"][1] == (
        "DIFFER, as expected: rerun.draws is now version 2 (the session was recorded with "
        "version 1), and a new version is declared to change the numbers for the same "
        "params and seed.")


def test_sessions_without_a_recorded_version_are_version_1(tmp_path):
    path = _record(tmp_path, Draws)
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    del header["experiment_version"], header["info"]["version"]
    path.write_text("\n".join([json.dumps(header)] + lines[1:]) + "\n")
    session = read_session(path)
    assert recorded_version(session) == "1"
    assert _rerun(session, DrawsV2)["version_changed"]
    plain = _rerun(session, Draws)
    assert plain["match"] and not plain["version_changed"]


class DrawsChangedSilently(Draws):
    def run(self, p, ctx):  # same version "1", different numbers
        yield Frame(summary={"x": 0.0})


def test_different_numbers_with_the_same_version_are_a_plain_differ(tmp_path):
    session = read_session(_record(tmp_path, Draws))
    report = _rerun(session, DrawsChangedSilently)
    assert not report["match"] and not report["version_changed"]
    assert report["lines"][1] == "DIFFER: 1 difference(s) (first ones below)"
    assert report["lines"][2].startswith("  summary.x: recorded ")
