"""The example experiment: Gaussian moments of Mish, quadrature beside Monte-Carlo."""

from __future__ import annotations

from matexplore import Compare, Experiment, Frame, Int, Plot, RunningStats, Table

from .theory import gaussian_moment, mish


class MishMoments(Experiment):
    id = "example.mish-moments"
    version = "2"  # 2: Generator streams per chunk (ctx.map_chunks), SEs from RunningStats
    title = "Mish: Gaussian moments, quadrature vs Monte-Carlo"
    description = """
    For g ~ N(0, 1) and Mish f(x) = x·tanh(softplus(x)), compares the second moment
    E[f(g)²] (the normalising constant of the kernel map φ = f/√E f(g)²) and the mean
    E[f(g)] computed by 200-point Gauss–Hermite quadrature with a streaming Monte-Carlo
    estimate (mean ± standard error over the samples so far). Each row adds one chunk of
    samples; the error should shrink like 1/√n and stay within a few standard errors.
    """
    params = {
        "chunks": Int(20, ge=1, le=100_000, help="number of chunks of samples"),
        "chunk_size": Int(100_000, ge=100, le=10_000_000, help="samples per chunk"),
    }
    plot = Plot(table="moments", x="samples", y=("m2_theory", "m2_mc"),
                se={"m2_mc": "m2_se"}, title="E f(g)²: quadrature vs Monte-Carlo")
    compare = (Compare("E f(g)²", theory="m2_theory", measured="m2_mc", se="m2_se",
                       help="E f(g)² by Gauss–Hermite quadrature vs the sample mean of f(g)²"),
               Compare("E f(g)", theory="m1_theory", measured="m1_mc", se="m1_se",
                       help="E f(g) by Gauss–Hermite quadrature vs the sample mean of f(g)"))

    def run(self, p, ctx):
        from .kernels import mish_moments  # numba is imported only when a run starts

        m1_theory = gaussian_moment(mish)
        m2_theory = gaussian_moment(lambda x: mish(x) ** 2)
        yield Frame(message="compiling kernel…", total=p.chunks, step=0,
                    summary={"m1_theory": m1_theory, "m2_theory": m2_theory})
        stats = RunningStats(2)  # of (f(g), f(g)²)
        columns = ["samples", "m2_theory", "m2_mc", "m2_se", "m1_theory", "m1_mc", "m1_se"]
        for chunk, (mean, m2) in ctx.map_chunks(mish_moments, p.chunks * p.chunk_size,
                                                p.chunk_size):
            stats.merge_moments(chunk.size, mean, m2)
            (m1, m2_mc), (m1_se, m2_se) = stats.mean, stats.se
            row = [stats.count, m2_theory, m2_mc, m2_se, m1_theory, m1, m1_se]
            yield Frame(step=chunk.index + 1, total=chunk.count, message="sampling",
                        tables={"moments": Table(columns, [row])},
                        series={"m2_mc": [m2_mc]},
                        summary={"m1_mc": m1, "m1_se": m1_se, "m2_mc": m2_mc, "m2_se": m2_se,
                                 "m2_z": (m2_mc - m2_theory) / m2_se})
