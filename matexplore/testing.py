"""Helpers for testing plugins: run an experiment exactly as ``matexplore run --json`` does.

    from matexplore.testing import run_experiment
    result = run_experiment("kernel-maps.fixed-point", activation="tanh", depth=5, seed=1)
    assert result["status"] == "finished"
    result["summary"]["rho_star"]

``experiment`` may be an id (looked up in the registry of installed plugins) or an
Experiment class/instance (no registry needed: handy for a plugin's own unit tests).
"""

from __future__ import annotations

from typing import Any

from .experiment import Experiment
from .params import resolve_params, split_texts
from .plugins import ExperimentEntry, PluginInfo, get_registry
from .runner import Run

__all__ = ["run_experiment"]


def run_experiment(experiment: str | type[Experiment] | Experiment, *,
                   record: str | None = None, **params: Any) -> dict[str, Any]:
    """Run to the end in this thread and return the ``run --json`` object.

    Parameters are Python values (``depth=5``) or strings as on the command line."""
    if isinstance(experiment, str):
        entry = get_registry().get(experiment)
    else:
        exp = experiment() if isinstance(experiment, type) else experiment
        entry = ExperimentEntry(exp, PluginInfo("test", "0", "test"))
    given, texts = split_texts(params)
    run = Run(entry, resolve_params(entry.experiment.all_params(), given, texts=texts),
              record=record)
    run.execute()
    if run.status == "failed" and run.traceback:
        raise AssertionError(f"{entry.id} failed: {run.error}\n{run.traceback}")
    return run.result()
