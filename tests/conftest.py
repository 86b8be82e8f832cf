"""Shared fixtures: small plugins written to a temporary plugin directory.

They exercise the real plugin loading path (``--plugin-dir``), not mocks."""

from __future__ import annotations

from pathlib import Path

import pytest

TOY_PLUGIN = '''
"""A tiny but real plugin used by the core tests."""
import time

from matexplore import Experiment, ExperimentError, Float, Frame, Int, Table, hookimpl
from matexplore import Compare, Plot, Choice


class Walk(Experiment):
    """Gaussian random walk x_k = Σ_{i≤k} g_i: theory E x_k² = k vs the sample."""
    id = "toy.walk"
    title = "Random walk"
    description = "x_k = Σ g_i with g_i ~ N(0, 1); E[x_k²] = k."
    params = {"steps": Int(10, ge=1, le=100000, help="number of steps"),
              "sleep": Float(0.0, ge=0, le=1, help="seconds to sleep per step"),
              "mode": Choice(["ok", "fail", "bad-input"], default="ok")}
    plot = Plot(table="walk", x="k", y=("k", "x2"))
    compare = (Compare("x_k²", theory="k", measured="x2"),)

    def run(self, p, ctx):
        if p.mode == "bad-input":
            raise ExperimentError("steps must be even for this mode.")
        x = 0.0
        for k in range(1, p.steps + 1):
            if ctx.cancelled:
                return
            if p.mode == "fail" and k == 3:
                raise ZeroDivisionError("kernel blew up at step 3")
            x += float(ctx.rng.standard_normal())
            if p.sleep:
                time.sleep(p.sleep)
            yield Frame(step=k, total=p.steps,
                        tables={"walk": Table(["k", "x", "x2"], [[k, x, x * x]])},
                        series={"x": [x]}, summary={"k": k, "x2": x * x, "final": x})


@hookimpl
def matexplore_experiments():
    return [Walk]
'''


CRASHY_PLUGIN = '''
"""Experiments that misbehave in every way a process can (the crash-isolation tests)."""
import ctypes
import os

from matexplore import Choice, Experiment, Frame, hookimpl


class Crash(Experiment):
    """Yields two frames, then misbehaves as ``how`` says."""
    id = "crashy.crash"
    title = "Crash"
    params = {"how": Choice(["exit", "segfault", "loop", "allocate", "raise"], default="exit")}

    def run(self, p, ctx):
        yield Frame(step=1, total=3, summary={"x": 1.0})
        yield Frame(step=2, total=3, summary={"x": 2.0})
        if p.how == "exit":
            os._exit(3)
        if p.how == "segfault":
            ctypes.string_at(0)
        if p.how == "loop":  # never yields, never looks at ctx.cancelled
            while True:
                pass
        if p.how == "allocate":
            hoard = []
            while True:
                hoard.append(bytearray(64 * 2**20))
        raise KeyError("boom")


@hookimpl
def matexplore_experiments():
    return [Crash]
'''


@pytest.fixture
def toy_dir(tmp_path: Path) -> Path:
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "toy.py").write_text(TOY_PLUGIN)
    return d


@pytest.fixture
def crashy_dir(toy_dir: Path) -> Path:
    """The toy plugin directory with the misbehaving ``crashy`` plugin added."""
    (toy_dir / "crashy.py").write_text(CRASHY_PLUGIN)
    return toy_dir


TYPO_PLUGIN = '''
"""An experiment whose plot names a column it never yields (a warning, not an error)."""
from matexplore import Compare, Experiment, Frame, Plot, Table, hookimpl


class Typo(Experiment):
    id = "typo.x"
    title = "plot names a column it never yields"
    plot = Plot(table="t", x="k", y=("thoery",))
    compare = (Compare("k", theory="k", measured="k"),)

    def run(self, p, ctx):
        yield Frame(tables={"t": Table(["k", "theory"], [[1, 1.0]])}, summary={"k": 1})


@hookimpl
def matexplore_experiments():
    return [Typo]
'''


@pytest.fixture
def typo_dir(tmp_path: Path) -> Path:
    d = tmp_path / "typo_plugins"
    d.mkdir()
    (d / "typo.py").write_text(TYPO_PLUGIN)
    return d
