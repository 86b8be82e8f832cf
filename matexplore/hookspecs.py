"""The hooks a matexplore plugin can implement.

A plugin is a module (or package) registered in the ``matexplore`` entry-point group, or
a ``.py`` file / package in a directory given with ``--plugin-dir`` or
``MATEXPLORE_PLUGIN_PATH``. It implements any of the hooks below with the
:data:`hookimpl` marker::

    from matexplore import hookimpl

    @hookimpl
    def matexplore_experiments():
        return [MyExperiment]

Hooks are called once per process, when plugins are loaded. An exception raised by a
hook marks that plugin as broken (with the message) and leaves every other plugin working.
"""

from __future__ import annotations

import pluggy

PROJECT = "matexplore"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorate your hook implementations with this marker.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def matexplore_experiments():  # type: ignore[no-untyped-def]
    """Return the experiments this plugin provides.

    :return: a list of :class:`matexplore.Experiment` subclasses (or instances). Each
        needs a unique dotted ``id`` such as ``"my-plugin.my-experiment"``, a ``title``,
        ``params`` (a dict of :mod:`matexplore.params` objects) and a ``run(params, ctx)``
        generator yielding :class:`matexplore.Frame` objects. A malformed experiment is
        reported with the reason and skipped; the plugin is then listed as broken.
    """


@hookspec
def matexplore_activations():  # type: ignore[no-untyped-def]
    """Return activation functions to offer in every experiment that takes one.

    :return: a list of :class:`matexplore.Activation` objects (a vectorised ``fn``, its
        derivative ``deriv``, optionally a closed-form Gaussian ``kernel``). Names must be
        unique across plugins; the first plugin to register a name wins and the clash is
        reported.
    """


@hookspec
def matexplore_claims():  # type: ignore[no-untyped-def]
    """Return the source-document claims this plugin checks.

    :return: a list of :class:`matexplore.Claim` objects: a unique dotted ``id``, the
        source document and location, the statement, the ``experiment`` id and small seeded
        ``params`` that test it, and a ``rule`` (:class:`matexplore.SourceWithinSE`,
        :class:`matexplore.Close`, :class:`matexplore.AllHold`, :class:`matexplore.ErrorBelow`,
        :class:`matexplore.AllOf`) that turns the run into a verdict. Collected after every
        plugin's experiments, so a claim may test another plugin's experiment. A claim with
        a bad id, an unknown experiment or invalid params marks the plugin broken.
    """
