"""matexplore.testing: check_plugin fails exactly when the loader would list a plugin as
broken; run_experiment applies the loader's checks, cancels after N frames; table_rows."""

from __future__ import annotations

import types

import pytest

from matexplore import Experiment, Frame, Int, Table, hookimpl
from matexplore.testing import check_plugin, run_experiment, table_rows


class Counter(Experiment):
    id = "testing.counter"
    title = "Counts to n"
    params = {"n": Int(5, ge=1, le=100, help="frames")}

    def run(self, p, ctx):
        for i in range(p.n):
            yield Frame(step=i + 1, total=p.n, tables={"t": Table(["i", "sq"], [[i, i * i]])},
                        summary={"last": i})


def _module(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(mod, key, value)
    return mod


def _hook(value):
    @hookimpl
    def matexplore_experiments():
        return value
    return matexplore_experiments


def test_a_good_module_and_an_installed_plugin_pass():
    info = check_plugin(_module("good_plugin", matexplore_experiments=_hook([Counter])))
    assert info.experiments == ["testing.counter"]
    assert "kernel-maps.fixed-point" in check_plugin("kernel_maps").experiments


class BadDefault(Counter):
    id = "testing.bad-default"
    params = {"n": Int(0, ge=1, help="frames")}


class BadId(Counter):
    id = "Not An Id"


class BadVersion(Counter):
    id = "testing.bad-version"
    version = 2.5


def _unmarked():
    return [Counter]


@pytest.mark.parametrize("attrs, reason", [
    ({"matexplore_experiments": _hook([BadDefault])}, "default of Parameter 'n'"),
    ({"matexplore_experiments": _hook([BadId])}, "invalid id"),
    ({"matexplore_experiments": _hook([BadVersion])}, "version must be a string"),
    ({"matexplore_experiments": _unmarked}, "not marked with @hookimpl"),
    ({"matexplore_experiment": _hook([Counter])}, "unknown hook matexplore_experiment"),
    ({"matexplore_experiments": _hook([object()])}, "malformed experiment"),
    ({}, "provides no experiments"),
])
def test_check_plugin_fails_with_the_reason(attrs, reason):
    with pytest.raises(AssertionError, match="would be listed as broken") as err:
        check_plugin(_module("some_plugin", **attrs))
    assert reason in str(err.value)


def test_check_plugin_of_an_unknown_name_says_so():
    with pytest.raises(AssertionError, match="no plugin or module named"):
        check_plugin("no_such_plugin_xyz")


def test_run_experiment_applies_the_loader_checks():
    with pytest.raises(AssertionError, match="loader would reject.*default of Parameter"):
        run_experiment(BadDefault)


def test_cancel_after_n_frames_and_rows_as_dicts():
    full = run_experiment(Counter, n=6, seed=1)
    assert full["status"] == "finished"
    assert table_rows(full, "t") == [{"i": i, "sq": i * i} for i in range(6)]
    part = run_experiment(Counter, n=6, seed=1, cancel_after=2)
    assert part["status"] == "cancelled"
    assert table_rows(part, "t") == [{"i": 0, "sq": 0}, {"i": 1, "sq": 1}]
    assert part["summary"]["last"] == 1
    with pytest.raises(AssertionError, match="no table 'nope'"):
        table_rows(full, "nope")
