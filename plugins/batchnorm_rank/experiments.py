"""Experiments of the ``batchnorm_rank`` plugin: depth, compare (gaussian vs orthogonal),
settle (final rank against √d over a grid of widths)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from matexplore import (Bool, Choice, Compare, Experiment, ExperimentError, Frame, Int,
                        IntList, Plot, RunContext, Series, Table, registered_activations)
from matexplore.params import Params

from . import theory as th

MEASURES = ("participation_ratio", "entropy_rank", "numerical_rank", "mean_log_eig",
            "log_min_eig")
LAYER_COLUMNS = ("layer",) + MEASURES + ("dlogdet_weights", "dlogdet_weights_theory",
                                         "dlogdet_bn", "dlogdet_bn_source", "dlogdet_act",
                                         "sqrt_width", "batch", "min_eig_below_range",
                                         "eig_method")
HIST_BINS = 30

MODEL = """Model: H₀ ∈ R^{d×n} i.i.d. N(0,1) (d features, batch n); H_ℓ = BN(φ(W_ℓ H_{ℓ−1})),
W_ℓ i.i.d. N(0, 1/d) or Haar orthogonal; BN divides every row by its RMS over the batch
(optionally after subtracting the row mean). Batch Gram G_ℓ = H_ℓᵀH_ℓ/d (tr G = n).
Rank measures: participation ratio PR = (Σλ)²/Σλ²; entropy rank exp(−Σ p log p), p = λ/Σλ;
numerical rank #{λ > 10⁻³ λ_max}; mean log-eigenvalue (1/m) log det G; log λ_min.
With centring G has a structural zero eigenvalue along the all-ones vector; all measures
then use the other m = n − 1 eigenvalues (m = n otherwise)."""

NUMERICS = """Numerics: H is kept as Q·R (QR form), so every Δ log det G is 2Σlog|diag| of a
well-conditioned QR — exact however small λ_min gets. Eigenvalues: LAPACK eigvalsh of RᵀR/d,
or one-sided Jacobi on R (high relative accuracy) when λ_min/λ_max < 1e−10. An eigenvalue
below 1e−300·λ_max is not representable: log_min_eig is then null and
min_eig_below_range = 1. sampler=full draws W (d×d); sampler=reduced draws W·Q from its
exact law (i.i.d. Gaussian / Haar frame), the same process at d/n the cost."""


def activation_choices() -> list[str]:
    """"linear" and every registered activation."""
    return ["linear"] + sorted(registered_activations())


def common_params(width: int, batch: int, depth: int) -> dict[str, Any]:
    """The parameters shared by all three experiments."""
    return {
        "width": Int(width, ge=2, le=4096, help="d, the number of features"),
        "batch": Int(batch, ge=2, le=512, help="n, the batch size (n ≤ d)"),
        "depth": Int(depth, ge=1, le=100_000, help="L, the number of layers"),
        "center": Bool(False, help="subtract the batch mean of every feature in BN"),
        "activation": Choice(activation_choices, default="linear",
                             help="φ between the weights and BN"),
        "sampler": Choice(["full", "reduced"], default="full",
                          help="full: draw W (d×d); reduced: draw W·Q from its exact law"),
    }


def resolve_activation(name: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """The vectorised fn of a registered activation (None for linear)."""
    if name == "linear":
        return None
    acts = registered_activations()
    if name not in acts:
        raise ExperimentError(f"Activation {name!r} is not registered.")
    return acts[name].fn


def check_sizes(d: int, n: int) -> None:
    """The Gram must be generically full rank at layer 0: n ≤ d."""
    if n > d:
        raise ExperimentError(f"batch n = {n} exceeds width d = {d}: the n×n Gram would be "
                              "singular from the start; use batch ≤ width.")


def eig_histogram(lam: np.ndarray, n: int) -> Table:
    """Histogram of log10 λ over representable eigenvalues (replaces the previous one)."""
    logs = np.log10(lam[lam > 0])
    lo = max(min(-3.0, math.floor(logs.min())), -320.0) if logs.size else -3.0
    hi = math.ceil(math.log10(n) + 0.1)
    counts, edges = np.histogram(logs, bins=HIST_BINS, range=(lo, hi))
    centres = 0.5 * (edges[:-1] + edges[1:])
    return Table(["log10_eig", "count"], [[float(c), int(k)] for c, k in zip(centres, counts)],
                 replace=True)


def layer_row(s: Any, theory: float, d: int, n: int) -> list[Any]:
    """One row of the ``layers`` table from a LayerStats."""
    return [s.layer, s.participation_ratio, s.entropy_rank, s.numerical_rank,
            s.mean_log_eig, s.log_min_eig, s.dlogdet_weights, theory, s.dlogdet_bn,
            s.dlogdet_bn_source, s.dlogdet_act, math.sqrt(d), n, int(s.min_eig_below_range),
            s.eig_method]


def make_chain(p: Params, ctx: RunContext, weights: str, d: int) -> Any:
    """A fresh BNChain (imports numba lazily)."""
    from .chain import BNChain

    return BNChain(d, p.batch, weights, p.center, resolve_activation(p.activation),
                   p.sampler, ctx.rng, threads=ctx.threads, layers=p.depth)


def layer_message(s: Any, depth: int) -> str:
    """Status line of a layer: progress, and a warning when λ_min left the double range."""
    text = f"layer {s.layer} / {depth}"
    if s.min_eig_below_range:
        text += (": λ_min < 1e−300·λ_max — below the representable range, "
                 "log_min_eig reported as null")
    return text


#: Results changed in 2: the full Gaussian W is drawn from per-block Generator streams;
#: in 3: a full Gaussian weight step takes its log det from a Cholesky factor and leaves the
#: re-factorisation to the BN step (one QR per layer: same law, other rounding).
VERSION = "3"


class Depth(Experiment):
    id = "batchnorm-rank.depth"
    version = VERSION
    title = "Batch norm: rank of the batch Gram through depth"
    description = f"""{MODEL}

Compared, per layer: the change of log det G split into the weight step and the BN step.
Weight step (exact, Bartlett): log det((WH)ᵀWH) − log det(HᵀH) has mean
m·log(2/d) + Σ_{{i=1}}^{{m}} ψ((d−i+1)/2) ≈ −m(m+1)/(2d) − m³/(6d²) (gaussian), 0 (orthogonal).
The source writes −n²/(2d) (missing −n/(2d)); summary dlogdet_weights_source shows it.
BN step: measured; beside it the source's sub-rotation value (m/d)Σ log D_ii²
(dlogdet_bn_source), which rests on a false lemma (see mlp-collapse notes).
Hypotheses tested live: rank settles at ≈ √d — holds for PR ≈ min(n, √d) and entropy rank
≈ 1.15√d, NOT for numerical rank or log λ_min (small eigenvalues keep decaying);
orthogonal weights: no collapse; equilibrium mean log-eig −n/d, variance n²/d
(equilibrium_*_source vs var_log_eig; fails e.g. at d=1024, n=16).

{NUMERICS}"""
    params = common_params(256, 32, 300) | {
        "weights": Choice(["gaussian", "orthogonal"], default="gaussian",
                          help="law of W_ℓ")}
    plot = Plot(table="layers", x="layer", y=("participation_ratio", "entropy_rank",
                                              "sqrt_width"),
                title="rank measures of G_ℓ vs √d")
    compare = (Compare("Δ log det G, weight step (mean per layer)",
                       theory="dlogdet_weights_theory", measured="mean_dlogdet_weights",
                       se="se_dlogdet_weights", source="dlogdet_weights_source",
                       help="E Δ log det = Σ_{k<n} [ψ((d−k)/2) + log(2/d)] (exact); "
                            "the source's −n²/(2d)"),
               Compare("participation ratio vs √d", theory="sqrt_width",
                       measured="participation_ratio"))

    def run(self, p: Params, ctx: RunContext) -> Iterator[Frame]:
        d, n = p.width, p.batch
        check_sizes(d, n)
        yield Frame(message="compiling kernels…")
        chain = make_chain(p, ctx, p.weights, d)
        m = chain.m
        theory = th.weight_step_theory(d, m, p.weights)
        eq_mean, eq_var = th.equilibrium_source(d, n)
        static = {"sqrt_width": math.sqrt(d), "batch": n, "dlogdet_weights_theory": theory,
                  "dlogdet_weights_var_theory": (th.wishart_logdet_var(d, m)
                                                 if p.weights == "gaussian" else 0.0),
                  "dlogdet_weights_series": (th.wishart_logdet_series(d, m)
                                             if p.weights == "gaussian" else 0.0),
                  "dlogdet_weights_source": (th.wishart_logdet_source(d, m)
                                             if p.weights == "gaussian" else 0.0),
                  "equilibrium_mean_log_eig_source": eq_mean,
                  "equilibrium_var_log_eig_source": eq_var, "settle_prediction":
                  th.settle_prediction(d, n)}
        dws: list[float] = []
        for _ in range(p.depth):
            if ctx.cancelled:
                return
            s = chain.step(lambda: ctx.cancelled)
            if s is None:
                return
            dws.append(s.dlogdet_weights)
            yield self.frame(s, p, theory, dws, static if s.layer == 1 else {})

    def frame(self, s: Any, p: Params, theory: float, dws: list[float],
              extra: dict[str, Any]) -> Frame:
        d, n = p.width, p.batch
        arr = np.asarray(dws)
        logs = np.log(s.eigs[s.eigs > 0])
        summary = {k: getattr(s, k) for k in MEASURES} | extra | {
            "mean_dlogdet_weights": float(arr.mean()),
            "se_dlogdet_weights": float(arr.std(ddof=1) / math.sqrt(arr.size))
            if arr.size > 1 else None,
            "min_eig_below_range": int(s.min_eig_below_range),
            "var_log_eig": None if s.min_eig_below_range else float(logs.var()),
            "dead_rows": s.dead_rows, "layer": s.layer}
        return Frame(step=s.layer, total=p.depth, message=layer_message(s, p.depth),
                     tables={"layers": Table(list(LAYER_COLUMNS),
                                             [layer_row(s, theory, d, n)]),
                             "eig_histogram": eig_histogram(s.eigs, n)},
                     series={"participation_ratio": [s.participation_ratio],
                             "entropy_rank": [s.entropy_rank],
                             "numerical_rank": [s.numerical_rank],
                             "log_min_eig": [s.log_min_eig if s.log_min_eig is not None
                                             else math.nan],
                             "log10_eigs": Series(np.log10(np.maximum(s.eigs, 1e-320))
                                                  .tolist(), replace=True)},
                     summary=summary)


class CompareWeights(Experiment):
    id = "batchnorm-rank.compare"
    version = VERSION
    title = "Batch norm: gaussian vs orthogonal weights side by side"
    description = f"""{MODEL}

The same network run twice per layer, with gaussian and with Haar orthogonal W (independent
draws), two columns per measure (<measure>_gaussian, <measure>_orthogonal). Hypothesis 4
(source): orthogonal weights lack the −n/(2d) weight term, so the rank does not collapse.
Confirmed: gaussian PR settles near min(n, √d), orthogonal PR tends to n (isometry);
the weight-step Δ log det is exactly 0 for orthogonal W and has mean
m·log(2/d) + Σψ((d−i+1)/2) for gaussian W.

{NUMERICS}"""
    params = common_params(256, 32, 300)
    plot = Plot(table="layers", x="layer",
                y=("participation_ratio_gaussian", "participation_ratio_orthogonal",
                   "sqrt_width", "batch"),
                title="PR: gaussian vs orthogonal W")
    compare = (Compare("PR gaussian vs √d", theory="sqrt_width",
                       measured="participation_ratio_gaussian"),
               Compare("PR orthogonal vs n", theory="batch",
                       measured="participation_ratio_orthogonal"),
               Compare("Δ log det G weight step (gaussian)", theory="dlogdet_weights_theory",
                       measured="mean_dlogdet_weights_gaussian"))

    def run(self, p: Params, ctx: RunContext) -> Iterator[Frame]:
        d, n = p.width, p.batch
        check_sizes(d, n)
        yield Frame(message="compiling kernels…")
        chains = {w: make_chain(p, ctx, w, d) for w in ("gaussian", "orthogonal")}
        m = chains["gaussian"].m
        columns = ["layer"] + [f"{k}_{w}" for k in MEASURES + ("dlogdet_weights", "dlogdet_bn")
                               for w in chains] + ["sqrt_width", "batch"]
        sums = {w: 0.0 for w in chains}
        static = {"sqrt_width": math.sqrt(d), "batch": n,
                  "dlogdet_weights_theory": th.wishart_logdet_mean(d, m)}
        for layer in range(1, p.depth + 1):
            stats = {}
            for w, chain in chains.items():
                if ctx.cancelled:
                    return
                stats[w] = chain.step(lambda: ctx.cancelled)
                if stats[w] is None:
                    return
                sums[w] += stats[w].dlogdet_weights
            row = [layer] + [getattr(stats[w], k) for k in MEASURES
                             + ("dlogdet_weights", "dlogdet_bn") for w in chains]
            summary = {f"{k}_{w}": getattr(stats[w], k) for k in MEASURES for w in chains}
            summary |= {f"mean_dlogdet_weights_{w}": sums[w] / layer for w in chains}
            yield Frame(step=layer, total=p.depth, summary=summary | static,
                        tables={"layers": Table(columns, [row + [math.sqrt(d), n]])},
                        message=layer_message(stats["gaussian"], p.depth))


class Settle(Experiment):
    id = "batchnorm-rank.settle"
    version = VERSION
    title = "Batch norm: where the rank settles, against √d"
    description = f"""{MODEL}

For each width d of a small grid (fixed batch n, depth L): the final participation ratio,
entropy rank and numerical rank, against √d and min(n, √d) (hypothesis 3: "the rank settles
at ≈ √d"). Measured: PR ≈ min(n, √d), entropy rank ≈ 1.15·√d; numerical rank does not
settle at √d. One row per width in table `widths`.

{NUMERICS}"""
    params = common_params(256, 64, 300) | {
        "widths": IntList([64, 256, 1024], ge=2, le=4096, help="the grid of widths d"),
        "weights": Choice(["gaussian", "orthogonal"], default="gaussian",
                          help="law of W_ℓ")}
    params.pop("width")
    plot = Plot(table="widths", x="width", y=("participation_ratio", "entropy_rank",
                                              "sqrt_width", "settle_prediction"),
                title="final rank measures vs √d")
    compare = (Compare("PR vs min(n, √d), last width", theory="settle_prediction_last",
                       measured="participation_ratio_last"),
               Compare("entropy rank vs √d, last width", theory="sqrt_width_last",
                       measured="entropy_rank_last"))

    def run(self, p: Params, ctx: RunContext) -> Iterator[Frame]:
        for d in p.widths:
            check_sizes(d, p.batch)
        yield Frame(message="compiling kernels…")
        columns = ["width", "sqrt_width", "batch", "participation_ratio", "entropy_rank",
                   "numerical_rank", "mean_log_eig", "log_min_eig", "settle_prediction",
                   "pr_over_prediction", "entropy_rank_over_sqrt_width"]
        total = p.depth * len(p.widths)
        for k, d in enumerate(p.widths):
            chain = make_chain(p, ctx, p.weights, d)
            s = None
            for layer in range(1, p.depth + 1):
                if ctx.cancelled:
                    return
                s = chain.step(lambda: ctx.cancelled)
                if s is None:
                    return
                if layer % 10 == 0 and layer < p.depth:
                    yield Frame(step=k * p.depth + layer, total=total,
                                message=f"width {d}: layer {layer} / {p.depth}")
            pred = th.settle_prediction(d, p.batch)
            row = [d, math.sqrt(d), p.batch, s.participation_ratio, s.entropy_rank,
                   s.numerical_rank, s.mean_log_eig, s.log_min_eig, pred,
                   s.participation_ratio / pred, s.entropy_rank / math.sqrt(d)]
            yield Frame(step=(k + 1) * p.depth, total=total,
                        message=f"width {d} done ({k + 1} / {len(p.widths)} widths)",
                        tables={"widths": Table(columns, [row])},
                        summary={"settle_prediction_last": pred,
                                 "participation_ratio_last": s.participation_ratio,
                                 "sqrt_width_last": math.sqrt(d),
                                 "entropy_rank_last": s.entropy_rank,
                                 f"participation_ratio_d{d}": s.participation_ratio,
                                 f"entropy_rank_d{d}": s.entropy_rank})
