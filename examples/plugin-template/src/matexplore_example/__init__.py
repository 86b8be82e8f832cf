"""An example matexplore plugin: registers the Mish activation and one experiment.

The hooks are all a plugin needs; matexplore finds this module through the entry point
declared in pyproject.toml (``[project.entry-points.matexplore] example = ...``).
"""

from matexplore import hookimpl

from .experiments import MishMoments
from .theory import MISH

__version__ = "0.2.0"


@hookimpl
def matexplore_experiments():
    return [MishMoments]


@hookimpl
def matexplore_activations():
    return [MISH]
