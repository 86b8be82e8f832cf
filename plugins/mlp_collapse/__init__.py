"""Built-in plugin mlp_collapse: heavy-tailed norms, angle and rank collapse of deep linear
MLPs, Wishart log-determinants and the sub-rotation "lemma" (measured | exact | source)."""

from matexplore import hookimpl

from .claims import CLAIMS
from .experiments import EXPERIMENTS


@hookimpl
def matexplore_experiments():  # type: ignore[no-untyped-def]
    return list(EXPERIMENTS)


@hookimpl
def matexplore_claims():  # type: ignore[no-untyped-def]
    return list(CLAIMS)
