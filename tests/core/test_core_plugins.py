"""Plugin loading: entry points, plugin directories, and isolation of broken plugins."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from matexplore.plugins import UnknownExperiment, load_registry


def write_plugin(directory, name, source):
    (directory / f"{name}.py").write_text(textwrap.dedent(source))


def test_plugin_dir_loads_experiments(toy_dir):
    reg = load_registry([toy_dir], use_entry_points=False, use_env=False)
    assert reg.get("toy.walk").plugin.name == "toy"
    with pytest.raises(UnknownExperiment, match="did you mean 'toy.walk'"):
        reg.get("toy.wlak")


BROKEN = {
    "imports_badly": "raise RuntimeError('boom at import')\n",
    "syntax_error": "def f(:\n",
    "bad_id": """
        from matexplore import Experiment, hookimpl
        class E(Experiment):
            id = "Bad Id"
            title = "x"
            def run(self, p, ctx): yield from ()
        @hookimpl
        def matexplore_experiments(): return [E]
        """,
    "bad_params": """
        from matexplore import Experiment, hookimpl
        class E(Experiment):
            id = "bad.params"
            title = "x"
            params = {"n": 3}
            def run(self, p, ctx): yield from ()
        @hookimpl
        def matexplore_experiments(): return [E]
        """,
    "bad_default": """
        from matexplore import Experiment, Int, hookimpl
        class E(Experiment):
            id = "bad.default"
            title = "x"
            params = {"n": Int(0, ge=1)}
            def run(self, p, ctx): yield from ()
        @hookimpl
        def matexplore_experiments(): return [E]
        """,
    "hook_raises": """
        from matexplore import hookimpl
        @hookimpl
        def matexplore_experiments(): raise ValueError("cannot list")
        """,
    "typo_hook": """
        def matexplore_experiment(): return []
        """,
    "duplicate": """
        import importlib.util, sys
        from matexplore import hookimpl
        toy = sys.modules["matexplore_local.toy"]
        @hookimpl
        def matexplore_experiments(): return [toy.Walk]
        """,
}

REASONS = {
    "imports_badly": "failed to import: RuntimeError: boom at import",
    "syntax_error": "failed to import: SyntaxError",
    "bad_id": "invalid id 'Bad Id'",
    "bad_params": "params must map names to Param objects",
    "bad_default": "default of Parameter 'n' must be an integer in [1, inf)",
    "hook_raises": "matexplore_experiments raised ValueError: cannot list",
    "typo_hook": "unknown hook matexplore_experiment (did you mean 'matexplore_experiments'?)",
    "duplicate": "'toy.walk' is already provided by plugin 'toy'",
}


def test_each_broken_plugin_is_reported_and_others_keep_working(toy_dir):
    for name, src in BROKEN.items():
        write_plugin(toy_dir, f"zz_{name}", src)
    reg = load_registry([toy_dir], use_entry_points=False, use_env=False)
    errors = {p.name: p.error for p in reg.plugins}
    assert errors["toy"] is None and "toy.walk" in reg.experiments
    for name, reason in REASONS.items():
        assert reason in (errors[f"zz_{name}"] or ""), (name, errors[f"zz_{name}"])


def test_package_plugins_env_path_and_allow_list(tmp_path, monkeypatch, toy_dir):
    pkg = tmp_path / "more" / "pkgplugin"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("__version__ = '2.0'\nfrom .impl import matexplore_experiments\n")
    (pkg / "impl.py").write_text(textwrap.dedent("""
        from matexplore import Experiment, Frame, hookimpl
        class E(Experiment):
            id = "pkg.one"
            title = "one"
            def run(self, p, ctx):
                yield Frame(summary={"one": 1})
        @hookimpl
        def matexplore_experiments(): return [E]
        """))
    monkeypatch.setenv("MATEXPLORE_PLUGIN_PATH", str(tmp_path / "more"))
    reg = load_registry([toy_dir], use_entry_points=False)
    assert reg.plugin("pkgplugin").version == "2.0" and "pkg.one" in reg.experiments
    monkeypatch.setenv("MATEXPLORE_LOAD_PLUGINS", "toy")
    reg = load_registry([toy_dir], use_entry_points=False)
    assert [p.name for p in reg.plugins] == ["toy"]


def test_missing_plugin_dir_is_reported(tmp_path):
    reg = load_registry([tmp_path / "nope"], use_entry_points=False, use_env=False)
    assert "does not exist" in reg.plugins[0].error


def test_pip_installed_plugin_is_found_through_its_entry_point(tmp_path):
    """What pip leaves on sys.path — a module plus a *.dist-info with entry_points.txt —
    is all matexplore needs; no special-casing of built-in plugins."""
    site = tmp_path / "site"
    (site / "thirdparty_demo").mkdir(parents=True)
    (site / "thirdparty_demo" / "__init__.py").write_text(textwrap.dedent("""
        from matexplore import Experiment, Frame, hookimpl
        class E(Experiment):
            id = "thirdparty.demo"
            title = "Third-party demo"
            def run(self, p, ctx):
                yield Frame(summary={"ok": 1})
        @hookimpl
        def matexplore_experiments(): return [E]
        """))
    dist = site / "thirdparty_demo-1.2.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-demo\nVersion: 1.2.3\n")
    (dist / "entry_points.txt").write_text("[matexplore]\ndemo = thirdparty_demo\n")
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "matexplore.cli", "list", "--json"],
                         capture_output=True, text=True, env=env, check=True).stdout
    plugins = {p["name"]: p for p in json.loads(out)["plugins"]}
    assert plugins["demo"]["version"] == "1.2.3"
    assert plugins["demo"]["experiments"] == [{"id": "thirdparty.demo", "title": "Third-party demo"}]
    res = subprocess.run([sys.executable, "-m", "matexplore.cli", "run", "thirdparty.demo", "--json"],
                         capture_output=True, text=True, env=env, check=True).stdout
    assert json.loads(res)["summary"] == {"ok": 1}


def test_choices_from_registered_activations_during_loading(tmp_path):
    """A plugin whose Choice lists registered activations is validated while the registry
    is still loading: it must see the activations collected so far, not deadlock."""
    write_plugin(tmp_path, "acts", """
        import numpy as np
        from matexplore import Activation, hookimpl
        @hookimpl
        def matexplore_activations():
            return [Activation("cube", fn=lambda x: x**3, deriv=lambda x: 3 * x**2)]
        """)
    write_plugin(tmp_path, "user", """
        from matexplore import Choice, Experiment, Frame, hookimpl, registered_activations
        class E(Experiment):
            id = "user.act"
            title = "uses activations"
            params = {"activation": Choice(lambda: sorted(registered_activations()), default="cube")}
            def run(self, p, ctx):
                yield Frame(summary={"n": len(registered_activations())})
        @hookimpl
        def matexplore_experiments(): return [E]
        """)
    import threading

    from matexplore.plugins import set_registry
    from matexplore.testing import run_experiment

    out = {}
    t = threading.Thread(target=lambda: out.setdefault(
        "reg", load_registry([tmp_path], use_entry_points=False, use_env=False)), daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive(), "loading the registry deadlocked"
    reg = out["reg"]
    assert reg.plugin("user").error is None and "user.act" in reg.experiments
    set_registry(reg)
    try:
        assert run_experiment("user.act", seed=1)["summary"] == {"n": 1}
    finally:
        set_registry(None)
