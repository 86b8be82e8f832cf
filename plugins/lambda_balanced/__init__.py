"""Built-in plugin: exact learning dynamics of λ-balanced two-layer linear networks."""

from matexplore import hookimpl

from .claims import CLAIMS
from .experiments import EXPERIMENTS


@hookimpl
def matexplore_experiments():  # type: ignore[no-untyped-def]
    """The seven λ-balanced experiments (closed forms vs gradient descent)."""
    return EXPERIMENTS


@hookimpl
def matexplore_claims():  # type: ignore[no-untyped-def]
    """Claims of the λ-balanced thesis, checked by these experiments."""
    return list(CLAIMS)
