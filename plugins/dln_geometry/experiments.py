"""Experiments of the dln_geometry plugin (issue 9): balanced deep linear networks."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from matexplore import (Choice, Compare, Experiment, ExperimentError, Float, FloatList, Frame,
                        Int, Plot, Series, Table)

from . import theory as th

_DEPTH_HELP = "depth N (an integer ≥ 2, or inf for the infinite-depth limit)"


def _fmt_depth(depth: float) -> str:
    return "∞" if math.isinf(depth) else str(int(depth))


def _f(x: float | None) -> float | None:
    """A finite float, or None."""
    return None if x is None or not math.isfinite(x) else float(x)


# ===================================================================== dln.flow-check


class FlowCheck(Experiment):
    id = "dln.flow-check"
    title = "Balanced flow three ways: factors (1.6), end-to-end (4.1), SVD coordinates (4.17–4.19)"
    description = """One problem, three integrations (DOP853, rtol 1e-11) from a balanced start:
• factor-wise gradient flow (1.6) Ẇ_p = −(W_N⋯W_{p+1})ᵀ dE(X) (W_{p−1}⋯W_1)ᵀ from the balanced lift
  W_p = Q_pΣ^{1/N}Q_{p−1}ᵀ (random Q_p) of X_0 = init_std·N(0,1) — gradient descent in the small-step
  limit; with lr > 0 plain gradient descent W_p ← W_p − η∂E/∂W_p at time t = kη instead;
• end-to-end flow (4.1) Ẋ = −Σ_p (XXᵀ)^{(N−p)/N} dE (XᵀX)^{(p−1)/N} with matrix fractional powers
  (eigendecompositions); N = ∞: the 1/N-normalised ∫_0^1 (XXᵀ)^{1−s} dE (XᵀX)^s ds (Gauss–Legendre);
• SVD coordinates, G = UᵀdEV, L_ij = λ_ij/(σ_i² − σ_j²):
  U̇ = U𝔰((LΣ)∘G), V̇ = V𝔰((ΣL)∘G), σ̇_i = −λ_ii G_ii.
CORRECTION: the source's (4.18) σ̇ = −Σ^{2−2/N} diag G holds only for the 1/N-normalised operator
(Remark 4.1.3 says any version works — it does not). For the raw flow (4.1), λ_ii = Nσ_i^{2−2/N}, i.e.
σ̇ = −NΣ^{2−2/N} diag G; with that the three agree to ~1e-10. The literal (4.18) is integrated too
(columns *_svd_source) and visibly disagrees. Energies: completion-diag E = Σ_i(X_ii − 1)² (4.21),
completion E = ½Σ_{(i,j)∈I}(X_ij − ℓ_ij)² (4.24, ℓ ~ U[−2,2], |I| = sparsity), quadratic ½‖X − T‖²
(T ~ N(0,1)). balance_error = max_p ‖W_pW_pᵀ − W_{p+1}ᵀW_{p+1}‖_F (conserved, Thm 2.1.1).
gaussian_init_imbalance = max_p ‖W_pW_pᵀ − W_{p+1}ᵀW_{p+1}‖_F/‖W_pW_pᵀ‖_F for N iid Gaussian
factors (Remark 2.1.3 calls such an init nearly balanced: it is ≈ 1 at any scale).
N = ∞ has no factor-wise flow: the factor columns are null and max_abs_diff_svd compares SVD
coordinates with the end-to-end flow. min_sigma_gap reports near-collisions of singular values
(where SVD coordinates become stiff)."""
    params = {
        "d": Int(5, ge=1, le=12, help="width d (X is d×d)"),
        "depth": Int(4, ge=2, le=64, allow_inf=True, help=_DEPTH_HELP),
        "energy": Choice(["completion-diag", "completion", "quadratic"], "quadratic",
                         help="energy E(X)"),
        "init_std": Float(0.5, gt=0, le=10, help="X_0 entries ~ N(0, init_std²)"),
        "steps": Int(20, ge=1, le=500, help="number of output times in (0, t_end]"),
        "t_end": Float(3.0, gt=0, le=100, help="final time"),
        "sparsity": Int(0, ge=0, help="observed entries K for completion (0 = ⌊d²/2⌋)"),
        "lr": Float(0.0, ge=0, le=0.1, help="0 = factor-wise gradient flow (ODE); "
                                             "> 0 = plain gradient descent with this step"),
    }
    plot = Plot(table="trajectory", x="t", y=("energy_factors", "energy_e2e", "energy_svd",
                                              "energy_svd_source"),
                title="E(X(t)) along the three formulations (and the literal (4.18))", logy=True)
    compare = (Compare("E(X(T)): (4.1) vs factors", theory="final_energy_factors",
                       measured="final_energy_e2e", tol=1e-8,
                       help="end-to-end flow (4.1) integrated vs the factor-wise ODE"),
               Compare("E(X(T)): SVD coords vs factors", theory="final_energy_factors",
                       measured="final_energy_svd", tol=1e-8,
                       source="final_energy_svd_source",
                       help="σ̇ = −N Σ^{2−2/N} diag(UᵀGV) (corrected); source (4.18) lacks N"))

    def run(self, p, ctx) -> Iterator[Frame]:
        from . import flows as fl

        d, depth = p.d, p.depth
        k = p.sparsity or d * d // 2
        if p.energy == "completion" and not 1 <= k <= d * d:
            raise ExperimentError(f"sparsity must be between 1 and d² = {d * d} for completion.")
        energy = th.make_energy(p.energy, d, ctx.rng, sparsity=k)
        x0 = p.init_std * ctx.rng.standard_normal((d, d))
        finite = not math.isinf(depth)
        ws = th.balanced_lift(x0, int(depth), ctx.rng) if finite else None
        usv = fl.svd_start(x0)
        usv_src = usv
        x_e2e = x0
        times = np.linspace(0.0, p.t_end, p.steps + 1)
        worst = {"e2e": 0.0, "svd": 0.0, "src": 0.0, "bal": 0.0, "gap": math.inf}
        imbalance = _gaussian_imbalance(d, depth, p.init_std, ctx.seed) if finite else None
        yield Frame(message=f"N = {_fmt_depth(depth)}: integrating three formulations",
                    total=p.steps)
        for i in range(p.steps + 1):
            if ctx.cancelled:
                return
            seg = times[max(i - 1, 0):i + 1] if i else times[:1]
            try:
                if i:
                    x_e2e = fl.e2e_flow(x_e2e, energy.grad, depth, seg)[-1]
                    xs, gap, usv = fl.svd_flow(usv, energy.grad, depth, seg)
                    xsrc, _, usv_src = fl.svd_flow(usv_src, energy.grad, depth, seg,
                                                   source_diag=True)
                    worst["gap"] = min(worst["gap"], gap)
                x_svd = usv[0] @ (usv[1][:, None] * usv[2].T)
                x_src = usv_src[0] @ (usv_src[1][:, None] * usv_src[2].T)
                x_fac, bal = self._factors(fl, ws, energy, p.lr, seg, i) if finite else (None, None)
            except fl.FlowError as exc:
                raise ExperimentError(f"integration failed at t ≈ {times[i]:.3g} ({exc}); "
                                      "singular values probably collided.") from None
            if finite:
                ws = x_fac[1]
                x_ref = x_fac[0]
                row_e2e = float(np.abs(x_e2e - x_ref).max())
            else:
                x_ref, row_e2e = x_e2e, None
            row_svd = float(np.abs(x_svd - x_ref).max())
            row_src = float(np.abs(x_src - x_ref).max())
            worst["e2e"] = max(worst["e2e"], row_e2e or 0.0)
            worst["svd"], worst["src"] = max(worst["svd"], row_svd), max(worst["src"], row_src)
            worst["bal"] = max(worst["bal"], bal or 0.0)
            e_fac = energy.value(x_ref) if finite else None
            row = [float(times[i]), e_fac, energy.value(x_e2e), energy.value(x_svd), row_e2e,
                   row_svd, bal, energy.value(x_src), row_src]
            yield Frame(step=i, total=p.steps,
                        message=f"N = {_fmt_depth(depth)}: t = {times[i]:.3g} / {p.t_end:g}",
                        tables={"trajectory": Table(
                            ["t", "energy_factors", "energy_e2e", "energy_svd", "max_abs_diff_e2e",
                             "max_abs_diff_svd", "balance_error", "energy_svd_source",
                             "max_abs_diff_svd_source"], [row])},
                        series={"energy_e2e": [row[2]]},
                        summary={"max_abs_diff_e2e": worst["e2e"] if finite else None,
                                 "max_abs_diff_svd": worst["svd"],
                                 "max_abs_diff_svd_source": worst["src"],
                                 "max_balance_error": worst["bal"] if finite else None,
                                 "min_sigma_gap": _f(worst["gap"]),
                                 "final_energy_factors": e_fac, "final_energy_e2e": row[2],
                                 "final_energy_svd": row[3], "final_energy_svd_source": row[7],
                                 "initial_energy": energy.value(x0),
                                 "gaussian_init_imbalance": imbalance})
        if not finite:
            yield Frame(message="N = ∞: no factor-wise flow; SVD coordinates compared with (4.1)")

    @staticmethod
    def _factors(fl, ws, energy, lr, seg, i):
        """((X, factors), balance error) of the factor-wise computation at seg[-1]."""
        if i == 0:
            return (th.end_to_end(ws), ws), th.balance_error(ws)
        if lr > 0:
            n_steps = int(round((seg[-1] - seg[0]) / lr))
            for _ in range(n_steps):
                gs = fl.factor_grads(ws, energy.grad(th.end_to_end(ws)))
                ws = [w - lr * g for w, g in zip(ws, gs)]
            return (th.end_to_end(ws), ws), th.balance_error(ws)
        xs, bal, ws = fl.factor_flow(ws, energy.grad, seg)
        return (xs[-1], ws), float(bal[-1])


def _gaussian_imbalance(d: int, depth: float, std: float, seed: int) -> float:
    """Relative imbalance of N iid N(0, std²) d×d factors (Remark 2.1.3), drawn from a
    generator of its own so the run's other draws are unchanged."""
    rng = np.random.default_rng([seed, 213])
    return th.relative_imbalance([std * rng.standard_normal((d, d)) for _ in range(int(depth))])


# ===================================================================== low-rank attraction

_STATUS = {1: "t_end", 2: "failed", 3: "converged"}


def _check_sparsity(energy: str, k: int, d: int) -> None:
    if energy == "completion" and not 1 <= k <= d * d:
        raise ExperimentError(f"sparsity K = {k} must be between 1 and d² = {d * d}.")


def _many_seeds(x0s: np.ndarray, energy: th.Energy, depth: float, t_end: float, ctx,
                ) -> Iterator[tuple[int, np.ndarray, int]]:
    from . import kernels

    yield from kernels.run_seeds(x0s, energy, depth, t_end, lambda: ctx.cancelled)


_FLOW_TEXT = """Flow: Ẋ = −(1/N)A_{N,X}(dE(X)) (N = ∞: eigenvalues the log-mean
(σ_i² − σ_j²)/(log σ_i² − log σ_j²), λ_ii = σ_i²), one SVD per right-hand side in a numba
Dormand–Prince 5(4) integrator (rtol 1e-8) per seed; a seed stops early ("converged") once
Σ_I(X_ij − ℓ_ij)² < 1e-14, i.e. at a zero-energy minimiser where the rest of the flow moves X by
O(1e-7) but is stiff (λ ~ σ_max²). Effective rank (4.23): exp(−Σ q_i log q_i), q_i = σ_i/Σσ_j."""


class LowRank(Experiment):
    id = "dln.low-rank"
    title = "Low-rank attraction of the balanced flow (§4.2)"
    description = f"""Many seeds X_0 ~ N(0, init_std²) of the infinite-depth (or 1/N-normalised
depth-N) balanced flow for diagonal completion E = Σ_i(X_ii − 1)² (4.21) or general completion
E = ½Σ_{{(i,j)∈I}}(X_ij − ℓ_ij)² (4.24, one label matrix ℓ ~ U[−2,2] with K = sparsity observed
entries per run). Rows stream per seed as it finishes. For d = 2 diagonal completion the rank-1
minimisers are [[1, α], [1/α, 1]] (4.22): the final (X_12, X_21) should lie on the hyperbola
X_12X_21 = 1 (Fig 4.1a), measured by median |X_12X_21 − 1| (null otherwise; x12, x21 null for
d ≠ 2). Seeds that have not left the saddle at X = 0 by t_end (escape time ~ 1/init_std) or stall
at a rank-1 saddle are kept and counted (status). {_FLOW_TEXT}"""
    params = {
        "d": Int(2, ge=2, le=40, help="width d"),
        "energy": Choice(["completion-diag", "completion"], "completion-diag", help="energy"),
        "sparsity": Int(2, ge=1, help="K = |I| observed entries (completion)"),
        "init_std": Float(0.01, gt=0, le=10, help="X_0 entries ~ N(0, init_std²)"),
        "depth": Int(math.inf, ge=2, le=1000, allow_inf=True, help=_DEPTH_HELP),
        "seeds": Int(200, ge=1, le=100_000, help="number of initialisations"),
        "t_end": Float(3000.0, gt=0, le=1e6, help="final time"),
    }
    plot = Plot(table="seeds", x="x12", y=("x21_hyperbola", "x21"),
                title="final (X₁₂, X₂₁) vs the hyperbola X₂₁ = 1/X₁₂")
    compare = (Compare("X₁₂X₂₁ at the end (rank-1 hyperbola: 1)", theory="hyperbola_x12x21",
                       measured="median_x12x21", tol=0.05,
                       help="median over seeds of X₁₂X₂₁ at t_end; a rank-1 fit has X₁₂X₂₁ = 1"),)

    def run(self, p, ctx) -> Iterator[Frame]:
        d = p.d
        _check_sparsity(p.energy, p.sparsity, d)
        energy = th.make_energy(p.energy, d, ctx.rng, sparsity=p.sparsity)
        x0s = p.init_std * ctx.rng.standard_normal((p.seeds, d, d))
        er0 = th.effective_rank(np.linalg.svd(x0s, compute_uv=False))
        hyper = d == 2 and p.energy == "completion-diag"
        yield Frame(message="compiling/loading the numba kernel…", total=p.seeds)
        fin, prods, counts = [], [], {v: 0 for v in _STATUS.values()}
        for i, x, status in _many_seeds(x0s, energy, p.depth, p.t_end, ctx):
            er = float(th.effective_rank(np.linalg.svd(x, compute_uv=False)))
            fin.append(er)
            counts[_STATUS[status]] += 1
            x12, x21 = (float(x[0, 1]), float(x[1, 0])) if d == 2 else (None, None)
            if hyper:
                prods.append(x12 * x21)
            row = [i, float(er0[i]), er, x12, x21,
                   1.0 / x12 if d == 2 and x12 != 0 else None, _STATUS[status],
                   energy.value(x)]
            yield Frame(step=len(fin), total=p.seeds, message=f"seed {len(fin)} / {p.seeds} done",
                        tables={"seeds": Table(["seed", "erank_initial", "erank_final", "x12",
                                                "x21", "x21_hyperbola", "status", "energy_final"],
                                               [row])},
                        series={"erank_final": [er]},
                        summary=self._summary(er0[:len(fin)], fin, prods, hyper, counts))

    @staticmethod
    def _summary(er0, fin, prods, hyper, counts) -> dict:
        out = {"mean_erank_initial": float(np.mean(er0)), "mean_erank_final": float(np.mean(fin)),
               "sd_erank_final": float(np.std(fin, ddof=1)) if len(fin) > 1 else None,
               "median_abs_x12x21_minus_1": (float(np.median(np.abs(np.array(prods) - 1)))
                                             if hyper else None),
               "median_x12x21": float(np.median(prods)) if hyper else None,
               "hyperbola_x12x21": 1.0 if hyper else None,
               "seeds_done": len(fin)}
        out.update({f"n_{k}": v for k, v in counts.items()})
        return out


class LowRankSweep(Experiment):
    id = "dln.low-rank-sweep"
    title = "Low-rank attraction vs init scale, dimension or sparsity (Figs 4.2–4.4)"
    description = f"""The source's sensitivity studies as one sweep: for each value of `vary`
run `seeds` initialisations and record the mean initial/final effective rank.
• init_std (Fig 4.3): smaller init ⇒ stronger attraction, final erank → 1;
• d (Fig 4.2): X_0 ~ N(0, 1/d) (init_std = 0) — final erank ≪ initial; the source reports a
  roughly linear growth of the limiting erank in d (slope ≈ 3/5, no theory; its caption says
  "vs depth", which must mean vs d);
• sparsity (Fig 4.4, general completion, one label matrix ℓ ~ U[−2,2] per value): U-shape of
  the mean final erank in K (little change at K = 1 and K = d² − 1).
Empty `values` = defaults: init_std 1, 0.3, 0.1, 0.03, 0.01; d 2, 3, 4, 5, 6;
sparsity ⌈(0.01, 0.1, 0.25, 0.5, 0.99)·d²⌉ (= 1, 10, 25, 50, 99 at d = 10). init_std = 0 means
1/√d. Energy: `energy` (forced to completion for the sparsity sweep). t_end = 0 picks 3000
(completion-diag: escape from X ≈ 0 takes ~1/init_std) or 300 (completion: seeds approach a
manifold of minimisers slowly while the explicit integrator is held to h ≲ 3/σ_max², so long
horizons cost minutes at d = 10). {_FLOW_TEXT}"""
    params = {
        "vary": Choice(["init_std", "d", "sparsity"], "init_std", help="swept parameter"),
        "values": FloatList([], min_len=0, ge=0, help="values to try (empty = defaults)"),
        "d": Int(5, ge=2, le=40, help="width d (when not swept)"),
        "energy": Choice(["completion-diag", "completion"], "completion-diag", help="energy"),
        "init_std": Float(0.0, ge=0, le=10, help="init std when not swept (0 = 1/√d)"),
        "sparsity": Int(0, ge=0, help="K when not swept (0 = ⌊d²/2⌋)"),
        "depth": Int(math.inf, ge=2, le=1000, allow_inf=True, help=_DEPTH_HELP),
        "seeds": Int(20, ge=2, le=10_000, help="initialisations per value"),
        "t_end": Float(0.0, ge=0, le=1e6, help="final time (0 = 3000 for completion-diag, "
                                                "300 for completion)"),
    }
    plot = Plot(table="sweep", x="value", y=("mean_erank_initial", "mean_erank_final"),
                title="mean effective rank: initial vs final")

    _DEFAULTS = {"init_std": [1.0, 0.3, 0.1, 0.03, 0.01], "d": [2, 3, 4, 5, 6]}

    def _values(self, p) -> list[float]:
        if p["values"]:
            return list(p["values"])
        if p.vary == "sparsity":
            return sorted({max(1, math.ceil(f * p.d * p.d)) for f in (0.01, 0.1, 0.25, 0.5, 0.99)})
        return self._DEFAULTS[p.vary]

    def _setting(self, p, value: float) -> tuple[int, str, int, float]:
        d = int(value) if p.vary == "d" else p.d
        if p.vary == "d" and (value != int(value) or not 2 <= value <= 40):
            raise ExperimentError(f"d values must be integers in [2, 40]; got {value:g}.")
        energy = "completion" if p.vary == "sparsity" else p.energy
        k = int(value) if p.vary == "sparsity" else (p.sparsity or d * d // 2)
        if p.vary == "sparsity" and value != int(value):
            raise ExperimentError(f"sparsity values must be integers; got {value:g}.")
        _check_sparsity(energy, k, d)
        std = value if p.vary == "init_std" else (p.init_std or 1.0 / math.sqrt(d))
        if std <= 0:
            raise ExperimentError("init_std values must be positive.")
        return d, energy, k, std

    def run(self, p, ctx) -> Iterator[Frame]:
        values = self._values(p)
        settings = [self._setting(p, v) for v in values]
        yield Frame(message="compiling/loading the numba kernel…", total=len(values) * p.seeds)
        done = 0
        for j, (value, (d, kind, k, std)) in enumerate(zip(values, settings), start=1):
            energy = th.make_energy(kind, d, ctx.rng, sparsity=k)
            x0s = std * ctx.rng.standard_normal((p.seeds, d, d))
            er0 = th.effective_rank(np.linalg.svd(x0s, compute_uv=False))
            fin = []
            t_end = p.t_end or (300.0 if kind == "completion" else 3000.0)
            for _, x, _status in _many_seeds(x0s, energy, p.depth, t_end, ctx):
                fin.append(float(th.effective_rank(np.linalg.svd(x, compute_uv=False))))
                done += 1
                yield Frame(step=done, total=len(values) * p.seeds,
                            message=f"{p.vary} = {value:g}: seed {len(fin)} / {p.seeds} done",
                            series={"erank_final": fin[-1:]})
            if len(fin) < p.seeds:
                return
            row = [float(value), float(np.mean(er0)), float(np.mean(fin)),
                   float(np.std(fin, ddof=1)), d, k if kind == "completion" else None, std, t_end]
            yield Frame(message=f"{p.vary} = {value:g} done ({j} / {len(values)} values)",
                        tables={"sweep": Table(["value", "mean_erank_initial", "mean_erank_final",
                                                "sd_erank_final", "d", "sparsity", "init_std",
                                                "t_end"],
                                               [row])},
                        summary={"values_done": values[:values.index(value) + 1],
                                 f"mean_erank_final_{value:g}": row[2]})


# ===================================================================== dln.geodesic


class Geodesic(Experiment):
    id = "dln.geodesic"
    title = "Geodesics of the DLN metric: closed forms vs an optimised path"
    description = """Energy ℰ[γ] = ∫_0^1 g^N_γ(γ̇, γ̇) dt with g^N_X(Z, Z) = Σ_kl (u_kᵀZv_l)²/λ_kl
(raw λ for finite N, log-mean for N = ∞), by `points`-node Gauss–Legendre quadrature, for
• diagonal (Cor 3.4.2.1): γ = ((1−t)A^{1/N} + tB^{1/N})^N, A, B positive diagonal (N = ∞:
  exp((1−t)log A + t log B)) — a constant-speed geodesic;
• rotated (Thm 3.4.2, 3.76): A = UΣVᵀ, B = (UQ)Σ̃(VQ)ᵀ, Q Haar-random, γ = U((1−t)Σ^{1/N} +
  tQΣ̃^{1/N}Qᵀ)^N Vᵀ. SOURCE ERROR: this is a geodesic only if QΣ̃Qᵀ commutes with Σ; for a
  generic Q the straight lift is balanced but not horizontal (3.81 uses one α for all layers),
  so the speed varies and the optimised path beats it (beaten = 1);
• bures-wasserstein (Thm 3.2.3, 3.15, needs depth = 2): X(t) = (1−t)²A + t²B +
  t(1−t)[(AB)^{1/2} + (BA)^{1/2}] for SPD A, B; on SPD matrices g² = 2g^BW, so the BW length
  ∫√(g²/2) dt equals d_BW = (tr A + tr B − 2tr(A^{1/2}BA^{1/2})^{1/2})^{1/2} and ℰ = 2d_BW².
energy_optimized: the minimum of ℰ over polynomial paths (1−t)A + tB + t(1−t)Σ_{k<modes}
C_kT_k(2t−1) with the same end points (L-BFGS from the straight line) — every such path is a
genuine path, so a true geodesic is never beaten. speed_variation = max/min speed − 1 along
the closed form. length_closed_form and bw_distance are null except for bures-wasserstein."""
    params = {
        "d": Int(3, ge=1, le=6, help="matrix size d"),
        "depth": Int(2, ge=2, le=32, allow_inf=True, help=_DEPTH_HELP),
        "kind": Choice(["diagonal", "rotated", "bures-wasserstein"], "diagonal",
                       help="end points and closed form"),
        "points": Int(64, ge=8, le=512, help="quadrature nodes / table rows"),
        "modes": Int(4, ge=1, le=8, help="polynomial degrees of freedom of the optimised path"),
    }
    plot = Plot(table="path", x="t", y=("speed_closed_form", "speed_straight_line"),
                title="speed √g(γ̇, γ̇) along the closed form and the straight line")
    compare = (Compare("path energy: closed form vs optimised", theory="energy_closed_form",
                       measured="energy_optimized", tol=1e-9,
                       help="a true geodesic cannot be beaten by the optimised polynomial path"),
               Compare("BW length vs d_BW", theory="bw_distance", measured="length_closed_form",
                       tol=1e-9, help="Bures–Wasserstein length of the closed form = distance"))

    def _endpoints(self, p, rng) -> tuple[np.ndarray, np.ndarray, callable]:
        d, depth = p.d, p.depth
        if p.kind == "diagonal":
            a, b = rng.uniform(0.5, 3.0, d), rng.uniform(0.5, 3.0, d)
            return np.diag(a), np.diag(b), lambda t: th.diagonal_geodesic(a, b, depth, t)
        if p.kind == "rotated":
            u, v, q = (th.random_orthogonal(d, rng) for _ in range(3))
            s, st = (np.sort(rng.uniform(0.5, 3.0, d))[::-1] for _ in range(2))
            return (u @ np.diag(s) @ v.T, u @ q @ np.diag(st) @ q.T @ v.T,
                    lambda t: th.rotated_closed_form(u, s, v, q, st, depth, t))
        if depth != 2:
            raise ExperimentError("bures-wasserstein needs depth = 2 (BW is the N = 2 DLN "
                                  "restricted to symmetric factors).")
        g1, g2 = rng.standard_normal((2, d, d))
        a, b = g1 @ g1.T / d + 0.2 * np.eye(d), g2 @ g2.T / d + 0.2 * np.eye(d)
        return a, b, lambda t: th.bw_geodesic(a, b, t)

    def run(self, p, ctx) -> Iterator[Frame]:
        from . import geodesics as ge

        a, b, closed = self._endpoints(p, ctx.rng)
        tu = np.linspace(0.0, 1.0, p.points)
        speed = np.sqrt(th.metric(*closed(tu), p.depth))
        line = np.sqrt(th.metric((1 - tu)[:, None, None] * a + tu[:, None, None] * b,
                                 np.broadcast_to(b - a, (p.points, *a.shape)), p.depth))
        rows = [[float(t), _f(s), _f(sl)] for t, s, sl in zip(tu, speed, line)]
        tg, w = ge.gauss_nodes(p.points)
        xg, dxg = closed(tg)
        e_closed = float(ge.path_energy(xg, dxg, w, p.depth))
        e_line = float(ge.path_energy((1 - tg)[:, None, None] * a + tg[:, None, None] * b,
                                      b - a, w, p.depth))
        sp = np.sqrt(th.metric(xg, dxg, p.depth))
        summary = {"energy_closed_form": e_closed, "energy_straight_line": _f(e_line),
                   "speed_variation": float(sp.max() / sp.min() - 1),
                   "length_closed_form": None, "bw_distance": None}
        if p.kind == "bures-wasserstein":
            summary.update(length_closed_form=float(np.sum(w * sp / math.sqrt(2))),
                           bw_distance=th.bw_distance(a, b),
                           energy_bw_theory=2 * th.bw_distance(a, b) ** 2)
        yield Frame(tables={"path": Table(["t", "speed_closed_form", "speed_straight_line"],
                                          rows)},
                    summary=summary, message="optimising a path with the same end points…")
        if ctx.cancelled:
            return
        start = None
        if not math.isfinite(e_line):
            start = closed(ge.gauss_nodes(24)[0])[0]
        result = ge.optimise_path(a, b, p.depth, p.modes, p.points, start=start,
                                  should_stop=lambda: ctx.cancelled)
        if result is None:
            return
        e_opt, _, iters = result
        yield Frame(summary={"energy_optimized": e_opt, "optimizer_iterations": iters,
                             "optimizer_start": "straight line" if start is None else "closed form",
                             "energy_gap": e_closed - e_opt,
                             "beaten": int(e_opt < e_closed * (1 - 1e-8))},
                    message="done")


# ===================================================================== entropy


class Entropy(Experiment):
    id = "dln.entropy"
    title = "Free-energy flow to the isotropic equilibrium (Thm 4.3.7)"
    description = """F_β(X) = E_p(X) − S(X)/β with E_p = (1/p)Σσ_i^p and the entropy
S_∞ = ½Σ_{j<k} log[(σ_j² − σ_k²)/(log σ_j² − log σ_k²)] (4.28) (S_N (4.27) for finite N).
Flow Ẋ = −A(dF), dF = U diag(σ^{p−1} − ∇_σS/β) Vᵀ (4.53): diagonal in the SVD frame, so U, V
stay fixed and σ̇_i = −λ_ii(σ_i^{p−1} − (1/β)∂S/∂σ_i), λ_ii = σ_i² (N = ∞) or σ_i^{2−2/N}
(1/N-normalised), from X_0 ~ N(0, 1/d) (DOP853). ∂S_∞/∂σ_i = Σ_{j≠i} φ(r_ij)/σ_i with
r = log σ_i² − log σ_j², φ(r) = 1/(1 − e^{−r}) − 1/r (smooth at coincidence, φ(0) = ½).
Theorem 4.3.7: the equilibrium is isotropic with σ = ((d − 1)/(2β))^{1/p} (sigma_theory, from
its proof 4.75 and Fig 4.5a: log10 √4.5 ≈ 0.33 for d = 10, β = 1, p = 2). SOURCE ERROR: the
statement (4.70) prints ((d − 1)/β)^{1/p} (sigma_source_statement, shown beside it).
For finite N the same argument with g_N → (½ − 1/(2N))/σ gives σ = ((d−1)(1−1/N)/(2β))^{1/p}
(sigma_theory then; the statement's value is still the printed N = ∞ formula)."""
    params = {
        "d": Int(10, ge=2, le=200, help="width d"),
        "p": Float(2.0, gt=1, le=10, help="exponent p of E_p = (1/p)Σσ^p"),
        "beta": Float(1.0, gt=0, le=1e4, help="inverse temperature β"),
        "depth": Int(math.inf, ge=2, le=1000, allow_inf=True, help=_DEPTH_HELP),
        "t_end": Float(100.0, gt=0, le=1e5, help="final time"),
        "samples": Int(60, ge=2, le=2000, help="output times (geometric in t)"),
    }
    plot = Plot(table="trajectory", x="t", y=("sigma_theory", "sigma_min", "sigma_max"),
                title="singular values → isotropic equilibrium", logy=True)
    compare = (Compare("isotropic σ", theory="sigma_theory", measured="final_sigma_mean",
                       source="sigma_source_statement", tol=1e-8,
                       help="σ = ((d−1)/(2β))^{1/p} (proof, 4.75); the statement (4.70) drops the 2"),)

    def run(self, p, ctx) -> Iterator[Frame]:
        from . import flows as fl

        d, depth = p.d, p.depth
        s = np.linalg.svd(ctx.rng.standard_normal((d, d)) / math.sqrt(d), compute_uv=False)
        s_th = th.sigma_equilibrium(d, p.p, p.beta, depth)
        s_src = th.sigma_source_statement(d, p.p, p.beta)
        times = np.concatenate([[0.0], np.geomspace(min(1e-2, p.t_end / 10), p.t_end,
                                                    p.samples - 1)])
        yield Frame(summary={"sigma_theory": s_th, "sigma_source_statement": s_src,
                             "log10_sigma_theory": math.log10(s_th)}, total=len(times) - 1)
        for i, t in enumerate(times):
            if ctx.cancelled:
                return
            if i:
                s = fl.free_energy_flow(s, p.p, p.beta, depth, times[i - 1], t, th.entropy_grad)
            ent = th.entropy(s, depth)
            free = float(np.sum(s ** p.p) / p.p - ent / p.beta)
            row = [float(t), free, ent, float(th.effective_rank(s)), float(s.min()),
                   float(s.max()), s_th]
            yield Frame(step=i, total=len(times) - 1,
                        tables={"trajectory": Table(["t", "free_energy", "entropy", "erank",
                                                     "sigma_min", "sigma_max", "sigma_theory"],
                                                    [row])},
                        series={f"sigma_{k + 1}": [float(v)] for k, v in
                                enumerate(np.sort(s)[::-1])},
                        summary={"final_sigma_mean": float(s.mean()),
                                 "final_sigma_spread": float(s.max() - s.min()),
                                 "final_abs_error_theory": float(np.abs(s - s_th).max()),
                                 "final_free_energy": free})


class EntropyIdentities(Experiment):
    id = "dln.entropy-identities"
    title = "Entropy identities: scaling, Vandermonde form, derivative"
    description = """Checks on random singular values σ ~ U[0.2, 3] (per trial):
• scaling (4.31–4.32), a ~ U[0.2, 5]: S_N(aX) − S_N(X) = C(d,2)(1 − 1/N) log a,
  S_∞(aX) − S_∞(X) = C(d,2) log a;
• Vandermonde form (4.29), N = ∞: S_∞ = log √(van(Σ²)/van(log Σ²)) (null for finite N);
• derivative (4.36–4.37, corrected: σ_i in the second term, both terms inside Σ_{j≠i}) vs a
  5-point central finite difference of S (h = 1e-3, Richardson-extrapolated), relative to max|∇S|;
• the stable form Σ_{j≠i} (φ(r) − φ(r/N)/N)/σ_i vs the printed (corrected) formula, relative to
  its largest term max|σ_i/(σ_i² − σ_j²)| (the printed form cancels such terms).
All errors should be at rounding level (≲ 1e-10).
lemma_4_3_6_2_holds: 1 if g(σ_i, σ_j) > g(σ_j, σ_i) for every pair σ_i > σ_j of every trial
(Lemma 4.3.6(2), g of 4.56); the opposite holds (g_2_1 = g(2, 1) < g_1_2 = g(1, 2))."""
    params = {
        "d": Int(6, ge=2, le=50, help="number of singular values"),
        "depth": Int(math.inf, ge=2, le=1000, allow_inf=True, help=_DEPTH_HELP),
        "trials": Int(20, ge=1, le=10_000, help="random σ vectors"),
    }
    plot = Plot(table="checks", x="trial", y=("scaling_error", "derivative_error"),
                title="errors per trial", logy=True)
    compare = (Compare("S(aX) − S(X)", theory="shift_theory", measured="shift_measured",
                       tol=1e-9),)

    def run(self, p, ctx) -> Iterator[Frame]:
        d, depth = p.d, p.depth
        worst = {"scaling": 0.0, "vandermonde": 0.0, "derivative": 0.0, "grad_forms": 0.0}
        inf = math.isinf(depth)
        lemma_all = True
        for trial in range(p.trials):
            if ctx.cancelled:
                return
            s = ctx.rng.uniform(0.2, 3.0, d)
            a = float(ctx.rng.uniform(0.2, 5.0))
            shift = th.entropy(a * s, depth) - th.entropy(s, depth)
            shift_th = th.entropy_scaling_shift(d, depth, a)
            grad = th.entropy_grad(s, depth)
            fd = _fd5_grad(lambda x: th.entropy(x, depth), s, 1e-3)
            order = np.argsort(s)[::-1]
            lemma_ok = all(th.g_pair(s[i], s[j]) > th.g_pair(s[j], s[i])
                           for a, i in enumerate(order) for j in order[a + 1:] if s[i] > s[j])
            lemma_all = lemma_all and lemma_ok
            errs = {"scaling": abs(shift - shift_th),
                    "vandermonde": abs(th.entropy_vandermonde(s) - th.entropy(s, depth)) if inf
                    else None,
                    "derivative": float(np.abs(grad - fd).max() / max(1.0, np.abs(grad).max())),
                    "grad_forms": float(np.abs(grad - th.entropy_grad_plain(s, depth)).max()
                                        / _largest_term(s))}
            for k, v in errs.items():
                worst[k] = max(worst[k], v or 0.0)
            yield Frame(step=trial + 1, total=p.trials,
                        tables={"checks": Table(["trial", "scaling_error", "vandermonde_error",
                                                 "derivative_error", "grad_forms_error"],
                                                [[trial] + list(errs.values())])},
                        summary={"max_scaling_error": worst["scaling"],
                                 "max_vandermonde_error": worst["vandermonde"] if inf else None,
                                 "max_derivative_error": worst["derivative"],
                                 "max_grad_forms_error": worst["grad_forms"],
                                 "max_error": max(worst.values()),
                                 "shift_theory": shift_th, "shift_measured": shift,
                                 "lemma_4_3_6_2_holds": int(lemma_all),
                                 "g_2_1": th.g_pair(2.0, 1.0), "g_1_2": th.g_pair(1.0, 2.0)})


def _largest_term(s: np.ndarray) -> float:
    """max_{i≠j} |σ_i/(σ_i² − σ_j²)|: the scale of the cancelling terms in (4.36–4.37)."""
    diff = s[:, None] ** 2 - s[None, :] ** 2
    np.fill_diagonal(diff, np.inf)
    return float(np.max(np.abs(s[:, None] / diff)))


def _fd5_grad(f, s: np.ndarray, h: float) -> np.ndarray:
    """5-point central differences D_h = (f(−2h) − 8f(−h) + 8f(h) − f(2h))/(12h) per
    coordinate, Richardson-extrapolated: (16 D_{h/2} − D_h)/15 (error O(h⁶))."""
    def d5(i: int, step: float) -> float:
        e = np.zeros_like(s)
        e[i] = step
        return (f(s - 2 * e) - 8 * f(s - e) + 8 * f(s + e) - f(s + 2 * e)) / (12 * step)
    return np.array([(16 * d5(i, h / 2) - d5(i, h)) / 15 for i in range(len(s))])
