"""Built-in plugin ``kernel_maps``: kernel maps, fixed points and the convergence bound,
infinite-width theory against finite-width Monte-Carlo (issue 5)."""

from matexplore import hookimpl

from .activations import BUILTIN
from .claims import CLAIMS
from .experiments import Atlas, FixedPoint, KernelFunction


@hookimpl
def matexplore_experiments():
    return [FixedPoint, Atlas, KernelFunction]


@hookimpl
def matexplore_activations():
    return list(BUILTIN.values())


@hookimpl
def matexplore_claims():
    return list(CLAIMS)
