"""Figures: the plotted data are the session's table; the files are real SVG/PNG/PDF."""

from __future__ import annotations

import math
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from matexplore.figures import FigureError, figure_for, save_figure
from matexplore.plugins import load_registry
from matexplore.runner import Run
from matexplore.session import Recording, read_session
from matexplore.sweep import SweepSpec, aggregate

FIG_PLUGIN = '''
"""Decay of a sample mean: theory 1/n on log-log axes, Monte-Carlo with its SE."""
import math

from matexplore import Experiment, Frame, Int, Plot, Table, hookimpl


class Decay(Experiment):
    id = "fig.decay"
    title = "Variance of a sample mean"
    params = {"points": Int(6, ge=1, le=20)}
    plot = Plot(table="decay", x="n", y=("var_theory", "var_mc", "sq_mc"), logx=True,
                logy=True, se={"var_mc": "var_err"}, title="Var of the mean vs n")

    def run(self, p, ctx):
        rows = []
        for i in range(p.points):
            n = 2 ** i
            means = ctx.rng.standard_normal((200, n)).mean(axis=1)
            var = float(means.var(ddof=1))
            err = var * math.sqrt(2 / 199)
            sq = float((means ** 2).mean())
            sq_se = float((means ** 2).std(ddof=1) / math.sqrt(200))
            rows.append([n, 1 / n, var, err, sq if i else -1.0, sq_se])
        yield Frame(tables={"decay": Table(["n", "var_theory", "var_mc", "var_err",
                                            "sq_mc", "sq_mc_se"], rows)},
                    summary={"points": p.points, "last": rows[-1][2]})


@hookimpl
def matexplore_experiments():
    return [Decay]
'''


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    d = tmp_path_factory.mktemp("figplug")
    (d / "fig.py").write_text(FIG_PLUGIN)
    entry = load_registry([d]).get("fig.decay")
    path = d / "decay.jsonl"
    Run(entry, {"points": 6, "seed": 3}, record=Recording(path=path)).execute()
    return read_session(path)


def _column(result, name):
    t = result["tables"]["decay"]
    i = t["columns"].index(name)
    return [r[i] for r in t["rows"]]


def _line(fig, gid):
    return next(line for line in fig.axes[0].get_lines() if line.get_gid() == gid)


def test_plotted_data_equal_the_table(session):
    result = session.result()
    fig = figure_for(result, session.info)
    ax = fig.axes[0]
    n = _column(result, "n")
    theory = _line(fig, "var_theory")
    assert list(theory.get_xdata()) == n and list(theory.get_ydata()) == _column(result,
                                                                                "var_theory")
    assert theory.get_linestyle() == "-" and theory.get_marker() in ("None", "", None)
    mc = _line(fig, "var_mc")
    assert list(mc.get_ydata()) == _column(result, "var_mc")
    assert mc.get_linestyle() == "None" and mc.get_marker() == "o"
    # the error bars are ±var_err (named in Plot.se) around each point
    bars = next(c for c in ax.containers if c.get_label() == "var_mc")
    segments = bars.lines[2][0].get_segments()
    for (x0, lo), (x1, hi), v, e in zip(*zip(*segments), _column(result, "var_mc"),
                                        _column(result, "var_err")):
        assert math.isclose(lo, v - e) and math.isclose(hi, v + e)
    # sq_mc: its SE column is found by name; the non-positive first value is left out of
    # the log axis
    sq = _line(fig, "sq_mc")
    assert list(sq.get_ydata()) == _column(result, "sq_mc")[1:]
    assert list(sq.get_xdata()) == n[1:]
    sq_bars = next(c for c in ax.containers if c.get_label() == "sq_mc")
    half = [(hi - lo) / 2 for (_, lo), (_, hi) in sq_bars.lines[2][0].get_segments()]
    assert all(math.isclose(h, s) for h, s in zip(half, _column(result, "sq_mc_se")[1:]))
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "n"
    assert fig.get_suptitle() == "Var of the mean vs n"
    caption = fig.texts[-1].get_text()
    assert "fig.decay" in caption and "points=6" in caption and "seed 3" in caption


def test_other_columns_by_choice(session):
    result = session.result()
    fig = figure_for(result, session.info, x="n", y="var_mc")
    assert [line.get_gid() for line in fig.axes[0].get_lines() if line.get_gid()] == ["var_mc"]
    assert fig.axes[0].get_ylabel() == "var_mc"
    with pytest.raises(FigureError, match="no table 'nope'.*decay"):
        figure_for(result, session.info, table="nope")
    with pytest.raises(FigureError, match="has no column 'zz'; its columns are: n, "):
        figure_for(result, session.info, y=["zz"])


def test_files_are_svg_png_pdf(session, tmp_path):
    fig = figure_for(session.result(), session.info)
    svg = save_figure(fig, tmp_path / "a.svg")
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    ids = {el.get("id") for el in root.iter()}
    assert {"var_theory", "var_mc", "sq_mc"} <= ids  # each plotted column is in the file
    png = save_figure(fig, tmp_path / "a.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (960, 630)  # 6.4 × 4.2 in at 150 dpi
    assert save_figure(fig, tmp_path / "a.PDF").read_bytes()[:5] == b"%PDF-"
    with pytest.raises(FigureError, match=r"must end in \.svg, \.png or \.pdf"):
        save_figure(fig, tmp_path / "a.jpg")


def test_no_plot_declared_asks_for_a_table():
    result = {"experiment": "x.y", "tables": {"t": {"columns": ["a", "b"], "rows": [[1, 2]]}}}
    with pytest.raises(FigureError, match="declares no plot.*--table \\(one of: t\\)"):
        figure_for(result, {"plot": None})
    fig = figure_for(result, {"plot": None}, table="t")  # x: first column, y: the rest
    assert list(_line(fig, "b").get_xdata()) == [1] and fig.axes[0].get_xlabel() == "a"


def test_sweep_plots_each_key_against_the_swept_parameter():
    spec = SweepSpec("toy.walk", {"steps": [3, 7]}, {}, 3, 11)
    tasks = [{"point": i, "seed_index": j, "status": "finished",
              "summary": {"x2": float(3 + 4 * i + j), "k": 3 + 4 * i}}
             for i in range(2) for j in range(3)]
    table = aggregate(spec, tasks, {"x2": "k"})
    result = {"experiment": "toy.walk", "params": {"seed": 11}, "seed": 11,
              "status": "finished", "sweep": spec.to_json(),
              "tables": {"sweep": {"columns": list(table.columns),
                                   "rows": [list(r) for r in table.rows]}}}
    fig = figure_for(result, {"title": "Sweep"})
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["x2", "k"]
    x2 = panels[0]
    assert list(_line_in(x2, "x2_mean").get_ydata()) == [4.0, 8.0]  # means over 3 seeds
    assert list(_line_in(x2, "x2_theory").get_ydata()) == [3.0, 7.0]
    assert list(_line_in(x2, "x2_mean").get_xdata()) == [3, 7]
    bars = next(c for c in x2.containers if c.get_label() == "x2_mean")
    half = [(hi - lo) / 2 for (_, lo), (_, hi) in bars.lines[2][0].get_segments()]
    assert all(math.isclose(h, 1 / math.sqrt(3)) for h in half)  # SE of (a, a+1, a+2)
    assert x2.get_xlabel() == "steps"
    assert "3 seeds per point, sweep seed 11" in fig.texts[-1].get_text()


def _line_in(ax, gid):
    return next(line for line in ax.get_lines() if line.get_gid() == gid)


def test_matplotlib_is_not_imported_at_start_up():
    code = ("import sys, contextlib, io\n"
            "from matexplore.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['list'])\n"
            "import matexplore.tui.app\n"
            "print('matplotlib' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
