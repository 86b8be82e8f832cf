"""The example experiment: Gaussian moments of Mish, quadrature beside Monte-Carlo."""

from __future__ import annotations

import math

from matexplore import Compare, Experiment, Frame, Int, Plot, Table

from .theory import gaussian_moment, mish


class MishMoments(Experiment):
    id = "example.mish-moments"
    title = "Mish: Gaussian moments, quadrature vs Monte-Carlo"
    description = """
    For g ~ N(0, 1) and Mish f(x) = x·tanh(softplus(x)), compares the second moment
    E[f(g)²] (the normalising constant of the kernel map φ = f/√E f(g)²) and the mean
    E[f(g)] computed by 200-point Gauss–Hermite quadrature with a streaming Monte-Carlo
    estimate. Each row adds one chunk of samples; the error should shrink like 1/√n and
    stay within a few standard errors.
    """
    params = {
        "chunks": Int(20, ge=1, le=100_000, help="number of chunks of samples"),
        "chunk_size": Int(100_000, ge=100, le=10_000_000, help="samples per chunk"),
    }
    plot = Plot(table="moments", x="samples", y=("m2_theory", "m2_mc"),
                se={"m2_mc": "m2_se"}, title="E f(g)²: quadrature vs Monte-Carlo")
    compare = (Compare("E f(g)²", theory="m2_theory", measured="m2_mc", se="m2_se"),
               Compare("E f(g)", theory="m1_theory", measured="m1_mc", se="m1_se"))

    def run(self, p, ctx):
        from .kernels import mish_sums  # numba is imported only when a run starts

        m1_theory = gaussian_moment(mish)
        m2_theory = gaussian_moment(lambda x: mish(x) ** 2)
        m4 = gaussian_moment(lambda x: mish(x) ** 4)
        yield Frame(message="compiling kernel…", total=p.chunks, step=0,
                    summary={"m1_theory": m1_theory, "m2_theory": m2_theory})
        n = s1 = s2 = 0.0
        for k, seed in enumerate(ctx.child_seeds(p.chunks), start=1):
            if ctx.cancelled:
                return
            a, b = mish_sums(int(seed), p.chunk_size)
            n, s1, s2 = n + p.chunk_size, s1 + a, s2 + b
            m1, m2 = s1 / n, s2 / n
            m1_se = math.sqrt(max(m2 - m1 * m1, 0.0) / n)
            m2_se = math.sqrt(max(m4 - m2_theory**2, 0.0) / n)  # exact variance of f²
            row = [int(n), m2_theory, m2, m2_se, m1_theory, m1, m1_se]
            yield Frame(step=k, total=p.chunks, message="sampling",
                        tables={"moments": Table(["samples", "m2_theory", "m2_mc", "m2_se",
                                                  "m1_theory", "m1_mc", "m1_se"], [row])},
                        series={"m2_mc": [m2]},
                        summary={"m1_mc": m1, "m1_se": m1_se, "m2_mc": m2, "m2_se": m2_se,
                                 "m2_z": (m2 - m2_theory) / m2_se})
