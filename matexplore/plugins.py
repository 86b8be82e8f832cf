"""Plugin discovery and the registry of experiments and activations.

Plugins come from two places, loaded the same way once they are imported:

1. the ``matexplore`` entry-point group (``importlib.metadata``) — the built-in plugins
   and any pip-installed third-party package;
2. plugin directories (``--plugin-dir DIR``, or ``MATEXPLORE_PLUGIN_PATH`` with
   ``os.pathsep``-separated directories): every ``*.py`` file and every package inside.

``MATEXPLORE_LOAD_PLUGINS=name1,name2`` restricts loading to those plugins (an empty value
loads none), which helps isolate a broken installation.

Each plugin is imported, registered with pluggy and asked for its hooks *separately*, so
one that fails to import, defines an unknown hook, or declares a malformed experiment is
recorded as broken with the reason (and ``file:line``; the traceback for ``--debug``) and
every other plugin keeps working. What a broken plugin provides is not registered — none
of its experiments or activations — but the ids it tried to declare are remembered, so
running one says "plugin X is broken: <reason>" rather than "unknown experiment".
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .activations import Activation
from .errors import describe_exception
from .claims import Claim, check_claim
from .experiment import Experiment, check_experiment
from .params import suggest

__all__ = ["PluginInfo", "ExperimentEntry", "Registry", "UnknownExperiment", "BrokenPlugin",
           "load_registry", "get_registry", "set_registry", "plugin_dirs_from_env"]

ENTRY_POINT_GROUP = "matexplore"


@dataclass
class PluginInfo:
    """One plugin as the user sees it in ``matexplore list``."""

    name: str
    version: str
    source: str
    error: str | None = None
    experiments: list[str] = field(default_factory=list)
    activations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. a hook without @hookimpl
    traceback: str | None = None  # of the first exception that broke it (for --debug)
    root: Path | None = None  # its file or package directory (locates errors)
    claims: list[str] = field(default_factory=list)

    def add_error(self, message: str, exc: BaseException | None = None) -> None:
        self.error = message if self.error is None else f"{self.error}; {message}"
        if exc is not None and self.traceback is None:
            self.traceback = "".join(traceback.format_exception(exc))

    def describe(self, exc: BaseException) -> str:
        """The exception in one phrase, located in this plugin's files."""
        return describe_exception(exc, self.root)


@dataclass(frozen=True)
class ExperimentEntry:
    """A registered experiment with the plugin that provides it."""

    experiment: Experiment
    plugin: PluginInfo

    @property
    def id(self) -> str:
        return self.experiment.id


class UnknownExperiment(LookupError):
    """No registered experiment has this id; the message suggests the closest one."""


class BrokenPlugin(UnknownExperiment):
    """The experiment belongs to a plugin that is broken; ``traceback`` is for --debug."""

    def __init__(self, info: PluginInfo) -> None:
        super().__init__(f"plugin {info.name!r} is broken: {info.error}.")
        self.traceback = info.traceback


class Registry:
    """Everything the loaded plugins provide, with the broken ones and why."""

    def __init__(self) -> None:
        self.plugins: list[PluginInfo] = []
        self.experiments: dict[str, ExperimentEntry] = {}
        self.activations: dict[str, Activation] = {}
        self.claims: dict[str, Claim] = {}  # claim id -> claim, in hook order
        self.plugin_dirs: list[Path] = []  # directories plugins were loaded from (for workers)
        self.broken: dict[str, PluginInfo] = {}  # experiment id → the broken plugin declaring it
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)

    def get(self, experiment_id: str) -> ExperimentEntry:
        """The entry of ``experiment_id``; :class:`BrokenPlugin` if a broken plugin
        declares it (or, when it broke before declaring anything, is named like its
        prefix: ``my_plugin`` for ``my-plugin.x``), else :class:`UnknownExperiment`."""
        if experiment_id in self.experiments:
            return self.experiments[experiment_id]
        prefix = experiment_id.split(".", 1)[0].replace("-", "_")
        owner = self.broken.get(experiment_id) or next(
            (p for p in self.plugins if p.error and p.name.replace("-", "_") == prefix), None)
        if owner is not None:
            raise BrokenPlugin(owner)
        hint = suggest(experiment_id, list(self.experiments))
        broken = [p.name for p in self.plugins if p.error]
        note = f" (broken plugins: {', '.join(broken)})" if broken else ""
        raise UnknownExperiment(f"Unknown experiment {experiment_id!r}{hint}; run 'matexplore "
                                f"list' to see the available ones{note}.")

    def plugin(self, name: str) -> PluginInfo | None:
        return next((p for p in self.plugins if p.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The ``matexplore list --json`` document."""
        return {"plugins": [
            {"name": p.name, "version": p.version, "source": p.source, "error": p.error,
             "experiments": [{"id": e, "title": self.experiments[e].experiment.title}
                             for e in p.experiments],
             "activations": list(p.activations), "warnings": list(p.warnings),
             "claims": list(p.claims)}
            for p in self.plugins]}

    # -- loading --------------------------------------------------------------------------
    def add_module(self, info: PluginInfo, load: Any) -> None:
        """Import a plugin (``load()`` returns the module) and register its hooks."""
        self.plugins.append(info)
        try:
            module = load()
        except (Exception, SystemExit) as exc:  # a plugin may raise anything on import
            info.add_error(f"failed to import: {info.describe(exc)}", exc)
            return
        known = [h for h in dir(self.pm.hook) if h.startswith("matexplore_")]
        for attr in (a for a in dir(module) if a.startswith("matexplore_")):
            if attr not in known:
                info.add_error(f"defines unknown hook {attr}{suggest(attr, known)}")
            elif callable(getattr(module, attr)) and \
                    self.pm.parse_hookimpl_opts(module, attr) is None:
                info.warnings.append(f"{attr} is not marked with @hookimpl and is ignored; "
                                     "did you forget @hookimpl?")
        try:
            self.pm.register(module, name=info.name)
        except Exception as exc:  # pluggy validation errors, duplicate names
            info.add_error(f"could not be registered: {info.describe(exc)}", exc)

    def collect(self) -> None:
        """Call each plugin's hooks one by one; commit what a plugin provides only if the
        plugin is not broken. Activations come first, so experiments may list them; a
        plugin found broken while its experiments are checked loses its activations."""
        for impl in self.pm.hook.matexplore_activations.get_hookimpls():
            info = self._info_for(impl.plugin_name)
            acts = [a for a in self._call(info, impl, "matexplore_activations")
                    if self._check_activation(info, a)]
            if info.error is None:
                self.activations.update((a.name, a) for a in acts)
                info.activations.extend(a.name for a in acts)
        for impl in self.pm.hook.matexplore_experiments.get_hookimpls():
            info = self._info_for(impl.plugin_name)
            exps = [e for e in (self._experiment(info, obj) for obj in
                                self._call(info, impl, "matexplore_experiments")) if e]
            if info.error is None:
                for exp in exps:
                    self.experiments[exp.id] = ExperimentEntry(exp, info)
                    info.experiments.append(exp.id)
            else:
                self.broken.update((e.id, info) for e in exps if e.id not in self.experiments)
                for name in info.activations:
                    del self.activations[name]
                info.activations.clear()
        for impl in self.pm.hook.matexplore_claims.get_hookimpls():
            info = self._info_for(impl.plugin_name)
            if info.error is None:  # a broken plugin registers nothing, claims included
                for obj in self._call(info, impl, "matexplore_claims"):
                    self._add_claim(info, obj)

    def _add_claim(self, info: PluginInfo, obj: Any) -> None:
        try:
            claim = check_claim(obj, self.experiments)
        except ValueError as exc:
            info.add_error(str(exc))
            return
        if claim.id in self.claims:
            info.add_error(f"claim id {claim.id!r} is already declared")
            return
        self.claims[claim.id] = claim
        info.claims.append(claim.id)

    def _check_activation(self, info: PluginInfo, act: Any) -> bool:
        if not isinstance(act, Activation):
            info.add_error(f"matexplore_activations returned {act!r}, not an Activation")
        elif act.name in self.activations:
            info.add_error(f"activation {act.name!r} is already registered")
        else:
            return True
        return False

    def _experiment(self, info: PluginInfo, obj: Any) -> Experiment | None:
        """The declared experiment, or None (with the plugin's error) if malformed; the
        id of a malformed one is remembered when it has a usable id."""
        try:
            check_experiment(obj)
            exp = obj() if isinstance(obj, type) else obj
        except Exception as exc:
            info.add_error(f"malformed experiment: {info.describe(exc)}", exc)
            exp_id = getattr(obj, "id", None)
            if isinstance(exp_id, str):
                self.broken.setdefault(exp_id, info)
            return None
        if exp.id in self.experiments:
            other = self.experiments[exp.id].plugin.name
            info.add_error(f"experiment id {exp.id!r} is already provided by plugin {other!r}")
            return None
        return exp

    def _info_for(self, plugin_name: str) -> PluginInfo:
        return next(p for p in self.plugins if p.name == plugin_name)

    @staticmethod
    def _call(info: PluginInfo, impl: Any, hook: str) -> list[Any]:
        try:
            result = impl.function()
        except Exception as exc:
            info.add_error(f"{hook} raised {info.describe(exc)}", exc)
            return []
        if result is None:
            return []
        if isinstance(result, (list, tuple)):
            return list(result)
        what = f"the class {result.__name__}" if isinstance(result, type) else \
            f"a {type(result).__name__}"
        info.add_error(f"{hook} returned {what} instead of a list "
                       f"(return [{getattr(result, '__name__', '...')}])")
        return []


def plugin_dirs_from_env() -> list[Path]:
    raw = os.environ.get("MATEXPLORE_PLUGIN_PATH", "")
    return [Path(p) for p in raw.split(os.pathsep) if p.strip()]


def _allowed(name: str) -> bool:
    allow = os.environ.get("MATEXPLORE_LOAD_PLUGINS")
    if allow is None:
        return True
    return name in {n.strip() for n in allow.split(",") if n.strip()}


def _entry_point_plugins(registry: Registry) -> None:
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if not _allowed(ep.name):
            continue
        version = ep.dist.version if ep.dist is not None else "unknown"
        info = PluginInfo(ep.name, version, f"entry point {ep.value}",
                          root=_module_root(ep.module))
        registry.add_module(info, ep.load)


def _module_root(module: str) -> Path | None:
    """The file or package directory of a top-level module, found without importing it."""
    try:
        spec = importlib.util.find_spec(module.split(".", 1)[0])
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not os.path.exists(spec.origin):
        return None
    origin = Path(spec.origin)
    return origin.parent if spec.submodule_search_locations else origin


def _dir_plugins(registry: Registry, directory: Path) -> None:
    if not directory.is_dir():
        info = PluginInfo(directory.name or str(directory), "local", str(directory))
        registry.plugins.append(info)
        info.add_error(f"plugin directory {str(directory)!r} does not exist")
        return
    for path in sorted(directory.iterdir()):
        if path.name.startswith(("_", ".")):
            continue
        if path.is_dir() and (path / "__init__.py").is_file():
            name, init = path.name, path / "__init__.py"
        elif path.suffix == ".py":
            name, init = path.stem, path
        else:
            continue
        if not _allowed(name) or registry.plugin(name) is not None:
            continue
        info = PluginInfo(name, "local", str(path), root=path)
        registry.add_module(info, lambda n=name, f=init, p=path, i=info: _import_path(n, f, p, i))


def _import_path(name: str, init: Path, path: Path, info: PluginInfo) -> ModuleType:
    """Import a file or package from a plugin directory as ``matexplore_local.<name>``."""
    modname = f"matexplore_local.{name}"
    locations = [str(path)] if path.is_dir() else None
    spec = importlib.util.spec_from_file_location(modname, init,
                                                  submodule_search_locations=locations)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {init}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    info.version = str(getattr(module, "__version__", "local"))
    return module


def load_registry(plugin_dirs: Sequence[Path | str] = (), *, use_entry_points: bool = True,
                  use_env: bool = True) -> Registry:
    """Discover, import and validate every plugin; never raises for a broken plugin.

    While it loads, :func:`get_registry` called from this thread returns the registry
    under construction: a plugin whose parameter choices list the registered activations
    sees those collected so far (activations are collected before experiments)."""
    registry = Registry()
    outer = getattr(_loading, "registry", None)
    _loading.registry = registry
    try:
        if use_entry_points:
            _entry_point_plugins(registry)
        dirs: list[Path] = [Path(d) for d in plugin_dirs]
        if use_env:
            dirs += plugin_dirs_from_env()
        registry.plugin_dirs = [d.resolve() for d in dirs]
        for d in dirs:
            _dir_plugins(registry, d)
        registry.collect()
    finally:
        _loading.registry = outer
    return registry


_registry: Registry | None = None
_lock = threading.Lock()
_loading = threading.local()  # the registry being built by this thread, if any


def get_registry() -> Registry:
    """The process-wide registry, loaded on first use (entry points + env plugin path)."""
    loading = getattr(_loading, "registry", None)
    if loading is not None:
        return loading
    global _registry
    with _lock:
        if _registry is None:
            _registry = load_registry()
        return _registry


def set_registry(registry: Registry | None) -> None:
    """Install the registry used by ``get_registry`` (the CLI does this with --plugin-dir)."""
    global _registry
    with _lock:
        _registry = registry
