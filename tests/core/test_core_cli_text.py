"""The CLI's text output and `matexplore plot`, run as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

MX = [sys.executable, "-m", "matexplore.cli"]
MISH = ["example.mish-moments", "--set", "chunks=3", "--set", "chunk_size=2000",
        "--set", "seed=7"]


# The example plugin's package, loaded from its source directory: these tests must not
# depend on it being pip-installed (CI installs it only after the suite). Where it is
# installed too, the entry point provides the experiment and the copy is reported as a
# duplicate — either way `example.mish-moments` is there.
EXAMPLE_SRC = Path(__file__).resolve().parents[2] / "examples" / "plugin-template" / "src"
# Loaded from a plugin directory, its modules are named matexplore_local.*; numba's on-disk
# cache (keyed by source file) would then hand that module name to the normal import of the
# package in later tests. A private cache directory keeps the two apart.
NUMBA_CACHE = tempfile.mkdtemp(prefix="matexplore-test-numba-")


def mx(*args, cwd=None):
    """``matexplore ARGS`` with a 120-column console, so rich tables never wrap."""
    path = os.pathsep.join(p for p in (str(EXAMPLE_SRC), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "COLUMNS": "120", "MATEXPLORE_PLUGIN_PATH": str(EXAMPLE_SRC),
           "PYTHONPATH": path, "NUMBA_CACHE_DIR": NUMBA_CACHE}  # the package imports its own modules absolutely
    return subprocess.run([*MX, *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env=env)


@pytest.fixture(scope="module")
def mish(tmp_path_factory):
    """A recorded run of the example plugin's experiment, its text and its JSON."""
    d = tmp_path_factory.mktemp("mish")
    text = mx("run", *MISH, "--record", str(d / "m.jsonl"), "--quiet")
    assert text.returncode == 0, text.stderr
    data = mx("replay", str(d / "m.jsonl"), "--headless", "--json")
    return d / "m.jsonl", text.stdout, json.loads(data.stdout)


def _row(text, label):
    line = next(ln for ln in text.splitlines() if ln.startswith(f"│ {label} "))
    return [c.strip() for c in line.strip("│").split("│")]


def test_run_text_shows_compare_rows_first_then_outputs(mish):
    _, text, result = mish
    s = result["summary"]
    lines = text.splitlines()
    assert lines[0].startswith("example.mish-moments  status: finished  seed: 7")
    header = next(ln for ln in lines if "quantity" in ln)
    assert [h.strip() for h in header.strip("┃").split("┃")] == [
        "quantity", "theory", "measured", "error", ""]
    for label, key in (("E f(g)²", "m2"), ("E f(g)", "m1")):
        quantity, theory, measured, error, ok = _row(text, label)
        assert theory == f"{s[key + '_theory']:.6g}"
        assert measured == f"{s[key + '_mc']:.6g} ± {s[key + '_se']:.2g}"
        z = (s[key + "_mc"] - s[key + "_theory"]) / s[key + "_se"]
        assert error == f"{'−' if z < 0 else '+'}{abs(z):.1f} SE"
        assert ok == ("✓" if abs(z) <= 4 else "✗")
    # the compared keys are not repeated below; the other outputs come after the table
    assert text.index("E f(g)²") < text.index("other outputs") < text.index("m2_z")
    assert "│ m2_mc " not in text and "│ m1_se " not in text
    assert "table moments: 3 rows × 7 columns" in text


def test_replay_headless_and_rerun_print_the_same_rows(mish):
    path, text, _ = mish
    replay = mx("replay", str(path), "--headless")
    assert replay.returncode == 0 and replay.stdout == text
    rerun = mx("rerun", str(path), "--quiet")
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.startswith(text) and "MATCH" in rerun.stdout


def test_plot_writes_next_to_the_session_and_refuses_bad_requests(mish, tmp_path):
    path, _, result = mish
    p = mx("plot", str(path))
    svg = path.with_suffix(".svg")
    assert p.returncode == 0 and p.stdout.strip() == f"figure written to {svg}"
    ids = {el.get("id") for el in ET.parse(svg).getroot().iter()}
    assert {"m2_theory", "m2_mc"} <= ids
    png = tmp_path / "m.png"
    assert mx("plot", str(path), "-o", str(png)).returncode == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (960, 630)
    pdf = tmp_path / "m1.pdf"
    p = mx("plot", str(path), "-o", str(pdf), "--x", "samples", "--y", "m1_theory",
           "--y", "m1_mc")
    assert p.returncode == 0 and pdf.read_bytes()[:5] == b"%PDF-"
    for args, needle in ((["-o", str(tmp_path / "m.jpg")], "must end in .svg, .png or .pdf"),
                         (["--table", "nope"], "There is no table 'nope'"),
                         (["--y", "zz"], "has no column 'zz'; its columns are: samples")):
        p = mx("plot", str(path), *args)
        assert p.returncode == 2 and p.stderr.count("\n") == 1 and needle in p.stderr
        assert "Traceback" not in p.stderr


CHECK_PLUGIN = '''
from matexplore import Check, Compare, Experiment, Frame, hookimpl


class Bounds(Experiment):
    id = "chk.bounds"
    title = "a bound that holds, one that fails, a source formula"
    compare = (Compare("E X", theory="x_exact", measured="x_mc", source="x_source",
                       tol=0.01),)
    checks = (Check("bound A", holds="a_holds", detail="worst", detail_label="worst ratio"),
              Check("bound B", holds="b_holds"))

    def run(self, p, ctx):
        yield Frame(summary={"x_exact": 2.0, "x_mc": 2.001, "x_source": 3.0, "a_holds": 0,
                             "worst": 55.4, "b_holds": 1, "spread_source": 0.5})


@hookimpl
def matexplore_experiments():
    return [Bounds]
'''


def test_checks_are_sentences_and_the_source_has_its_column(tmp_path):
    (tmp_path / "chk.py").write_text(CHECK_PLUGIN)
    p = mx("run", "chk.bounds", "--plugin-dir", str(tmp_path), "--quiet")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    header = next(ln for ln in lines if "quantity" in ln)
    assert [h.strip() for h in header.strip("┃").split("┃")] == [
        "quantity", "theory", "source says", "measured", "error", ""]
    # |2.001 − 2| ≤ 0.01·2 agrees; the source's 3 does not
    assert _row(p.stdout, "E X") == ["E X", "2", "3 ✗", "2.001", "+0.05 %", "✓"]
    checks = [ln for ln in lines if ln.endswith(("holds", ")"))]
    assert checks == ["✗ bound A violated (worst ratio 55.4)", "✓ bound B holds"]
    assert lines.index(checks[0]) > lines.index(header)
    assert _row(p.stdout, "spread_source (source says)")[1] == "0.5"
