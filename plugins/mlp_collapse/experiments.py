"""The mlp_collapse experiments: measured (Monte-Carlo) | exact | source, side by side
(norms in :mod:`.norms`).

numba kernels are imported lazily inside ``run`` (listing plugins stays cheap).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from matexplore import (Bool, Choice, Compare, Experiment, ExperimentError, Float, Frame,
                        Int, IntList, Plot, RunContext, RunningStats, Table)

from . import theory as T
from .values import none_if_nan, py
from .norms import Norms



def _var_se(var: float, n: int) -> float | None:
    """SE of a sample variance under the Gaussian approximation: var·√(2/(n − 1))."""
    return none_if_nan(var * math.sqrt(2 / (n - 1))) if n > 1 else None


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
    compare = (Compare("E log(sin²θ_L/sin²θ_0)", theory="mean_exact_small_angle",
                       measured="mean_log_sin2", se="mean_se", source="mean_source",
                       help="exact L·[ψ((d−1)/2) − ψ(d/2)] at every angle; source −L/d"),
               Compare("Var log(sin²θ_L/sin²θ_0)", theory="var_exact_conditional",
                       measured="var_log_sin2", se="var_se", source="var_source",
                       help="exact Σ E Var[Δ_k | θ_{k−1}] = Σ ψ'((d−1)/2) − ψ'(d/2) + "
                            "2 E c(cos²θ_{k−1}) on the measured angles; source 8L/d; SE by the "
                            "Gaussian approximation var·√(2/(n−1))"),
               Compare("Var, small-angle law", theory="var_exact_small_angle",
                       measured="var_log_sin2", se="var_se",
                       help="L·[ψ'((d−1)/2) + ψ'(d/2)] ≈ 4L/d: exact once θ ≈ 0 "
                            "(an upper bound while the angle is large)"))
    version = "4"  # 3: Bartlett log χ² by a ziggurat (.loggamma); 4: in blocks, 1 uniform a draw

    COLUMNS = ["layer", "mean_log_sin2", "var_log_sin2", "mean_exact_small_angle",
               "var_exact_small_angle", "mean_source", "var_source", "mean_se",
               "var_exact_conditional", "var_cos2_law", "mean_cos2_prev"]
    COV_TERMS = 4096

    def run(self, p: Any, ctx: RunContext) -> Iterator[Frame]:
        d, L = p.width, p.depth
        yield Frame(message="compiling kernels…")
        from . import kernels as K

        mode = {"gram": K.MODE_GRAM, "chi2": K.MODE_CHI2, "matrix": K.MODE_MATRIX}[p.sampler]
        tab, cheb = self._bartlett_constants(K, mode, d)
        # work per network, 400 000 a chunk: chi2 ≈ 50 ns a layer, so chunks of ≈ 20 ms; its
        # c(cos²θ) series (d ≲ 12: no interpolant) costs up to 16 times that near collapse
        work = {"gram": 3 * d * L, "chi2": L * (1 if cheb.size else 16),
                "matrix": d * d * L}[p.sampler]
        theta0 = math.radians(p.theta0)
        mom, side = RunningStats(L), RunningStats(2 * L)
        for chunk, (m, m2, c2, cv) in ctx.map_chunks(
                K.angles_chunk, p.networks, max(1, 400_000 // work), d, L, theta0, mode,
                bool(p.normalize), self.COV_TERMS, tab, cheb):
            mom.merge_moments(chunk.size, m, m2)
            side.merge_moments(chunk.size, np.concatenate([c2, cv]), np.zeros(2 * L))
            if chunk.last or ctx.due(0.25):
                yield self._frame(d, L, chunk.done, p.networks, mom, side)

    def _bartlett_constants(self, K: Any, mode: int, d: int) -> tuple[np.ndarray, np.ndarray]:
        """The chi2 sampler's log-χ² tables and c(cos²θ) interpolant (empty otherwise)."""
        if mode != K.MODE_CHI2:
            return np.zeros(0), np.zeros(0)
        return K.bartlett_table(d), K.cov_chebyshev(d, self.COV_TERMS)

    def _frame(self, d: int, L: int, done: int, total: int, mom: RunningStats,
               side: RunningStats) -> Frame:
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
                              "var_se": _var_se(rows[-1][2], done), "networks_done": done})


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
                       measured="lyapunov_gap_measured", se="lyapunov_gap_se",
                       help="λ₂ − λ₁ = ½[ψ((d−1)/2) − ψ(d/2)] ≈ −1/(2d) (Gaussian products); "
                            "least-squares slope over the deeper half"),)
    version = "2"

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
        mom = RunningStats(5 * L)
        for chunk in ctx.chunks(p.networks, 1):
            mom.add(self._one_network(chunk.rng, d, L)[None, :])
            if chunk.last or ctx.due(0.25):
                yield self._frame(d, L, gap, chunk.done, p.networks, mom)

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
               mom: RunningStats) -> Frame:
        m = mom.mean.reshape(5, L)
        se = mom.se.reshape(5, L) if done > 1 else np.full((5, L), np.nan)
        factors = L - np.arange(L)
        rows = [py([ell, m[0, ell], m[1, ell], gap * factors[ell], math.exp(m[4, ell]),
                     m[3, ell], int(factors[ell]), none_if_nan(se[1, ell]), m[4, ell],
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
    compare = (Compare("E log det WᵀW, last n", theory="mean_exact", measured="mean_mc",
                       se="mean_mc_se", source="mean_source_expansion",
                       help="exact n log(2/d) + Σ_{i<n} ψ((d−i)/2); source −n²/2d − n³/6d² "
                            "− n⁴/3d³"),
               Compare("Var log det WᵀW, last n", theory="var_exact", measured="var_mc",
                       se="var_mc_se", source="var_clt",
                       help="exact Σ_{i<n} ψ'((d−i)/2); source CLT 2n/d; SE by the Gaussian "
                            "approximation var·√(2/(n−1))"),
               Compare("max |z| vs exact (0 ideal)", theory="zero", measured="max_abs_z_exact",
                       tol=4.0, help="max over n of |mc − exact|/SE (≤ 4 expected)"))
    version = "2"

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
            mom = RunningStats()
            for _, vals in ctx.map_chunks(K.logdet_chunk, p.samples,
                                          max(1, 1_000_000 // (d * n * (n + 1))), d, n):
                mom.add(vals)
            if ctx.cancelled:
                return
            row = self._row(d, n, mom)
            zmax = max(zmax, abs(row[-1]))
            summary = dict(zip(self.COLUMNS, row))
            summary.update(max_abs_z_exact=zmax, zero=0.0, var_mc_se=_var_se(row[7], mom.count))
            yield Frame(step=j + 1, total=len(p.n),
                        message=f"n = {n}: {p.samples:,} matrices done ({j + 1} / {len(p.n)})",
                        tables={"logdet": Table(self.COLUMNS, [row])}, summary=summary)

    @staticmethod
    def _row(d: int, n: int, mom: RunningStats) -> list:
        mc, se, exact = float(mom.mean), float(mom.se), T.logdet_mean_exact(d, n)
        return [n, d, mc, se, exact, T.logdet_mean_source_expansion(d, n),
                T.logdet_mean_leading_corrected(d, n), float(mom.var),
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
    compare = (Compare("E log det(UᵀD²U)", theory="fischer_lower", measured="mc",
                       se="mc_se", source="claimed",
                       help="source claims = (n/d) log det D² (which is only the Fischer lower "
                            "bound); the measurement lies strictly above it unless D ∝ I or "
                            "n = d"),
               Compare("Jensen upper bound", theory="jensen_upper", measured="mc",
                       se="mc_se", help="n log(tr D²/d) ≥ E log det(UᵀD²U)"))
    version = "2"

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

        mom = RunningStats()
        for chunk, vals in ctx.map_chunks(K.subrotation_chunk, p.samples,
                                          max(1, 1_000_000 // (d * n * (n + 2))), np.sqrt(d2), n):
            mom.add(vals)
            done = chunk.done
            mc, se = float(mom.mean), none_if_nan(float(mom.se))
            yield Frame(step=done, total=p.samples,
                        message=f"sampling: {done:,} / {p.samples:,} Haar draws",
                        tables={"running": Table(["samples", "mc", "mc_se", "claimed",
                                                  "fischer_lower", "jensen_upper"],
                                                 [[done, mc, se, th["claimed"],
                                                   th["fischer_lower"], th["jensen_upper"]]])},
                        summary={"mc": mc, "mc_se": se, "mc_var": float(mom.var), **th})

    @staticmethod
    def spectrum(kind: str, d: int, rng: np.random.Generator) -> np.ndarray:
        """The diagonal of D² for the chosen spectrum."""
        if kind == "lognormal":
            return np.exp(rng.standard_normal(d))
        if kind == "uniform":
            return 1.0 - rng.random(d)            # in (0, 1]: log D² finite
        return np.where(np.arange(d) < (d + 1) // 2, 1.0, 0.01)


EXPERIMENTS = [Norms, Angles, RmsJacobian, LogDet, SubRotation]
