"""A tiny, fast, deterministic plugin for the TUI tests (written to a temporary plugin dir).

``tuitest.walk`` is a Gaussian random walk: theory E[x_k²] = k beside the sample x_k²,
with a plot, a compare row, a table, a series, every param kind, an optional per-step
sleep (to test cancel) and a failure mode. ``broken.py`` fails on import on purpose.
"""

from __future__ import annotations

from pathlib import Path

WALK = '''
import time

from matexplore import (Bool, Choice, Compare, Experiment, Float, Frame, Int, IntList, Plot,
                        Table, hookimpl)


class Walk(Experiment):
    id = "tuitest.walk"
    title = "Random walk"
    description = "x_k = Σ_{i≤k} g_i with g_i ~ N(0, 1); theory E[x_k²] = k."
    params = {"steps": Int(20, ge=1, le=100000, help="number of steps"),
              "sleep": Float(0.0, ge=0, le=1, help="seconds to sleep per step"),
              "mode": Choice(["ok", "fail"], default="ok", help="fail raises at step 3"),
              "squared": Bool(True, help="also record x²"),
              "marks": IntList([1, 2], min_len=0, ge=0, help="steps to mark")}
    plot = Plot(table="walk", x="k", y=("k", "x2"), title="E x_k² = k")
    compare = (Compare("x_k²", theory="k", measured="x2"),)

    def run(self, p, ctx):
        yield Frame(message="warming up")
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
                        tables={"walk": Table(["k", "x", "x2", "marked"],
                                              [[k, x, x * x, int(k in p.marks)]])},
                        series={"x": [x]}, summary={"k": k, "x2": x * x, "final": x},
                        message=f"step {k}")


@hookimpl
def matexplore_experiments():
    return [Walk]
'''

BROKEN = '''
import this_module_does_not_exist_anywhere
'''


def write_plugins(directory: Path) -> Path:
    """Write the test plugins into ``directory`` and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tuitest.py").write_text(WALK, encoding="utf-8")
    (directory / "broken.py").write_text(BROKEN, encoding="utf-8")
    return directory
