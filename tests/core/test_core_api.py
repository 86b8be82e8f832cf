"""The notebook API: mx.run / mx.load / mx.sweep equal the CLI's JSON for the same inputs."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser

import pytest

import matexplore as mx
from matexplore.params import ParamError
from matexplore.plugins import UnknownExperiment

MX = [sys.executable, "-m", "matexplore.cli"]


def cli_json(*args: str) -> dict:
    p = subprocess.run([*MX, *args], capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_import_stays_light():
    code = ("import sys, matexplore; print(sorted(m for m in ('matexplore.api', "
            "'matexplore.runner', 'distributed', 'matplotlib', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_run_equals_cli_run_json(toy_dir, tmp_path):
    res = mx.run("toy.walk", seed=9, steps=6, mode="ok", plugin_dirs=[toy_dir],
                 record=tmp_path / "a.jsonl")
    out = cli_json("run", "toy.walk", "--set", "steps=6", "--set", "seed=9", "--json",
                   "--plugin-dir", str(toy_dir))
    assert res.to_json() == out
    # string values parse as on the command line
    assert mx.run("toy.walk", seed="9", steps="6", plugin_dirs=[toy_dir]).to_json() == out
    assert (res.experiment, res.seed, res.status, res.error) == ("toy.walk", 9, "finished", None)
    assert res.params == {"steps": 6, "sleep": 0.0, "mode": "ok", "seed": 9}
    rows = out["tables"]["walk"]["rows"]
    assert res.tables["walk"] == [{"k": r[0], "x": r[1], "x2": r[2]} for r in rows]
    assert res.series["x"] == [r[1] for r in rows] and res.summary == out["summary"]
    assert res.path == tmp_path / "a.jsonl"
    # load(session) equals replay --headless --json of the same file
    loaded = mx.load(tmp_path / "a.jsonl")
    replay = cli_json("replay", str(tmp_path / "a.jsonl"), "--headless", "--json")
    assert loaded.to_json() == replay == out
    assert loaded.info["title"] == "Random walk" and loaded.tables == res.tables


def test_load_does_not_import_the_plugin(toy_dir, tmp_path):
    mx.run("toy.walk", seed=1, steps=3, plugin_dirs=[toy_dir], record=tmp_path / "s.jsonl")
    code = (f"import sys, matexplore as mx; r = mx.load({str(tmp_path / 's.jsonl')!r}); "
            "print(r.compare()[0]['label'], 'matexplore.runner' in sys.modules, "
            "any('toy' in m for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["x_k²", "False", "False"], out.stderr


def test_errors_are_the_cli_sentences(toy_dir, tmp_path):
    with pytest.raises(UnknownExperiment, match=r"Unknown experiment 'toy.wal' \(did you mean "):
        mx.run("toy.wal", plugin_dirs=[toy_dir])
    with pytest.raises(ParamError, match=r"Unknown parameter 'stpes' \(did you mean 'steps'\?\)"):
        mx.run("toy.walk", stpes=3, plugin_dirs=[toy_dir])
    with pytest.raises(ParamError, match=r"must be an integer in \[1, 100000\]; got 'abc'"):
        mx.run("toy.walk", steps="abc", plugin_dirs=[toy_dir])
    with pytest.raises(ParamError, match=r"must be an integer in \[1, 100000\]; got '0'"):
        mx.run("toy.walk", steps=0, plugin_dirs=[toy_dir])
    (tmp_path / "taken.jsonl").write_text("x")
    with pytest.raises(FileExistsError, match="already exists"):
        mx.run("toy.walk", record=tmp_path / "taken.jsonl", plugin_dirs=[toy_dir])
    with pytest.raises(ParamError, match="is both fixed and swept"):
        mx.sweep("toy.walk", {"steps": [1, 2]}, steps=3, plugin_dirs=[toy_dir])
    with pytest.raises(ParamError, match="did you mean 'steps'"):
        mx.sweep("toy.walk", {"stpes": [1, 2]}, plugin_dirs=[toy_dir])
    with pytest.raises(ParamError, match="non-empty list"):
        mx.sweep("toy.walk", {"steps": []}, plugin_dirs=[toy_dir])
    failed = mx.run("toy.walk", mode="fail", seed=1, plugin_dirs=[toy_dir])
    assert failed.status == "failed" and "kernel blew up at step 3" in failed.error


def test_compare_rows_are_the_summary_panel(toy_dir):
    res = mx.run("toy.walk", seed=4, steps=5, plugin_dirs=[toy_dir])
    rows = res.compare()
    s = res.summary
    assert rows[0]["kind"] == "compare" and rows[0]["label"] == "x_k²"
    assert rows[0]["theory"] == s["k"] == 5 and rows[0]["measured"] == s["x2"]
    assert rows[0]["error"] == pytest.approx(100 * (s["x2"] - 5) / 5)  # no SE: relative %
    assert [r["label"] for r in rows[1:]] == ["final"] and rows[1]["kind"] == "output"


def test_to_pandas_and_its_clear_error(toy_dir, monkeypatch):
    res = mx.run("toy.walk", seed=2, steps=4, plugin_dirs=[toy_dir])
    df = res.to_pandas("walk")
    assert list(df.columns) == ["k", "x", "x2"]
    assert df.to_dict("records") == res.tables["walk"]
    with pytest.raises(KeyError, match="No table 'nope' in this result; its tables: walk"):
        res.to_pandas("nope")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"needs pandas.*pip install 'matexplore\[pandas\]'"):
        res.to_pandas("walk")


def test_plot_draws_the_table(toy_dir):
    res = mx.run("toy.walk", seed=3, steps=5, plugin_dirs=[toy_dir])
    fig = res.plot()
    lines = {line.get_gid(): line for line in fig.axes[0].get_lines()}
    walk = res.tables["walk"]
    for col in ("k", "x2"):  # theory line k and the measured points x2, against k
        assert list(lines[col].get_xdata()) == [r["k"] for r in walk]
        assert list(lines[col].get_ydata()) == [r[col] for r in walk]
    assert "toy.walk · steps=5, sleep=0, mode=ok · seed 3" in {t.get_text() for t in fig.texts}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.cells.append(data)


def test_repr_html_escapes_and_marks(toy_dir):
    res = mx.run("toy.walk", seed=5, steps=3, plugin_dirs=[toy_dir])
    res.info["title"] = "<script>alert(1)</script> & co"
    page = res._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    parser = _Text()
    parser.feed(page)
    text = "".join(parser.cells)
    assert "<script>alert(1)</script> & co" in text and "status: finished" in text
    assert "seed: 5" in text and "walk (3 rows × 3 columns)" in text
    assert "table" in parser.tags and "x_k²" in parser.cells
    assert repr(res).startswith("Result('toy.walk', status='finished', seed=5")
    passing = mx.Result({**res.to_json(), "summary": {"k": 5, "x2": 5.0, "x2_se": 1.0}},
                        {"compare": [{"label": "q", "theory": "k", "measured": "x2",
                                      "se": "x2_se"}]})
    failing = mx.Result({**res.to_json(), "summary": {"k": 5, "x2": 9.5, "x2_se": 1.0}},
                        passing.info)
    assert "<td>✓</td>" in passing._repr_html_() and "<td>✗</td>" in failing._repr_html_()


def test_sweep_equals_cli_sweep_json(toy_dir):
    res = mx.sweep("toy.walk", {"steps": [2, 3]}, seeds=2, seed=3, workers=1,
                   plugin_dirs=[toy_dir], sleep=0.0)
    out = cli_json("sweep", "toy.walk", "--grid", "steps=2,3", "--set", "sleep=0", "--seeds",
                   "2", "--seed", "3", "--workers", "1", "--json", "--plugin-dir", str(toy_dir))
    mine = res.to_json()

    def comparable(result: dict) -> dict:
        """Drop what is not determined by (params, seeds): which worker ran a task, how
        long it took, and the per-worker table; order the tasks as they are numbered."""
        r = json.loads(json.dumps(result))
        tasks = r["tables"]["tasks"]
        keep = [i for i, c in enumerate(tasks["columns"]) if c not in ("worker", "elapsed")]
        tasks["rows"] = sorted([row[i] for i in keep] for row in tasks["rows"])
        tasks["columns"] = [tasks["columns"][i] for i in keep]
        r["tables"].pop("workers")
        return r

    assert comparable(mine) == comparable(out)
    assert mine["summary"] == {"tasks": 4, "finished": 4, "failed": 0}
    assert res.sweep["grid"] == {"steps": [2, 3]} and len(res.tables["sweep"]) == 2
    assert callable(mx.sweep) and mx.sweep.make_sweep  # the module is also the function
