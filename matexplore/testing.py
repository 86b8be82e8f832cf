"""Helpers for testing plugins: load them as matexplore does, run them as ``run --json`` does.

    from matexplore.testing import check_plugin, run_experiment, table_rows

    def test_plugin_loads():
        check_plugin("my_plugin")          # fails with the reason `matexplore list` would show

    def test_monte_carlo():
        res = run_experiment("kernel-maps.fixed-point", activation="tanh", depth=5, seed=1)
        assert res["status"] == "finished"
        rows = table_rows(res, "layers")   # [{"layer": 0, "rho_theory": 0.5, ...}, ...]

    def test_cancel():
        res = run_experiment(MyExperiment, cancel_after=3)   # cancel after the 3rd frame
        assert res["status"] == "cancelled"

``experiment`` may be an id (looked up in the registry of installed plugins) or an
Experiment class/instance (no installation needed: handy for a plugin's own unit tests);
either way the loader's checks are applied first.
"""

from __future__ import annotations

import importlib
import json
from types import ModuleType
from typing import Any

from .experiment import Experiment, check_experiment
from .params import resolve_params, split_texts
from .plugins import ExperimentEntry, PluginInfo, Registry, get_registry, load_registry
from .runner import Run

__all__ = ["check_plugin", "run_experiment", "table_rows"]


def _load(name_or_module: str | ModuleType) -> tuple[PluginInfo, Registry]:
    """The plugin as the loader sees it: an installed plugin by name, else an importable
    module (name or object) loaded on its own."""
    if isinstance(name_or_module, str):
        registry = load_registry()
        info = registry.plugin(name_or_module)
        if info is not None:
            return info, registry
        try:
            module = importlib.import_module(name_or_module)
        except ImportError as exc:
            raise AssertionError(f"no plugin or module named {name_or_module!r} "
                                 f"({type(exc).__name__}: {exc})") from None
    else:
        module = name_or_module
    from . import plugins

    registry = Registry()
    info = PluginInfo(module.__name__.rsplit(".", 1)[-1],
                      str(getattr(module, "__version__", "local")), "check_plugin")
    outer = getattr(plugins._loading, "registry", None)
    plugins._loading.registry = registry  # as load_registry: choices see this registry
    try:
        registry.add_module(info, lambda: module)
        registry.collect()
    finally:
        plugins._loading.registry = outer
    return info, registry


def check_plugin(name_or_module: str | ModuleType) -> PluginInfo:
    """Load one plugin exactly as ``matexplore list`` does and fail (``AssertionError``,
    with every reason) if it would be listed as broken or would provide nothing.

    Checked: it imports; no unknown hook names (``matexplore_experiment``); hooks carry
    ``@hookimpl`` (the loader's warnings count as failures here); hooks return lists of Experiment classes/instances and Activations;
    every experiment passes the loader's checks (dotted lowercase id, title, ``Param``
    objects with valid defaults, ``run`` method) and its description is JSON (what a
    session header stores). Returns the plugin's :class:`PluginInfo` (name, version,
    experiment ids, activation names)."""
    info, registry = _load(name_or_module)
    problems = ([info.error] if info.error else []) + list(info.warnings)
    for exp_id in info.experiments:
        try:
            json.dumps(registry.experiments[exp_id].experiment.info(), allow_nan=False)
        except (TypeError, ValueError) as exc:
            problems.append(f"experiment {exp_id}: its description is not JSON ({exc})")
    if not problems and not info.experiments and not info.activations:
        problems.append("it provides no experiments and no activations")
    if problems:
        raise AssertionError(f"plugin {info.name!r} would be listed as broken: "
                             + "; ".join(problems))
    return info


def _entry(experiment: str | type[Experiment] | Experiment) -> ExperimentEntry:
    if isinstance(experiment, str):
        return get_registry().get(experiment)
    try:
        check_experiment(experiment)
    except ValueError as exc:
        raise AssertionError(f"the loader would reject this experiment: {exc}") from None
    exp = experiment() if isinstance(experiment, type) else experiment
    return ExperimentEntry(exp, PluginInfo("test", "0", "test"))


def run_experiment(experiment: str | type[Experiment] | Experiment, *,
                   record: str | None = None, cancel_after: int | None = None,
                   **params: Any) -> dict[str, Any]:
    """Run to the end in this thread and return the ``run --json`` object.

    Parameters are Python values (``depth=5``) or strings as on the command line.
    ``cancel_after=N`` cancels the run right after its N-th frame, as a user would (the
    result then has ``status == "cancelled"`` and the first N frames' data). Threads come
    from ``$MATEXPLORE_THREADS`` (default: every core), as for ``matexplore run``. A run
    that fails with a traceback (a bug, not an ``ExperimentError``) raises
    ``AssertionError`` with it."""
    entry = _entry(experiment)
    given, texts = split_texts(params)
    run = Run(entry, resolve_params(entry.experiment.all_params(), given, texts=texts),
              record=record, cancel_after=cancel_after)
    run.execute()
    if run.status == "failed" and run.traceback:
        raise AssertionError(f"{entry.id} failed: {run.error}\n{run.traceback}")
    return run.result()


def table_rows(result: dict[str, Any], table: str) -> list[dict[str, Any]]:
    """The rows of ``result["tables"][table]`` as dicts keyed by column name."""
    try:
        t = result["tables"][table]
    except KeyError:
        raise AssertionError(f"the result has no table {table!r} (tables: "
                             f"{', '.join(result.get('tables', {})) or 'none'})") from None
    return [dict(zip(t["columns"], row)) for row in t["rows"]]
