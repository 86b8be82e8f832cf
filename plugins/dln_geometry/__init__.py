"""Built-in plugin: balanced deep linear networks — flow, geodesics, low-rank attraction,
entropy (issue 9; source: dln-riemannian-geometry-thesis)."""

from matexplore import hookimpl

from .claims import CLAIMS
from .experiments import (Entropy, EntropyIdentities, FlowCheck, Geodesic, LowRank,
                          LowRankSweep)


@hookimpl
def matexplore_experiments():
    return [FlowCheck, LowRank, LowRankSweep, Geodesic, Entropy, EntropyIdentities]


@hookimpl
def matexplore_claims():
    return list(CLAIMS)
