"""matexplore: a plugin-based terminal explorer for the theory of random neural networks.

The public plugin API is what this module exports; everything else is internal.
See docs/plugins.md for a complete guide for plugin authors.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .activations import Activation
from .claims import AllHold, AllOf, Claim, Close, ErrorBelow, Rule, SourceWithinSE, Verdict
from .experiment import Cancelled, Experiment, ExperimentError, RunContext
from .frames import Check, Compare, Frame, Plot, Series, Table
from .hookspecs import hookimpl
from .montecarlo import Chunk
from .params import Bool, Choice, Float, FloatList, Int, IntList, Params, ParamError
from .stats import RunningStats

try:
    __version__ = version("matexplore")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"


def registered_activations() -> dict[str, Activation]:
    """Every activation registered through ``matexplore_activations`` (name → Activation)."""
    from .plugins import get_registry

    return dict(get_registry().activations)


_API = {"run", "load", "sweep", "Result"}  # the notebook API (matexplore.api), loaded on use


def __getattr__(name: str) -> object:
    """``mx.run``, ``mx.load``, ``mx.sweep``, ``mx.Result`` without importing them (and
    the runner, Dask, …) at ``import matexplore``. ``matexplore.sweep`` is the sweep
    module, which is callable as :func:`matexplore.api.sweep`."""
    if name not in _API:
        raise AttributeError(f"module 'matexplore' has no attribute {name!r}")
    from importlib import import_module

    if name == "sweep":
        return import_module(".sweep", __name__)
    return getattr(import_module(".api", __name__), name)


def __dir__() -> list[str]:
    """The module's names with the lazy API ones (tab completion in notebooks)."""
    return sorted(set(globals()) | _API)


__all__ = [
    "Result", "load", "run", "sweep",
    "Activation", "AllHold", "AllOf", "Bool", "Claim", "Close", "ErrorBelow", "Rule",
    "SourceWithinSE", "Verdict", "Cancelled", "Check", "Choice", "Chunk", "Compare", "Experiment",
    "ExperimentError", "Float", "FloatList", "Frame", "Int", "IntList", "ParamError", "Params",
    "Plot", "RunContext", "RunningStats", "Series", "Table", "__version__", "hookimpl", "registered_activations",
]
