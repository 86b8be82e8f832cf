"""mlp-collapse.norms: heavy-tailed norms of deep MLPs (linear, ReLU, leaky ReLU, any
registered activation), measured | exact | source side by side."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from matexplore import (Choice, Compare, Experiment, ExperimentError, Float, Frame, Int,
                        IntList, Plot, RunContext, RunningStats, Table,
                        registered_activations)

from . import activation_law as A
from . import theory as T
from .values import none_if_nan, py
from .streaming import LayerHistogram

LOG_1E4 = math.log(1e-4)      # ‖x‖ < 0.01  ⇔  Y = log‖x‖² < log 1e-4
LOG_100 = math.log(100.0)     # ‖x‖ > 10    ⇔  Y > log 100
HIST_BINS, HIST_SHOWN = 512, 64
HOMOGENEOUS = {"linear": 1.0, "relu": 0.0}    # activation → slope α (leaky_relu: param)
CHUNK_WORK = 1_000_000        # draws per kernel call (a few ms)
PILOT = 4000                  # networks that set the histogram window (other activations),
PILOT_MIN = 200               # fewer for big networks: ≤ 20 chunks' worth of draws


def _activations() -> list[str]:
    return ["linear", *sorted(set(registered_activations()) - {"linear"})]




def _slope(p: Any) -> float | None:
    """α of a positively homogeneous activation, None for the others."""
    if p.activation == "leaky_relu":
        return float(p.slope)
    return HOMOGENEOUS.get(p.activation)


def length_map(fn: Any, widths: list[int], gain: float, q0: float) -> np.ndarray:
    """Kernel-map (infinite-width) prediction E‖x_ℓ‖² = d_ℓ q_ℓ, ℓ = 1..L, with
    q_ℓ = E f(√(σ² q_{ℓ−1}) g)², g ~ N(0, 1) (160-node Gauss–Hermite), q_0 = ‖x_0‖²/d_0."""
    z, w = np.polynomial.hermite_e.hermegauss(160)
    w = w / w.sum()
    q, out = q0, []
    for d in widths[1:]:
        q = float(w @ np.asarray(fn(math.sqrt(gain * q) * z), dtype=float) ** 2)
        out.append(d * q)
    return np.array(out)


def generic_chunk(rng: np.random.Generator, n: int, widths: np.ndarray, fn: Any,
                  gain: float, lo: np.ndarray, inv_width: np.ndarray, bins: int,
                  thr_lo: float, thr_hi: float) -> tuple:
    """NumPy twin of :func:`kernels.norms_chunk` for any activation f (vector sampler:
    x_ℓ = f(σ‖x_{ℓ−1}‖ g/√d_{ℓ−1}), g ~ N(0, I); exact by rotation invariance), with
    ‖x_0‖² = d_0 (unit RMS input). Same outputs, plus per-layer E‖x_ℓ‖²/‖x_0‖²."""
    L = len(widths) - 1
    ys = np.full((n, L), -np.inf)
    nsq = np.ones(n) * widths[0]
    for ell in range(L):
        z = rng.standard_normal((n, widths[ell + 1])) * np.sqrt(gain * nsq / widths[ell])[:, None]
        nsq = (np.asarray(fn(z), dtype=float) ** 2).sum(axis=1)
        with np.errstate(divide="ignore"):
            ys[:, ell] = np.log(nsq / widths[0])
    alive = np.isfinite(ys)
    count = alive.sum(axis=0)
    mean = np.where(count > 0, np.where(alive, ys, 0).sum(axis=0) / np.maximum(count, 1), 0)
    m2 = np.where(alive, (ys - mean) ** 2, 0).sum(axis=0)
    hist = np.zeros((L, bins + 2), dtype=np.int64)
    slot = np.clip(np.floor((ys - lo) * inv_width) + 1, 0, bins + 1)
    for ell in range(L):
        hist[ell] = np.bincount(slot[alive[:, ell], ell].astype(np.int64), minlength=bins + 2)
    ratio = np.exp(ys)
    return (count, mean, m2, hist, (ys < thr_lo).sum(axis=0), (ys > thr_hi).sum(axis=0),
            float(ratio[:, -1].mean()), float(((ratio[:, -1] - ratio[:, -1].mean()) ** 2).sum()),
            ratio.mean(axis=0))


class Norms(Experiment):
    id = "mlp-collapse.norms"
    title = "Heavy-tailed norms of deep MLPs (linear, ReLU, leaky ReLU, …)"
    version = "4"  # 3: linear chi2: log χ² by a ziggurat; 4: 1 uniform a draw, ReLU χ² too
    description = """\
x_ℓ = f(W_ℓ x_{ℓ−1}), W_ℓ ∈ R^{d_ℓ×d_{ℓ−1}} i.i.d. N(0, σ²/d_{ℓ−1}), ‖x_0‖ = 1; Y_ℓ =
log(‖x_ℓ‖²/‖x_0‖²). Default σ² preserves E‖x‖²: 1 (linear), 2/(1+α²) (leaky ReLU slope α,
2 for ReLU), 1/E f(g)² (other f); `gain` overrides it.
Linear (rotation invariance): Y_ℓ = Σ_{k≤ℓ} log(σ²χ²_{d_k}/d_{k−1}), independent terms:
E Y_ℓ = Σ[ψ(d_k/2) + log(2σ²/d_{k−1})] ≈ −Σ 1/d_k, Var Y_ℓ = Σ ψ'(d_k/2) ≈ Σ 2/d_k.
The source (Corollary 1) states N(−Σ 1/(2d_k), Σ 2/d_k): its mean is off by a factor 2
(the log-det expansion drops −n/(2d)); its variance holds to first order.
Leaky ReLU / ReLU f(z) = max(z,0) + α min(z,0) (exact, every width): the per-layer ratio
d_{k−1}‖x_k‖²/(σ²‖x_{k−1}‖²) = χ²_K + α²χ²_{d_k−K}, K ~ Bin(d_k, ½), independent across
layers; with χ²_K + α²χ²_{d−K} = χ²_d·(α² + (1−α²)U), U | K ~ Beta(K/2, (d−K)/2),
E T_k = log(2σ²/d_{k−1}) + ψ(d_k/2) + Σ_K p_K E[log(α²+(1−α²)U) | K],
Var T_k = ψ'(d_k/2) + Var of the mixture of log(α²+(1−α²)U) (1-D Beta integrals, QUADPACK,
≤ 1e-12; closed form ψ(K/2) − ψ(d/2), ψ'(K/2) − ψ'(d/2) for ReLU). The source's section
"MLP with a non-linear activation" gives only the set-up log‖f(Wx)‖² = log‖D W x‖,
D = diag(f'(Wx)): that identity holds (it is what makes K ~ Bin(d, ½) exact) but the
source states no law, so the *_source values are empty for every f ≠ identity (its linear
Corollary 1 would be far off: −Σ 1/(2d_k) = −5 vs the exact −30.7 for ReLU, d = 10,
L = 100, because D removes about half the coordinates of every layer).
ReLU kills networks: a layer outputs 0 when K = 0, probability 2^{−d_k}, so
frac_dead_exact = 1 − Π(1 − 2^{−d_k}) and E log‖x_L‖² = −∞; mean_*, var_* and the
histogram are then conditioned on survival (K ≥ 1 at every layer), frac_* and the median
count dead networks as ‖x‖ = 0, mean_norm_sq = E‖x_L‖²/‖x_0‖² over all networks
(exact: Π σ²(1+α²)d_k/(2d_{k−1})).
Other activations (Monte-Carlo, input RMS 1: ‖x_0‖² = d_0): the kernel-map length map
q_ℓ = E f(√(σ²q_{ℓ−1}) g)² predicts E‖x_ℓ‖² ≈ d_ℓ q_ℓ (mean_norm_sq_kernel_map; exact
only at infinite width); drift_mc is the measured mean log-norm drift per layer E Y_L/L.
Median and tail fractions of the exact laws by Fourier inversion of the characteristic
function Π_k E e^{itT_k}; the measured median comes from a streaming histogram of Y_ℓ
(512 bins over E Y ± 8 sd, linear interpolation). Samplers: chi2 (O(1) per layer: one
χ² — or K then two χ² — draw), vector (‖f(g)‖², g ∈ R^{d_ℓ}: O(d) normals), matrix
(explicit W and x: O(d²), for validation). Other activations always use the vector
sampler (NumPy on the same chunk streams)."""
    params = {
        "width": Int(10, ge=1, le=4096, help="width d of every layer (input included)"),
        "widths": IntList([], min_len=0, ge=1, le=4096,
                          help="d_0,…,d_L (overrides width and depth)"),
        "depth": Int(100, ge=1, le=1000, help="number of layers L"),
        "networks": Int(100_000, ge=2, le=10_000_000, help="number of random networks"),
        "sampler": Choice(["vector", "chi2", "matrix"], default="chi2",
                          help="O(1) χ² sampler, exact O(d) vector sampler or explicit "
                               "matrices"),
        "activation": Choice(_activations, default="linear",
                             help="activation f: linear, relu, leaky_relu (exact law) or "
                                  "any registered activation (Monte-Carlo)"),
        "slope": Float(0.1, ge=-10, le=10, help="negative slope α of leaky_relu"),
        "gain": Float(0.0, ge=0, le=100, help="weight variance σ² (0: variance-preserving "
                                              "default)"),
    }
    plot = Plot(table="histogram", x="log10_norm",
                y=("density_exact", "density", "density_source"),
                title="density of log10‖x_L‖: exact | measured | source")
    compare = (
        Compare("E log‖x_L‖²", theory="mean_exact", measured="mean_mc", se="mean_se",
                source="mean_source",
                help="exact Σ_k E T_k (ψ-sums; Beta-mixture integrals for leaky ReLU); "
                     "source: Corollary 1, −Σ 1/(2d_k); survivors only for ReLU"),
        Compare("Var log‖x_L‖²", theory="var_exact", measured="var_mc", se="var_se",
                source="var_source",
                help="exact Σ_k Var T_k; source Σ 2/d_k; SE √((κ₄ + 2σ⁴)/n) from the exact "
                     "fourth cumulant"),
        Compare("median ‖x_L‖", theory="median_exact", measured="median_norm",
                se="median_norm_se", source="median_source",
                help="exact: Fourier inversion of Π E e^{itT_k}; SE √(p(1−p)/n)/density"),
        Compare("P(‖x_L‖ < 0.01)", theory="frac_below_0_01_exact",
                measured="frac_below_0_01", se="frac_below_0_01_se",
                source="frac_below_0_01_source", help="exact CDF at log 1e-4 (dead included)"),
        Compare("P(‖x_L‖ > 10)", theory="frac_above_10_exact", measured="frac_above_10",
                se="frac_above_10_se", source="frac_above_10_source",
                help="1 − exact CDF at log 100"),
        Compare("E‖x_L‖²/‖x_0‖²", theory="mean_norm_sq_exact", measured="mean_norm_sq",
                se="mean_norm_sq_se_exact",
                help="Π σ² E f(g)² d_k/d_{k−1} (1 by default; none for other f). SE from the "
                     "exact E‖x_L‖⁴ = Π E R_k²: the mean is carried by rare huge norms, so "
                     "the sample SE (mean_norm_sq_se) badly underestimates it"),
        Compare("E‖x_L‖² (kernel map, d→∞)", theory="mean_norm_sq_kernel_map",
                measured="mean_norm_sq",
                help="infinite-width length map q_ℓ = E f(√(σ²q_{ℓ−1}) g)²: d_L q_L/d_0 "
                     "(exact for linear / ReLU / leaky ReLU; other f: finite-width bias)"),
        Compare("P(network dead)", theory="frac_dead_exact", measured="frac_dead",
                se="frac_dead_se", help="ReLU: 1 − Π(1 − 2^{−d_k}); 0 otherwise"),
    )

    COLUMNS = ["layer", "mean_mc", "var_mc", "mean_exact", "var_exact", "mean_source",
               "var_source", "median_norm", "frac_below_0_01", "frac_above_10",
               "mean_se", "median_exact", "median_source", "frac_below_0_01_exact",
               "frac_below_0_01_source", "frac_above_10_exact", "frac_above_10_source",
               "frac_dead", "frac_dead_exact", "drift_mc", "drift_exact",
               "norm_sq_kernel_map"]

    @staticmethod
    def widths_of(p: Any) -> list[int]:
        if p.widths:
            if len(p.widths) < 2:
                raise ExperimentError("widths must list d_0, …, d_L: at least two entries.")
            return list(p.widths)
        return [p.width] * (p.depth + 1)

    @staticmethod
    def gain_of(p: Any) -> float:
        if p.gain > 0:
            return float(p.gain)
        slope = _slope(p)
        if slope is not None:
            return 1.0 if p.activation == "linear" else A.variance_preserving_gain(slope)
        fn = registered_activations()[p.activation].fn
        z, w = np.polynomial.hermite_e.hermegauss(160)
        m2 = float(w @ np.asarray(fn(z), dtype=float) ** 2 / w.sum())
        if not m2 > 1e-12:
            raise ExperimentError(f"Activation {p.activation!r} has E f(g)² = 0: no "
                                  "variance-preserving gain; set gain.")
        return 1.0 / m2

    def run(self, p: Any, ctx: RunContext) -> Iterator[Frame]:
        widths = self.widths_of(p)
        L, gain, slope = len(widths) - 1, self.gain_of(p), _slope(p)
        note = f" (widths given: depth = {L})" if p.widths else ""
        if p.widths:
            yield Frame(message=f"widths given: depth = {L} (the depth parameter is ignored)")
        w = np.asarray(widths, dtype=np.int64)
        if slope is None:
            yield Frame(message="pilot run for the histogram window…")
            exact = self._generic_columns(p, widths, gain, ctx)
            fn = registered_activations()[p.activation].fn
            kernel, extra, tables = generic_chunk, (w, fn, gain), ()
            work = int(w[1:].sum())
        else:
            yield Frame(message="computing the exact law (Fourier inversion)…")
            exact = self._exact_columns(widths, slope, gain, p.activation == "linear")
            yield Frame(message="compiling kernels…")
            from . import kernels as K

            mode = {"chi2": K.MODE_CHI2, "vector": K.MODE_VECTOR,
                    "matrix": K.MODE_MATRIX}[p.sampler]
            kernel = K.norms_chunk
            extra = (w, mode, p.activation != "linear", slope, gain)
            no_rows = np.zeros(L, dtype=np.int64)
            if p.sampler != "chi2":
                tables = (np.zeros(0), no_rows)
            elif p.activation == "linear":
                tables = K.chi2_layers(w)
            else:
                tables = (K.count_tables(w), no_rows)
            # draws per network: linear 1 a layer; ReLU ≈ 2 (ziggurat), ≈ 4 (Marsaglia–Tsang)
            work = {"chi2": L if p.activation == "linear" else (2 if tables[0].size else 4) * L,
                    "vector": int(w[1:].sum()),
                    "matrix": int((w[1:] * w[:-1]).sum())}[p.sampler]
        hist = LayerHistogram(exact["center"], exact["sd"], HIST_BINS)
        acc = _Accumulator(L, hist)
        args = (*extra, hist.lo, hist.inv_width, HIST_BINS, LOG_1E4, LOG_100, *tables)
        for chunk, out in ctx.map_chunks(kernel, p.networks, max(1, CHUNK_WORK // work), *args):
            acc.add(chunk.size, out)
            if chunk.last or ctx.due(0.25):
                yield self._frame(chunk.done, p.networks, exact, acc,
                                  f"sampling: {chunk.done:,} / {p.networks:,} networks{note}")

    @staticmethod
    def _exact_columns(widths: list[int], slope: float, gain: float,
                       linear: bool) -> dict[str, Any]:
        L = len(widths) - 1
        layers = (T.LinearLayers(widths, gain) if linear
                  else A.HomogeneousLayers(widths, slope, gain))
        law = T.LogNormLaw(layers)
        alive = A.survival_probability(widths, 0.0 if not linear and slope == 0.0 else 1.0)
        dead = 1 - alive
        if linear:   # Corollary 1 (σ² = 1; a gain shifts Y_ℓ by ℓ log σ² exactly)
            ms = T.norms_mean_source(widths) + np.arange(1, L + 1) * math.log(gain)
            vs = T.norms_var_source(widths)
        else:        # the source states no law for f ≠ identity
            ms = vs = np.full(L, np.nan)
        med, fb, fa, dens = np.empty(L), np.empty(L), np.empty(L), np.empty(L)
        for ell in range(1, L + 1):
            q = (0.5 - dead[ell - 1]) / alive[ell - 1]   # dead networks sit below every y
            if q > 0:
                y = law.quantile(q, ell)
                lo, hi = law.cdf([y - 1e-3, y + 1e-3], ell)
                med[ell - 1], dens[ell - 1] = math.exp(y / 2), alive[ell - 1] * (hi - lo) / 2e-3
            else:
                med[ell - 1], dens[ell - 1] = 0.0, math.nan
            c_lo, c_hi = law.cdf([LOG_1E4, LOG_100], ell)
            fb[ell - 1] = dead[ell - 1] + alive[ell - 1] * c_lo
            fa[ell - 1] = alive[ell - 1] * (1 - c_hi)
        nsq, nsq2 = A.norm_moments(widths, 1.0 if linear else slope, gain)
        return {"law": law, "center": law.mean, "sd": np.sqrt(law.var),
                "mean_exact": law.mean, "var_exact": law.var, "kappa4": layers.kappa4,
                "mean_source": ms, "var_source": vs, "median_exact": med,
                "median_density": dens, "median_source": np.exp(ms / 2),
                "frac_below_0_01_exact": fb,
                "frac_below_0_01_source": T.gaussian_cdf(LOG_1E4, ms, vs),
                "frac_above_10_exact": fa,
                "frac_above_10_source": 1 - T.gaussian_cdf(LOG_100, ms, vs),
                "frac_dead_exact": dead, "norm_sq": nsq, "norm_sq_kernel_map": nsq,
                "norm_sq_var": nsq2 - nsq**2}

    @staticmethod
    def _generic_columns(p: Any, widths: list[int], gain: float,
                         ctx: RunContext) -> dict[str, Any]:
        """No exact law: a pilot run sets the histogram window; the kernel map predicts
        E‖x_ℓ‖²."""
        fn = registered_activations()[p.activation].fn
        w = np.asarray(widths, dtype=np.int64)
        L = len(widths) - 1
        zeros = np.zeros(L)
        pilot = max(PILOT_MIN, min(PILOT, 20 * CHUNK_WORK // int(w[1:].sum())))
        out = generic_chunk(ctx.generators(1)[0], pilot, w, fn, gain, zeros, zeros + 1.0,
                            1, LOG_1E4, LOG_100)
        count = np.maximum(out[0], 2)
        none = np.full(L, np.nan)
        nsq = length_map(fn, widths, gain, 1.0) / widths[0]
        return {"law": None, "center": out[1], "sd": np.sqrt(out[2] / (count - 1)) + 1e-3,
                **{k: none for k in ("mean_exact", "var_exact", "mean_source", "var_source",
                                     "median_exact", "median_source",
                                     "frac_below_0_01_exact", "frac_below_0_01_source",
                                     "frac_above_10_exact", "frac_above_10_source",
                                     "median_density", "kappa4")},
                "frac_dead_exact": none, "norm_sq": none, "norm_sq_kernel_map": nsq,
                "norm_sq_var": none}

    def _frame(self, done: int, total: int, ex: dict, acc: _Accumulator,
               message: str) -> Frame:
        L = len(acc.layers)
        rows = []
        for j in range(L):
            st = acc.layers[j]
            frac_dead = 1 - st.count / done
            q = (0.5 - frac_dead) / (1 - frac_dead) if frac_dead < 1 else -1.0
            med = acc.hist.quantile(q, j) if q > 0 else None
            median = 0.0 if q <= 0 else (None if med is None else math.exp(med / 2))
            drift_ex = ex["mean_exact"][j] - (ex["mean_exact"][j - 1] if j else 0.0)
            mean = float(st.mean) if st.count else math.nan     # no survivors: no mean
            drift = mean - (float(acc.layers[j - 1].mean) if j else 0.0)
            rows.append(py([j + 1, mean, none_if_nan(float(st.var)),
                             ex["mean_exact"][j], ex["var_exact"][j], ex["mean_source"][j],
                             ex["var_source"][j], median, acc.below[j] / done,
                             acc.above[j] / done, none_if_nan(float(st.se)),
                             ex["median_exact"][j], ex["median_source"][j],
                             ex["frac_below_0_01_exact"][j], ex["frac_below_0_01_source"][j],
                             ex["frac_above_10_exact"][j], ex["frac_above_10_source"][j],
                             frac_dead, ex["frac_dead_exact"][j], float(drift), drift_ex,
                             ex["norm_sq_kernel_map"][j]]))
            rows[-1] = [none_if_nan(v) if isinstance(v, float) else v for v in rows[-1]]
        summary = dict(zip(self.COLUMNS[1:], rows[-1][1:]))
        summary.update(self._errors(done, ex, acc, rows[-1]))
        return Frame(step=done, total=total, message=message,
                     tables={"layers": Table(self.COLUMNS, rows, replace=True),
                             "histogram": self._histogram(ex, acc.hist, L)},
                     summary=summary)

    @staticmethod
    def _errors(done: int, ex: dict, acc: _Accumulator, last: list) -> dict[str, Any]:
        """Standard errors and the other final-layer summary values."""
        n_alive = max(acc.layers[-1].count, 1)
        var = ex["var_exact"][-1]
        var_se = math.sqrt((ex["kappa4"][-1] + 2 * var**2) / n_alive)

        def binom_se(p_exact: float, p_mc: float) -> float | None:
            p = p_exact if math.isfinite(p_exact) else p_mc
            return none_if_nan(math.sqrt(max(p * (1 - p), 0.0) / done))

        med, dens = ex["median_exact"][-1], ex["median_density"][-1]
        med_se = (med / 2 / dens / math.sqrt(done) * 0.5 if med > 0 and math.isfinite(dens)
                  else math.nan)     # SE of ‖x‖ = e^{Y/2} at the median: (e^{y/2}/2)·SE_y
        nsq = acc.nsq
        return {"mean_norm_sq": float(nsq.mean), "mean_norm_sq_exact": none_if_nan(float(ex["norm_sq"][-1])),
                "mean_norm_sq_kernel_map": float(ex["norm_sq_kernel_map"][-1]),
                "mean_norm_sq_se": none_if_nan(float(nsq.se)), "networks_done": done,
                "mean_norm_sq_se_exact": none_if_nan(math.sqrt(ex["norm_sq_var"][-1] / done)),
                "var_se": none_if_nan(var_se), "median_norm_se": none_if_nan(med_se),
                "frac_below_0_01_se": binom_se(ex["frac_below_0_01_exact"][-1], last[8]),
                "frac_above_10_se": binom_se(ex["frac_above_10_exact"][-1], last[9]),
                "frac_dead_se": binom_se(ex["frac_dead_exact"][-1], last[17]),
                "drift_mc": None if last[1] is None else last[1] / len(acc.layers),
                "drift_exact": none_if_nan(ex["mean_exact"][-1] / len(acc.layers))}

    @staticmethod
    def _histogram(ex: dict, hist: LayerHistogram, L: int) -> Table:
        """Final-layer histogram of log10‖x_L‖ = Y_L/(2 ln 10), 64 bins (survivors; the
        fractions are of all networks)."""
        edges_y, frac = hist.rebinned(L - 1, HIST_BINS // HIST_SHOWN)
        if ex["law"] is not None:
            alive = 1 - ex["frac_dead_exact"][-1]
            f_exact = alive * np.diff(ex["law"].cdf(edges_y, L))
            f_src = np.diff(T.gaussian_cdf(edges_y, ex["mean_source"][-1],
                                           ex["var_source"][-1]))
        else:
            f_exact = f_src = np.full(len(frac), np.nan)
        edges = edges_y / (2 * T.LN10)
        width = edges[1] - edges[0]
        centres = 0.5 * (edges[1:] + edges[:-1])
        rows = [[none_if_nan(v) for v in (c, f, fe, fs, f / width, fe / width, fs / width)]
                for c, f, fe, fs in zip(centres, frac, f_exact, f_src)]
        return Table(["log10_norm", "fraction", "fraction_exact", "fraction_source",
                      "density", "density_exact", "density_source"], rows, replace=True)


class _Accumulator:
    """Chunk results merged in chunk order: per-layer RunningStats over live networks
    (their counts differ once ReLU networks die), histogram, tail counts, ‖x_L‖²."""

    def __init__(self, L: int, hist: LayerHistogram) -> None:
        self.layers = [RunningStats() for _ in range(L)]
        self.hist = hist
        self.below = np.zeros(L, np.int64)
        self.above = np.zeros(L, np.int64)
        self.nsq = RunningStats()

    def add(self, n: int, out: tuple) -> None:
        alive, mean, m2, h, b, a, nm, nm2 = out[:8]
        for st, c, m, s in zip(self.layers, alive, mean, m2):
            st.merge_moments(int(c), float(m), float(s))
        self.hist.counts += h
        self.below += b
        self.above += a
        self.nsq.merge_moments(n, nm, nm2)
