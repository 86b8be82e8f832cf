"""Snapshot tests of the main screens at 80×24 (pytest-textual-snapshot): a layout change
fails CI until the new SVGs are reviewed and accepted with ``--snapshot-update``.

The screens use the five built-in plugins only (``MATEXPLORE_LOAD_PLUGINS``), a sessions
directory given by a relative path with fixed modification times, and a replay of a
shipped example session cut after a few frames (a run tab mid-run), so that nothing on
screen depends on the machine, the clock or other installed plugins.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from matexplore.plugins import load_registry
from matexplore.session import read_session
from matexplore.tui.app import MatexploreApp

BUILTINS = "kernel_maps,mlp_collapse,batchnorm_rank,lambda_balanced,dln_geometry"
EXAMPLES = Path(__file__).resolve().parents[2] / "sessions"
SIZE = (80, 24)
FIXED_TIME = 1_764_633_600  # 2025-12-02 00:00 UTC: the listed date of every session


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MATEXPLORE_LOAD_PLUGINS", BUILTINS)
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.chdir(tmp_path)
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    for i, path in enumerate(sorted(EXAMPLES.glob("example-*.jsonl"))):
        shutil.copy(path, sessions / path.name)
        os.utime(sessions / path.name, (FIXED_TIME + i, FIXED_TIME + i))
    return tmp_path


def _app(replay=None) -> MatexploreApp:
    registry = load_registry(use_env=False)
    return MatexploreApp(registry=registry, session_dirs=[Path("sessions")], replay=replay,
                         replay_speed=float("inf"))


def _cut_session(workdir: Path, frames: int) -> Path:
    """The mlp-collapse.norms example cut after ``frames`` frames (no end record)."""
    lines = (EXAMPLES / "example-mlp-collapse-norms.jsonl").read_text().splitlines()
    cut = workdir / "mid-run.jsonl"
    cut.write_text("\n".join(lines[: 1 + frames]) + "\n")
    return cut


def test_browser(workdir, snap_compare):
    assert snap_compare(_app(), terminal_size=SIZE)


def test_sessions(workdir, snap_compare):
    assert snap_compare(_app(), press=["f3", "_"], terminal_size=SIZE)


def test_help(workdir, snap_compare):
    assert snap_compare(_app(), press=["f1", "_"], terminal_size=SIZE)


def test_run_tab_mid_run_from_a_replayed_session(workdir, snap_compare):
    session = read_session(_cut_session(workdir, frames=3))
    assert snap_compare(_app(replay=session), press=["_", "_"], terminal_size=SIZE)
