"""Plugin errors say enough to fix them (issue 13.6): a forgotten @hookimpl, the reason a
plugin is broken when one of its experiments is run, file:line of import errors, numba's
offending expression, a hook returning a class; a broken plugin registers nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from matexplore.plugins import BrokenPlugin, UnknownExperiment, load_registry

MX = [sys.executable, "-m", "matexplore.cli"]


def write(directory, name, source):
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


def load(d):
    return load_registry([d], use_entry_points=False, use_env=False)


GOOD_EXP = """
    from matexplore import Activation, Experiment, Frame, hookimpl

    class E(Experiment):
        id = "{id}"
        title = "x"
        def run(self, p, ctx):
            yield Frame(summary={{"ok": 1}})
"""


def test_hook_without_hookimpl_warns(tmp_path):
    write(tmp_path, "forgot", GOOD_EXP.format(id="forgot.x") + """
    def matexplore_experiments():
        return [E]
    """)
    reg = load(tmp_path)
    info = reg.plugin("forgot")
    assert info.error is None and info.experiments == []
    assert info.warnings == ["matexplore_experiments is not marked with @hookimpl and is "
                             "ignored; did you forget @hookimpl?"]
    p = subprocess.run([*MX, "list", "--plugin-dir", str(tmp_path)], capture_output=True,
                       text=True, timeout=120)
    assert "did you forget @hookimpl?" in p.stdout


def test_running_an_experiment_of_a_broken_plugin_names_the_plugin(tmp_path):
    write(tmp_path, "half", GOOD_EXP.format(id="half.good") + """
    class Bad(E):
        id = "half.bad"
        params = {"n": 3}

    @hookimpl
    def matexplore_experiments():
        return [E, Bad]
    """)
    reg = load(tmp_path)
    assert "half.good" not in reg.experiments  # nothing of a broken plugin is registered
    for exp_id in ("half.good", "half.bad"):
        with pytest.raises(BrokenPlugin) as err:
            reg.get(exp_id)
        assert str(err.value).startswith("plugin 'half' is broken: malformed experiment: ")
        assert "params must map names to Param objects" in str(err.value)


def test_a_plugin_that_fails_to_import_is_named_for_its_ids(tmp_path):
    write(tmp_path, "my_plugin", "import numpy\nimport not_a_module_at_all\n")
    reg = load(tmp_path)
    with pytest.raises(BrokenPlugin, match="plugin 'my_plugin' is broken: failed to import"):
        reg.get("my-plugin.anything")
    with pytest.raises(UnknownExperiment, match=r"\(broken plugins: my_plugin\)"):
        reg.get("other.thing")
    p = subprocess.run([*MX, "run", "my-plugin.x", "--plugin-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "plugin 'my_plugin' is broken" in p.stderr
    assert "Unknown experiment" not in p.stderr and "Traceback" not in p.stderr
    p = subprocess.run([*MX, "--debug", "run", "my-plugin.x", "--plugin-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert "Traceback" in p.stderr and "not_a_module_at_all" in p.stderr


def test_broken_plugin_registers_no_activations(tmp_path):
    write(tmp_path, "acts_broken", GOOD_EXP.format(id="acts-broken.x") + """
    @hookimpl
    def matexplore_activations():
        return [Activation("cube", fn=lambda x: x**3, deriv=lambda x: 3 * x**2)]

    @hookimpl
    def matexplore_experiments():
        return [object()]
    """)
    write(tmp_path, "acts_typo", """
    from matexplore import Activation, hookimpl
    @hookimpl
    def matexplore_activations():
        return [Activation("quad", fn=lambda x: x**2, deriv=lambda x: 2 * x)]
    def matexplore_activation(): return []
    """)
    reg = load(tmp_path)
    assert reg.plugin("acts_broken").error and reg.plugin("acts_typo").error
    assert "cube" not in reg.activations and "quad" not in reg.activations
    assert reg.plugin("acts_broken").activations == []


def test_import_error_carries_file_and_line(tmp_path):
    write(tmp_path, "deep", """
    import os

    def helper():
        return {}["missing"]

    VALUE = helper()
    """)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .impl import matexplore_experiments\n")
    (pkg / "impl.py").write_text("x = 1\nraise RuntimeError('bad config')\n")
    write(tmp_path, "syntax", "x = 1\ndef f(:\n    pass\n")
    reg = load(tmp_path)
    assert reg.plugin("deep").error == \
        "failed to import: KeyError: 'missing' (at deep.py:5)"
    assert reg.plugin("pkg").error == \
        "failed to import: RuntimeError: bad config (at pkg/impl.py:2)"
    assert reg.plugin("syntax").error.endswith("(at syntax.py:2)")
    assert "Traceback" in reg.plugin("deep").traceback


def test_hook_returning_a_class_says_so(tmp_path):
    write(tmp_path, "noclass", GOOD_EXP.format(id="noclass.x") + """
    @hookimpl
    def matexplore_experiments():
        return E
    """)
    info = load(tmp_path).plugin("noclass")
    assert info.error == ("matexplore_experiments returned the class E instead of a list "
                          "(return [E])")


NUMBA_PLUGIN = '''
import numba
from matexplore import Experiment, Frame, hookimpl


@numba.njit(cache=False)
def kernel(n):
    total = 0
    for i in range(n):
        total = total + "x"
    return total


class E(Experiment):
    id = "nb.typing"
    title = "a numba typing error"

    def run(self, p, ctx):
        yield Frame(summary={"v": kernel(3)})


@hookimpl
def matexplore_experiments():
    return [E]
'''


def test_numba_typing_error_keeps_the_offending_expression_and_line(tmp_path):
    from matexplore.runner import Run

    (tmp_path / "nb.py").write_text(NUMBA_PLUGIN)
    run = Run(load(tmp_path).get("nb.typing"), {"seed": 1}).execute()
    assert run.status == "failed"
    msg = run.error
    assert msg.startswith("TypingError: Failed in nopython mode pipeline")
    assert "found for signature: add(Literal[int](0), Literal[str](x))" in msg
    assert 'at nb.py:10: total = total + "x"' in msg
    assert "\n" not in msg and "\x1b" not in msg
