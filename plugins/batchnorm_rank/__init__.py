"""Built-in plugin ``batchnorm_rank``: how batch normalisation keeps (or loses) the rank of a
batch — PR, entropy rank, numerical rank and log det of the batch Gram through depth, with
the exact Wishart law of the weight step and the source's hypotheses side by side (issue 7)."""

from matexplore import hookimpl

from .claims import CLAIMS
from .experiments import CompareWeights, Depth, Settle


@hookimpl
def matexplore_experiments():
    return [Depth, CompareWeights, Settle]


@hookimpl
def matexplore_claims():
    return list(CLAIMS)
