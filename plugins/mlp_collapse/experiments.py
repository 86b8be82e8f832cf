"""The five mlp_collapse experiments: measured (Monte-Carlo) | exact | source, side by side.

numba kernels are imported lazily inside ``run`` (listing plugins stays cheap).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from matexplore import (Bool, Choice, Compare, Experiment, ExperimentError, Float, Frame,
                        Int, IntList, Plot, RunContext, Table)

from . import theory as T
from .streaming import LayerHistogram, Moments

LOG_1E4 = math.log(1e-4)      # ‖x‖ < 0.01  ⇔  Y = log‖x‖² < log 1e-4
LOG_100 = math.log(100.0)     # ‖x‖ > 10    ⇔  Y > log 100
FRAME_EVERY = 0.25            # seconds between progress frames
HIST_BINS, HIST_SHOWN = 512, 64


def _threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def _chunks(total: int, size: int) -> list[int]:
    """Split ``total`` items into chunks of ``size`` (the last one shorter)."""
    return [min(size, total - k) for k in range(0, total, size)]


def _map_in_order(ctx: RunContext, fn: Callable[..., Any], calls: Sequence[tuple],
                  threads: int) -> Iterator[tuple[int, Any]]:
    """Run ``fn(*args)`` for each call, ``threads`` at a time (numba kernels release the
    GIL), yielding (index, result) in call order; stops early when cancelled."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for start in range(0, len(calls), threads):
            if ctx.cancelled:
                return
            batch = [pool.submit(fn, *args) for args in calls[start:start + threads]]
            for k, fut in enumerate(batch):
                yield start + k, fut.result()


def _none_if_nan(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _py(row: Sequence[Any]) -> list:
    """Plain Python scalars (NumPy floats/ints converted) for a table row."""
    return [v.item() if isinstance(v, np.generic) else v for v in row]


# ======================================================================================
# 1. Norms
# ======================================================================================

class Norms(Experiment):
    id = "mlp-collapse.norms"
    title = "Heavy-tailed norms of deep linear MLPs"
    description = """\
x_ℓ = W_ℓ x_{ℓ−1}, W_ℓ ∈ R^{d_ℓ×d_{ℓ−1}} i.i.d. N(0, 1/d_{ℓ−1}), ‖x_0‖ = 1.
Exact law (rotation invariance): Y_ℓ = log(‖x_ℓ‖²/‖x_0‖²) = Σ_{k≤ℓ} log(χ²_{d_k}/d_{k−1}),
independent terms: E Y_ℓ = Σ[ψ(d_k/2) + log(2/d_{k−1})] ≈ −Σ 1/d_k,
Var Y_ℓ = Σ ψ'(d_k/2) ≈ Σ 2/d_k. The source (Corollary 1) states N(−Σ 1/(2d_k), Σ 2/d_k):
its mean is off by a factor 2 (the log-det expansion drops −n/(2d)).
E‖x_L‖² = 1 exactly, yet the median of ‖x_L‖ collapses: the mean is carried by rare
huge values (mean_norm_sq). Columns: measured (_mc), exact (_exact: ψ-sums; median and
tail fractions by Fourier inversion of the exact characteristic function
Π Γ(d_k/2 + it)/Γ(d_k/2)·(2/d_{k−1})^{it}) and source (_source: the source's Gaussian).
Fractions count ‖x_ℓ‖ < 0.01 and > 10 exactly; the median comes from a streaming
histogram of Y_ℓ (512 bins over E Y ± 8 sd: resolution sd/32, linear interpolation).
Samplers: vector (‖W x‖² = ‖g‖²/d_{ℓ−1}, g ∈ R^{d_ℓ}: O(d) normals per layer),
chi2 (one χ²_{d_ℓ} draw per layer), matrix (explicit W and x: O(d²), for validation)."""
    params = {
        "width": Int(10, ge=1, le=4096, help="width d of every layer (input included)"),
        "widths": IntList([], min_len=0, ge=1, le=4096,
                          help="d_0,…,d_L (overrides width and depth)"),
        "depth": Int(100, ge=1, le=1000, help="number of layers L"),
        "networks": Int(100_000, ge=2, le=10_000_000, help="number of random networks"),
        "sampler": Choice(["vector", "chi2", "matrix"], default="chi2",
                          help="exact O(d) vector sampler, χ² sampler, or explicit matrices"),
    }
    plot = Plot(table="histogram", x="log10_norm",
                y=("density_exact", "density", "density_source"),
                title="density of log10‖x_L‖: exact | measured | source")
    compare = (Compare("E log‖x_L‖² (exact)", theory="mean_exact", measured="mean_mc",
                       se="mean_se"),
               Compare("E log‖x_L‖² (source)", theory="mean_source", measured="mean_mc",
                       se="mean_se"),
               Compare("Var log‖x_L‖² (exact)", theory="var_exact", measured="var_mc"),
               Compare("Var log‖x_L‖² (source)", theory="var_source", measured="var_mc"),
               Compare("median ‖x_L‖", theory="median_exact", measured="median_norm"),
               Compare("P(‖x_L‖ < 0.01)", theory="frac_below_0_01_exact",
                       measured="frac_below_0_01"),
               Compare("P(‖x_L‖ > 10)", theory="frac_above_10_exact",
                       measured="frac_above_10"),
               Compare("E‖x_L‖²", theory="mean_norm_sq_exact", measured="mean_norm_sq"))

    COLUMNS = ["layer", "mean_mc", "var_mc", "mean_exact", "var_exact", "mean_source",
               "var_source", "median_norm", "frac_below_0_01", "frac_above_10",
               "mean_se", "median_exact", "median_source", "frac_below_0_01_exact",
               "frac_below_0_01_source", "frac_above_10_exact", "frac_above_10_source"]

    @staticmethod
    def widths_of(p: Any) -> list[int]:
        if p.widths:
            if len(p.widths) < 2:
                raise ExperimentError("widths must list d_0, …, d_L: at least two entries.")
            return list(p.widths)
        return [p.width] * (p.depth + 1)

    def run(self, p: Any, ctx: RunContext) -> Iterator[Frame]:
        widths = self.widths_of(p)
        L = len(widths) - 1
        if p.widths:
            yield Frame(message=f"widths given: depth = {L} (the depth parameter is ignored)")
        yield Frame(message="computing the exact law (Fourier inversion)…")
        exact = self._exact_columns(widths)
        yield Frame(message="compiling kernels…")
        from . import kernels as K

        mode = {"chi2": K.MODE_CHI2, "vector": K.MODE_VECTOR,
                "matrix": K.MODE_MATRIX}[p.sampler]
        w = np.asarray(widths, dtype=np.int64)
        work = {"chi2": 4 * L, "vector": int(w[1:].sum()),
                "matrix": int((w[1:] * w[:-1]).sum())}[p.sampler]
        sizes = _chunks(p.networks, max(1, 400_000 // work))
        seeds = ctx.child_seeds(len(sizes))
        mom, nsq = Moments(L), Moments(1)
        hist = LayerHistogram(exact["mean_exact"], np.sqrt(exact["var_exact"]), HIST_BINS)
        below, above = np.zeros(L, np.int64), np.zeros(L, np.int64)
        calls = [(int(s), n, w, mode, hist.lo, hist.inv_width, HIST_BINS, LOG_1E4, LOG_100)
                 for s, n in zip(seeds, sizes)]
        note = f" (widths given: depth = {L})" if p.widths else ""
        last, done = time.monotonic(), 0
        for i, (m, m2, h, b, a, nm, nm2) in _map_in_order(ctx, K.norms_chunk, calls,
                                                          _threads()):
            mom.merge(sizes[i], m, m2)
            nsq.merge(sizes[i], np.array([nm]), np.array([nm2]))
            hist.counts += h
            below += b
            above += a
            done += sizes[i]
            if i == len(sizes) - 1 or time.monotonic() - last > FRAME_EVERY:
                last = time.monotonic()
                yield self._frame(done, p.networks, exact, mom, nsq, hist, below, above,
                                  f"sampling: {done:,} / {p.networks:,} networks{note}")

    @staticmethod
    def _exact_columns(widths: list[int]) -> dict[str, np.ndarray]:
        law = T.LogNormLaw(widths)
        L = len(widths) - 1
        ms, vs = T.norms_mean_source(widths), T.norms_var_source(widths)
        med = np.empty(L)
        fb = np.empty(L)
        fa = np.empty(L)
        for ell in range(1, L + 1):
            med[ell - 1] = math.exp(law.quantile(0.5, ell) / 2)
            fb[ell - 1], c100 = law.cdf([LOG_1E4, LOG_100], ell)
            fa[ell - 1] = 1 - c100
        return {"law": law, "mean_exact": law.mean, "var_exact": law.var,
                "mean_source": ms, "var_source": vs, "median_exact": med,
                "median_source": np.exp(ms / 2),
                "frac_below_0_01_exact": fb,
                "frac_below_0_01_source": T.gaussian_cdf(LOG_1E4, ms, vs),
                "frac_above_10_exact": fa,
                "frac_above_10_source": 1 - T.gaussian_cdf(LOG_100, ms, vs)}

    def _frame(self, done: int, total: int, ex: dict, mom: Moments, nsq: Moments,
               hist: LayerHistogram, below: np.ndarray, above: np.ndarray,
               message: str) -> Frame:
        L = len(mom.mean)
        rows = []
        for j in range(L):
            q = hist.quantile(0.5, j)
            rows.append([j + 1, mom.mean[j], mom.var[j], ex["mean_exact"][j],
                         ex["var_exact"][j], ex["mean_source"][j], ex["var_source"][j],
                         None if q is None else math.exp(q / 2), below[j] / done,
                         above[j] / done, mom.se[j], ex["median_exact"][j],
                         ex["median_source"][j], ex["frac_below_0_01_exact"][j],
                         ex["frac_below_0_01_source"][j], ex["frac_above_10_exact"][j],
                         ex["frac_above_10_source"][j]])
        rows = [_py(r) for r in rows]
        summary = dict(zip(self.COLUMNS[1:], rows[-1][1:]))
        summary.update(mean_norm_sq=float(nsq.mean[0]), mean_norm_sq_exact=1.0,
                       mean_norm_sq_se=_none_if_nan(float(nsq.se[0])), networks_done=done)
        return Frame(step=done, total=total, message=message,
                     tables={"layers": Table(self.COLUMNS, rows, replace=True),
                             "histogram": self._histogram(ex, hist, L, mom)},
                     summary=summary)

    @staticmethod
    def _histogram(ex: dict, hist: LayerHistogram, L: int, mom: Moments) -> Table:
        """Final-layer histogram of log10‖x_L‖ = Y_L/(2 ln 10), 64 bins."""
        edges_y, frac = hist.rebinned(L - 1, HIST_BINS // HIST_SHOWN)
        f_exact = np.diff(ex["law"].cdf(edges_y, L))
        f_src = np.diff(T.gaussian_cdf(edges_y, ex["mean_source"][-1], ex["var_source"][-1]))
        edges = edges_y / (2 * T.LN10)
        width = edges[1] - edges[0]
        centres = 0.5 * (edges[1:] + edges[:-1])
        rows = [_py([c, f, fe, fs, f / width, fe / width, fs / width])
                for c, f, fe, fs in zip(centres, frac, f_exact, f_src)]
        return Table(["log10_norm", "fraction", "fraction_exact", "fraction_source",
                      "density", "density_exact", "density_source"], rows, replace=True)


# ======================================================================================
# 2. Angles
# ======================================================================================

class Angles(Experiment):
    id = "mlp-collapse.angles"
    title = "Angle collapse of two inputs through a deep linear MLP"
    description = """\
Two inputs at angle θ_0 through the same network (W_ℓ d×d, N(0, 1/d)).
Z_ℓ = log(sin²θ_ℓ/sin²θ_0). Exact per-layer increment mean, at every angle:
ψ((d−1)/2) − ψ(d/2) ≈ −1/d (from Δ = log det GᵀG − log‖Ga‖² − log‖Gb‖², G d×2 Gaussian).
Exact conditional variance: Var[Δ | θ] = ψ'((d−1)/2) − ψ'(d/2) + 2c(cos²θ),
c(ρ²) = Σ_k ρ^{2k}(k−1)!/(k (d/2)_k) = Cov(log‖Ga‖², log‖Gb‖²) (≈ 4cos²θ/d); the
small-angle law is ψ'((d−1)/2) + ψ'(d/2) ≈ 4/d per layer. Since the mean increment does
not depend on θ, Z_ℓ − E Z_ℓ is a martingale: Var Z_ℓ = Σ_k E Var[Δ_k | θ_{k−1}]
(var_exact_conditional, evaluated on the measured angles; var_cos2_law is the notes'
first-order Σ cos²θ_{k−1}·[ψ'((d−1)/2)+ψ'(d/2)]). The source (Corollary 2) states
N(−Σ 1/d, Σ 8/d): mean right to first order, variance wrong (it adds the variances of
correlated terms). RMS normalisation rescales x and y and cannot change the angle: with
the gram sampler it is a no-op; with the matrix sampler it is applied to explicit vectors.
Samplers: gram (the pair in its own orthonormal frame, O(d) per layer, log sinθ tracked
in log space: no underflow), chi2 (the same step from its sufficient statistics
‖g₁‖² ~ χ²_d, g₁·g₂/‖g₁‖ ~ N(0, 1), residual² ~ χ²_{d−1}: O(1) per layer), matrix (explicit W; loses precision once sinθ ≲ 1e-7)."""
    params = {
        "width": Int(32, ge=2, le=4096, help="width d of every layer"),
        "depth": Int(100, ge=1, le=10_000, help="number of layers L"),
        "theta0": Float(90.0, gt=0, lt=180, help="initial angle θ_0 in degrees"),
        "networks": Int(3000, ge=2, le=10_000_000, help="number of random networks"),
        "normalize": Bool(False, help="RMS-normalise every layer (must not change angles)"),
        "sampler": Choice(["gram", "chi2", "matrix"], default="gram",
                          help="O(d) Gram sampler, O(1) Bartlett sampler or explicit matrices"),
    }
    plot = Plot(table="layers", x="layer",
                y=("var_exact_conditional", "var_log_sin2", "var_exact_small_angle",
                   "var_source"),
                title="Var log(sin²θ_ℓ/sin²θ_0): exact | measured | small-angle | source")
    compare = (Compare("E log sin² ratio (exact)", theory="mean_exact_small_angle",
                       measured="mean_log_sin2", se="mean_se"),
               Compare("E log sin² ratio (source)", theory="mean_source",
                       measured="mean_log_sin2", se="mean_se"),
               Compare("Var (exact, conditional)", theory="var_exact_conditional",
                       measured="var_log_sin2"),
               Compare("Var (small-angle law)", theory="var_exact_small_angle",
                       measured="var_log_sin2"),
               Compare("Var (source)", theory="var_source", measured="var_log_sin2"))

    COLUMNS = ["layer", "mean_log_sin2", "var_log_sin2", "mean_exact_small_angle",
               "var_exact_small_angle", "mean_source", "var_source", "mean_se",
               "var_exact_conditional", "var_cos2_law", "mean_cos2_prev"]
    COV_TERMS = 4096

    def run(self, p: Any, ctx: RunContext) -> Iterator[Frame]:
        d, L = p.width, p.depth
        yield Frame(message="compiling kernels…")
        from . import kernels as K

        mode = {"gram": K.MODE_GRAM, "chi2": K.MODE_CHI2, "matrix": K.MODE_MATRIX}[p.sampler]
        work = {"gram": 3 * d * L, "chi2": 40 * L, "matrix": d * d * L}[p.sampler]
        sizes = _chunks(p.networks, max(1, 400_000 // work))
        seeds = ctx.child_seeds(len(sizes))
        theta0 = math.radians(p.theta0)
        mom, side = Moments(L), Moments(2 * L)
        calls = [(int(s), n, d, L, theta0, mode, bool(p.normalize), self.COV_TERMS)
                 for s, n in zip(seeds, sizes)]
        last, done = time.monotonic(), 0
        for i, (m, m2, c2, cv) in _map_in_order(ctx, K.angles_chunk, calls, _threads()):
            mom.merge(sizes[i], m, m2)
            side.merge(sizes[i], np.concatenate([c2, cv]), np.zeros(2 * L))
            done += sizes[i]
            if i == len(sizes) - 1 or time.monotonic() - last > FRAME_EVERY:
                last = time.monotonic()
                yield self._frame(d, L, done, p.networks, mom, side)

    def _frame(self, d: int, L: int, done: int, total: int, mom: Moments,
               side: Moments) -> Frame:
        cos2, cov = side.mean[:L], side.mean[L:]
        base = T.angle_increment_var_small_angle(d)
        cond = np.cumsum(T.angle_increment_var(d, 0.0)[0] + 2 * cov)
        cols = [np.arange(1, L + 1), mom.mean, mom.var, T.angles_mean_exact(d, L),
                T.angles_var_small_angle(d, L), T.angles_mean_source(d, L),
                T.angles_var_source(d, L), mom.se, cond, np.cumsum(cos2 * base), cos2]
        rows = [list(r) for r in zip(*cols)]
        rows = [[int(r[0])] + [float(v) for v in r[1:]] for r in rows]
        return Frame(step=done, total=total,
                     message=f"sampling: {done:,} / {total:,} networks",
                     tables={"layers": Table(self.COLUMNS, rows, replace=True)},
                     summary={**dict(zip(self.COLUMNS[1:], rows[-1][1:])),
                              "networks_done": done})


# ======================================================================================
# 3. RMS-normalised MLP: rank-1 Jacobian, vanishing gradients
# ======================================================================================

class RmsJacobian(Experiment):
    id = "mlp-collapse.rms-jacobian"
    title = "RMS-normalised linear MLP: rank collapse of the Jacobian"
    description = """\
x̃_ℓ = x_ℓ/‖x_ℓ‖_rms, x_{ℓ+1} = W_{ℓ+1} x̃_ℓ (W d×d, N(0, 1/d)), loss ℒ = ⟨a, x̃_L⟩ with a
random unit a. The Jacobian ∂x̃_L/∂x̃_ℓ ∝ (I − x̂_L x̂_Lᵀ) Q_ℓ, Q_ℓ = W_L⋯W_{ℓ+1}; when Q_ℓ
is rank one it vanishes (the source's remark). Per layer ℓ (mean over networks):
stable rank ‖Q_ℓ‖_F²/‖Q_ℓ‖_2², log σ_2/σ_1 of Q_ℓ (SVD of the product rescaled at every
factor: exact while σ_2/σ_1 ≫ 1e-13), ‖∂ℒ/∂W_{ℓ+1}‖_F by back-propagation (grad_norm is
the geometric mean over networks: the norm carries 1/‖Q_ℓ x̃_ℓ‖, whose arithmetic mean
is dominated by rare inputs nearly orthogonal to the top singular vector; the arithmetic
mean is grad_norm_arith_mean), and sin²θ
between Q_ℓ u and Q_ℓ v for random orthonormal u, v. Theory (Lyapunov exponents of
Gaussian products, not in the source): λ_i = ½[ψ((d−i+1)/2) + log(2/d)], so
log σ_2/σ_1 ≈ (λ_2 − λ_1)(L − ℓ), λ_2 − λ_1 = ½[ψ((d−1)/2) − ψ(d/2)] ≈ −1/(2d).
lyapunov_gap_measured is the least-squares slope of the mean log σ_2/σ_1 against the
number of factors L − ℓ over the deeper half (L − ℓ ≥ L/2; the first factors carry an
O(1) offset)."""
    params = {
        "width": Int(64, ge=2, le=512, help="width d"),
        "depth": Int(64, ge=2, le=2000, help="number of layers L"),
        "networks": Int(32, ge=1, le=100_000, help="number of random networks"),
    }
    plot = Plot(table="layers", x="layer",
                y=("lyapunov_prediction", "log_sigma2_over_sigma1"),
                title="log σ2/σ1 of W_L⋯W_{ℓ+1}: Lyapunov prediction | measured")
    compare = (Compare("slope of log σ2/σ1 per layer", theory="lyapunov_gap_theory",
                       measured="lyapunov_gap_measured", se="lyapunov_gap_se"),)

    COLUMNS = ["layer", "stable_rank", "log_sigma2_over_sigma1", "lyapunov_prediction",
               "grad_norm", "sin2_outputs", "factors", "log_sigma2_over_sigma1_se",
               "log_grad_norm", "grad_norm_arith_mean"]

    def run(self, p: Any, ctx: RunContext) -> Iterator[Frame]:
        d, L = p.width, p.depth
        gap = T.lyapunov_gap(d)
        if gap * L < -28:
            raise ExperimentError(
                f"σ2/σ1 would fall to about e^{gap * L:.0f}, beyond double precision for "
                "an SVD of the product; use depth ≤ 56·width.")
        mom = Moments(5 * L)
        last = time.monotonic()
        for k in range(p.networks):
            if ctx.cancelled:
                return
            mom.add_values(self._one_network(ctx.rng, d, L)[None, :])
            if k == p.networks - 1 or time.monotonic() - last > FRAME_EVERY:
                last = time.monotonic()
                yield self._frame(d, L, gap, k + 1, p.networks, mom)

    @staticmethod
    def _one_network(rng: np.random.Generator, d: int, L: int) -> np.ndarray:
        """Per ℓ = 0..L−1: stable rank, log σ2/σ1, ‖∂ℒ/∂W_{ℓ+1}‖, sin²(Qu, Qv), log grad."""
        W = rng.standard_normal((L, d, d)) / math.sqrt(d)
        x = rng.standard_normal(d)
        xs = [x / math.sqrt(x @ x / d)]          # x̃_0 … x̃_L (RMS 1)
        raw = []
        for k in range(L):
            z = W[k] @ xs[-1]
            raw.append(z)
            xs.append(z / math.sqrt(z @ z / d))
        a = rng.standard_normal(d)
        a /= np.linalg.norm(a)
        uv = np.linalg.qr(rng.standard_normal((d, 2)))[0]
        out = np.empty((5, L))
        delta = RmsJacobian._jt(raw[-1], a)       # ∂ℒ/∂x_L
        Q = np.eye(d)
        for ell in range(L - 1, -1, -1):          # Q_ℓ = Q_{ℓ+1} W_{ℓ+1}
            Q = Q @ W[ell]
            Q /= np.linalg.norm(Q)
            s = np.linalg.svd(Q, compute_uv=False)
            qu, qv = Q @ uv[:, 0], Q @ uv[:, 1]
            r = qv - (qu @ qv) / (qu @ qu) * qu
            g = np.linalg.norm(delta) * math.sqrt(d)   # ‖δ_{ℓ+1} x̃_ℓᵀ‖_F, ‖x̃_ℓ‖ = √d
            out[:, ell] = [(s**2).sum() / s[0] ** 2, math.log(s[1] / s[0]), g,
                           (r @ r) / (qv @ qv), math.log(g)]
            if ell > 0:
                delta = RmsJacobian._jt(raw[ell - 1], W[ell].T @ delta)
        return out.ravel()

    @staticmethod
    def _jt(x: np.ndarray, v: np.ndarray) -> np.ndarray:
        """J(x)ᵀv for x̃ = x/‖x‖_rms: J = (I − x̂x̂ᵀ)/‖x‖_rms (symmetric)."""
        xh = x / np.linalg.norm(x)
        return (v - (xh @ v) * xh) / math.sqrt(x @ x / len(x))

    def _frame(self, d: int, L: int, gap: float, done: int, total: int,
               mom: Moments) -> Frame:
        m = mom.mean.reshape(5, L)
        se = mom.se.reshape(5, L) if done > 1 else np.full((5, L), np.nan)
        factors = L - np.arange(L)
        rows = [_py([ell, m[0, ell], m[1, ell], gap * factors[ell], math.exp(m[4, ell]),
                     m[3, ell], int(factors[ell]), _none_if_nan(se[1, ell]), m[4, ell],
                     m[2, ell]])
                for ell in range(L)]
        deep = factors >= L / 2
        slope, slope_se = self._slope(factors[deep], m[1, deep], se[1, deep])
        return Frame(step=done, total=total,
                     tables={"layers": Table(self.COLUMNS, rows, replace=True)},
                     summary={"lyapunov_gap_measured": slope, "lyapunov_gap_theory": gap,
                              "lyapunov_gap_se": slope_se, "networks_done": done})

    @staticmethod
    def _slope(k: np.ndarray, y: np.ndarray, se: np.ndarray) -> tuple[float, float | None]:
        """Least-squares slope of y against k; its SE from the endpoint SEs (the layer
        points of one network are correlated, so the regression SE would be too small)."""
        kc = k - k.mean()
        slope = float((kc * (y - y.mean())).sum() / (kc**2).sum())
        span = float(k.max() - k.min())
        if span == 0 or not np.all(np.isfinite(se)):
            return slope, None
        return slope, float(math.hypot(se[k.argmax()], se[k.argmin()]) / span)


# ======================================================================================
# 4. Wishart log-determinants
# ======================================================================================

class LogDet(Experiment):
    id = "mlp-collapse.logdet"
    title = "Log-determinant of Wishart matrices"
    description = """\
W ∈ R^{d×n}, i.i.d. N(0, 1/d) (explicit matrices; log det by Gram–Schmidt).
Exact (Bartlett): E log det WᵀW = n log(2/d) + Σ_{i=0}^{n−1} ψ((d−i)/2),
Var = Σ_{i=0}^{n−1} ψ'((d−i)/2) ≈ −2 log(1 − n/d).
The source's expansion −n²/2d − n³/6d² − n⁴/3d³ misses −n/(2d) (and the n⁴ coefficient
is 1/12): leading order is −n(n+1)/(2d) (mean_leading_corrected; the corrected series
−n(n+1)/2d − n³/6d² − n⁴/12d³ is mean_series_corrected). The source's CLT variance 2n/d
(var_clt) is a small-n/d approximation. max_abs_z_exact = max_n |mc − exact|/se."""
    params = {
        "d": Int(64, ge=1, le=1024, help="rows d"),
        "n": IntList([1, 2, 4, 8, 16, 32, 64], ge=1, le=1024, help="columns n (n ≤ d)"),
        "samples": Int(4000, ge=2, le=10_000_000, help="matrices per n"),
    }
    plot = Plot(table="logdet", x="n",
                y=("mean_exact", "mean_mc", "mean_source_expansion", "mean_leading_corrected"),
                title="E log det WᵀW: exact | measured | source series | corrected")
    compare = (Compare("E log det (exact), last n", theory="mean_exact", measured="mean_mc",
                       se="mean_mc_se"),
               Compare("E log det (source series), last n", theory="mean_source_expansion",
                       measured="mean_mc", se="mean_mc_se"),
               Compare("Var log det (exact), last n", theory="var_exact", measured="var_mc"),
               Compare("Var log det (source CLT), last n", theory="var_clt",
                       measured="var_mc"),
               Compare("max |z| vs exact (0 ideal)", theory="zero", measured="max_abs_z_exact"))

    COLUMNS = ["n", "d", "mean_mc", "mean_mc_se", "mean_exact", "mean_source_expansion",
               "mean_leading_corrected", "var_mc", "var_exact", "var_clt",
               "mean_series_corrected", "var_log", "z_exact"]

    def run(self, p: Any, ctx: RunContext) -> Iterator[Frame]:
        d = p.d
        bad = [n for n in p.n if n > d]
        if bad:
            raise ExperimentError(f"every n must be at most d = {d}; got n = {bad[0]}.")
        yield Frame(message="compiling kernels…")
        from . import kernels as K

        zmax = 0.0
        for j, n in enumerate(p.n):
            sizes = _chunks(p.samples, max(1, 1_000_000 // (d * n * (n + 1))))
            seeds = ctx.child_seeds(len(sizes))
            mom = Moments(1)
            for i, vals in _map_in_order(ctx, K.logdet_chunk,
                                         [(int(s), k, d, n) for s, k in zip(seeds, sizes)], 1):
                mom.add_values(vals)
            if ctx.cancelled:
                return
            row = self._row(d, n, mom)
            zmax = max(zmax, abs(row[-1]))
            summary = dict(zip(self.COLUMNS, row))
            summary.update(max_abs_z_exact=zmax, zero=0.0)
            yield Frame(step=j + 1, total=len(p.n),
                        message=f"n = {n}: {p.samples:,} matrices done ({j + 1} / {len(p.n)})",
                        tables={"logdet": Table(self.COLUMNS, [row])}, summary=summary)

    @staticmethod
    def _row(d: int, n: int, mom: Moments) -> list:
        mc, se, exact = float(mom.mean[0]), float(mom.se[0]), T.logdet_mean_exact(d, n)
        return [n, d, mc, se, exact, T.logdet_mean_source_expansion(d, n),
                T.logdet_mean_leading_corrected(d, n), float(mom.var[0]),
                T.logdet_var_exact(d, n), T.logdet_var_clt(d, n),
                T.logdet_mean_series_corrected(d, n), T.logdet_var_log(d, n),
                (mc - exact) / se]


# ======================================================================================
# 5. Sub-rotation "lemma"
# ======================================================================================

class SubRotation(Experiment):
    id = "mlp-collapse.sub-rotation"
    title = "Sub-rotation log-determinant: claim vs bounds"
    description = """\
U ∈ R^{d×n} Haar with orthonormal columns, D diagonal. The source claims
E log det(UᵀD²U) = (n/d) log det D² (for n | d). False as an equality: its proof uses
det(MᵀD²M) = Π det(M_iᵀD²M_i) over column blocks, which is Fischer's inequality (≤).
What holds, for every n ≤ d: (n/d) log det D² ≤ E log det(UᵀD²U) ≤ n log(tr D²/d)
(lower: the log-Schur complements of successive Haar columns decrease; upper: Jensen),
with equality iff D ∝ I or n = d. Sampling: U = G(GᵀG)^{−1/2}, G Gaussian d×n, so
log det(UᵀD²U) = log det(GᵀD²G) − log det(GᵀG). Spectra (drawn once per run):
lognormal log D²_ii ~ N(0, 1); uniform D²_ii ~ U(0, 1); two-level D² = 1 on the first
⌈d/2⌉ coordinates and 0.01 on the rest."""
    params = {
        "d": Int(32, ge=1, le=1024, help="ambient dimension d"),
        "n": Int(4, ge=1, le=1024, help="number of columns n ≤ d"),
        "spectrum": Choice(["lognormal", "uniform", "two-level"], default="lognormal",
                           help="law of the diagonal D²"),
        "samples": Int(4000, ge=2, le=10_000_000, help="Haar draws of U"),
    }
    plot = Plot(table="running", x="samples",
                y=("claimed", "mc", "jensen_upper"),
                title="E log det(UᵀD²U): claimed (= Fischer lower) | measured | Jensen upper")
    compare = (Compare("claimed (n/d) log det D²", theory="claimed", measured="mc",
                       se="mc_se"),
               Compare("Fischer lower bound", theory="fischer_lower", measured="mc",
                       se="mc_se"),
               Compare("Jensen upper bound", theory="jensen_upper", measured="mc",
                       se="mc_se"))

    def run(self, p: Any, ctx: RunContext) -> Iterator[Frame]:
        d, n = p.d, p.n
        if n > d:
            raise ExperimentError(f"n must be at most d = {d}; got n = {n}.")
        d2 = self.spectrum(p.spectrum, d, ctx.rng)
        th = {"claimed": T.subrotation_claimed(d2, n),
              "fischer_lower": T.subrotation_fischer_lower(d2, n),
              "jensen_upper": T.subrotation_jensen_upper(d2, n)}
        yield Frame(message="compiling kernels…", summary=th)
        from . import kernels as K

        sizes = _chunks(p.samples, max(1, 1_000_000 // (d * n * (n + 2))))
        seeds = ctx.child_seeds(len(sizes))
        mom, done = Moments(1), 0
        diag = np.sqrt(d2)
        for i, vals in _map_in_order(ctx, K.subrotation_chunk,
                                     [(int(s), k, diag, n) for s, k in zip(seeds, sizes)], 1):
            mom.add_values(vals)
            done += sizes[i]
            mc, se = float(mom.mean[0]), _none_if_nan(float(mom.se[0]))
            yield Frame(step=done, total=p.samples,
                        message=f"sampling: {done:,} / {p.samples:,} Haar draws",
                        tables={"running": Table(["samples", "mc", "mc_se", "claimed",
                                                  "fischer_lower", "jensen_upper"],
                                                 [[done, mc, se, th["claimed"],
                                                   th["fischer_lower"], th["jensen_upper"]]])},
                        summary={"mc": mc, "mc_se": se, "mc_var": float(mom.var[0]), **th})

    @staticmethod
    def spectrum(kind: str, d: int, rng: np.random.Generator) -> np.ndarray:
        """The diagonal of D² for the chosen spectrum."""
        if kind == "lognormal":
            return np.exp(rng.standard_normal(d))
        if kind == "uniform":
            return 1.0 - rng.random(d)            # in (0, 1]: log D² finite
        return np.where(np.arange(d) < (d + 1) // 2, 1.0, 0.01)


EXPERIMENTS = [Norms, Angles, RmsJacobian, LogDet, SubRotation]
