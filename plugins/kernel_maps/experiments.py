"""Experiments of the kernel_maps plugin: fixed point, atlas, kernel function."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from matexplore import (Bool, Check, Choice, Compare, Experiment, ExperimentError, Float,
                        FloatList, Frame, Int, Plot, RunContext, RunningStats, Table,
                        registered_activations)
from matexplore.params import Params

from . import theory as th
from .activations import DEFAULT_SLOPE, kernel_map

MAX_MATRIX_WIDTH = 2048
_GRAM_CHUNK = 1 << 17   # pairs × width per chunk (~2 ms per call)
_MATRIX_CHUNK = 1 << 21  # pairs × width² per chunk (~10 ms)
#: 2: Generator streams per chunk (ctx.map_chunks) instead of numba's legacy RNG in the
#: Monte-Carlo of fixed-point and kernel; for all three, κ/κ' by quadrature split at the
#: activation's kinks (~1e-14) and c1_sq = κ'(0) from the same source as κ.
VERSION = "2"


def _activation_param() -> Choice:
    return Choice(lambda: sorted(registered_activations()), default="relu",
                  help="activation f (built-in or registered by any plugin)")


def _kernel_params() -> dict:
    return {
        "activation": _activation_param(),
        "slope": Float(DEFAULT_SLOPE, ge=-10, le=10, help="negative slope a of leaky_relu"),
        "centered": Bool(False, help="centre φ as well (E φ(g) = 0, so κ(0) = 0)"),
        "hermite_weights": FloatList([], min_len=0, ge=0, help="custom kernel κ(ρ) = Σ w_k ρ^k "
                                     "/ Σ w_k from Hermite weights c_k² (overrides activation; "
                                     "theory only, no Monte-Carlo)"),
    }


def _resolve(p: Params):
    """(activation or None, KernelMap) for the run's parameters."""
    if p.hermite_weights:
        try:
            return None, th.custom_kernel(p.hermite_weights, centered=p.centered)
        except ValueError as exc:
            raise ExperimentError(f"{exc}.") from None
    act = registered_activations()[p.activation]
    try:
        km = kernel_map(act, slope=p.slope, centered=p.centered)
    except ValueError as exc:
        raise ExperimentError(f"Activation {p.activation!r}: {exc}.") from None
    if not km.scale > 1e-12:
        raise ExperimentError(f"Activation {p.activation!r} has (almost) zero variance "
                              "after centring; it cannot be normalised.")
    return act, km


_NO_BETA = ("β is null when κ'(ρ*) ≥ 1: the theorem's hypothesis κ'(ρ*) < 1 fails and "
            "there is no geometric rate.")

_MATH = """
Normalised activation φ = (f − c·E f(g))/√Var, c = 1 if `centered`; kernel
κ(ρ) = E[φ(u)φ(v)] = Σ_k c_k² ρ^k for standard normals u, v with correlation ρ;
κ'(ρ) = E[φ'(u)φ'(v)] (Price), κ(0) = c_0², κ'(1) = E φ'(g)². κ and κ' come from closed
forms (ReLU/leaky ReLU arc-cosine, erf: (2/π)arcsin(2ρ/3), sin: e^{−1}sinh ρ) or a 2-D
Gauss–Legendre quadrature split at the activation's kinks (error ~1e-14 for every ρ,
ρ → ±1 included), never from a truncated Hermite series (ReLU: 60 terms give
κ'(1) = 0.967, not 1). c_1² is reported as κ'(0), from the same source as κ. ρ* is the attracting root of
κ(ρ) = ρ (Brent on sign changes; the trivial root 1 only when κ'(1) ≤ 1).
"""


class FixedPoint(Experiment):
    id = "kernel-maps.fixed-point"
    title = "Kernel map iteration ρ_{ℓ+1} = κ(ρ_ℓ): fixed point, β bounds, finite width"
    description = _MATH + """
Theory: ρ_ℓ = κ^ℓ(ρ_0) and the source's bound |ρ_ℓ − ρ*| ≤ |ρ_0 − ρ*|/(1 − |ρ_0|)·β^ℓ with
A (stated first): κ(0) = 0 ⇒ β = 1/κ'(1), else β = max{1 − c_0², κ'(ρ*), 1/κ'(1)};
B (end of proof): β = max{1 − c_0², 1 − ρ*, κ'(ρ*)}; kstar: β = κ'(ρ*); and the always
sufficient β_need = sup_ρ R(ρ), R = [|κ(ρ)−ρ*|/(1−|κ(ρ)|)]/[|ρ−ρ*|/(1−|ρ|)].
Source errors: A is wrong whenever c_1²·κ'(1) > 1 (tanh, erf, sin, centred ReLU: the
asymptotic rate is κ'(0) = c_1² > 1/κ'(1)); B and kstar fail for κ = ½ + ½ρ³ (weights
0.5,0,0,0.5) from ρ_0 near 1. When κ'(ρ*) = 1 (ReLU, leaky ReLU: ρ* = 1,
1 − ρ_ℓ = Θ(1/ℓ²)) no β exists and the β keys are null. rate_empirical is the last ratio
|ρ_ℓ − ρ*|/|ρ_{ℓ−1} − ρ*| of the theory trajectory (→ κ'(ρ*)).
Finite width (convention K2 of the notes): `pairs` independent networks of width d, two
inputs with cosine ρ_0; h_ℓ = W_ℓ φ(h_{ℓ−1}), W_ℓ i.i.d. N(0, 1/d), each h_ℓ rescaled to
RMS 1 (no centring); ρ̂_ℓ = cos(h_ℓˣ, h_ℓʸ), mean ± standard error over pairs against ρ_ℓ.
`sampler = gram` draws h_ℓ exactly as d i.i.d. bivariate normals with covariance
(1/d)·Gram(φ(hˣ), φ(hʸ)) (O(d) per layer); `matrix` multiplies by explicit W (O(d²)).
The deviation is O(1/√d) per layer and accumulates with depth.
"""
    params = {
        **_kernel_params(),
        "rho0": Float(0.5, gt=-1, lt=1, help="input correlation ρ_0"),
        "depth": Int(50, ge=1, le=10_000, help="number of layers L"),
        "width": Int(512, ge=2, le=65_536, help="width d of the finite network"),
        "pairs": Int(64, ge=0, le=100_000, help="independent networks for the Monte-Carlo "
                     "(0 = theory only)"),
        "sampler": Choice(["gram", "matrix"], default="gram",
                          help="gram: exact bivariate-normal shortcut; matrix: explicit W"),
    }
    version = VERSION
    plot = Plot(table="layers", x="layer", y=("rho_theory", "rho_mc"),
                title="ρ_ℓ: infinite-width theory vs finite-width Monte-Carlo")
    compare = (Compare("ρ_L (last layer)", theory="rho_L_theory", measured="rho_L_mc",
                       se="rho_L_se",
                       help="ρ_L = κ^L(ρ_0) (infinite width) vs the mean of ρ̂_L = "
                            "cos(h_Lˣ, h_Lʸ) over `pairs` networks of width d, ± SE"),
               Compare("rate vs κ'(ρ*)", theory="kappa_prime_rho_star",
                       measured="rate_empirical", tol=0.05,
                       help="|ρ_L − ρ*|/|ρ_{L−1} − ρ*| of the theory trajectory → κ'(ρ*) "
                            "as L → ∞ (geometrically when κ'(ρ*) < 1; 1 − O(1/L) when "
                            "κ'(ρ*) = 1, e.g. ReLU); ✓ within 5 %"),
               Compare("β needed vs β = κ'(ρ*)", theory="beta_kstar", measured="beta_need",
                       source="beta_A",
                       help="β_need = sup_ρ R(ρ), R = [|κ(ρ)−ρ*|/(1−|κ(ρ)|)]/[|ρ−ρ*|/"
                            "(1−|ρ|)] (the smallest β the bound allows) vs β = κ'(ρ*); "
                            "source says: β_A (κ(0) = 0 ⇒ 1/κ'(1), else max{1 − c_0², "
                            "κ'(ρ*), 1/κ'(1)}). A β below β_need makes the bound fail"))
    checks = tuple(
        Check(f"bound {name}", holds=f"bound_{key}_holds", detail=f"worst_ratio_{key}",
              detail_label="worst ratio",
              help=f"|ρ_ℓ − ρ*| ≤ |ρ_0 − ρ*|/(1 − |ρ_0|)·β^ℓ at every layer with β = {beta}; "
                   "worst ratio = max_ℓ |ρ_ℓ − ρ*| / bound_ℓ")
        for name, key, beta in (
            ("A (source, stated first)", "A", "β_A"),
            ("B (source, end of proof)", "B", "max{1 − c_0², 1 − ρ*, κ'(ρ*)}"),
            ("β = κ'(ρ*)", "kstar", "κ'(ρ*)"),
            ("β = β_need", "need", "β_need")))

    def run(self, p: Params, ctx: RunContext) -> Iterator[Frame]:
        if p.sampler == "matrix" and p.width > MAX_MATRIX_WIDTH and p.pairs > 0:
            raise ExperimentError(f"sampler=matrix needs width ≤ {MAX_MATRIX_WIDTH} "
                                  "(O(d²) per layer); use sampler=gram for wider networks.")
        act, km = _resolve(p)
        yield Frame(message="computing the kernel map…", total=p.depth, step=0)
        theory = _fixed_point_theory(km, p.rho0, p.depth)
        yield Frame(message=theory["summary"].get("message"), summary=theory["summary"])
        mc = None
        if p.pairs > 0 and act is not None:
            yield Frame(message="compiling kernels…")
            mc = _FiniteWidth(km, p, ctx)
        cols = ["layer", "rho_theory", "rho_mc", "rho_mc_se", "dist_theory", "bound_A",
                "bound_B", "bound_kstar", "bound_need", "z"]
        for ell in range(p.depth + 1):
            if ctx.cancelled:
                return
            if mc is None:
                mean, se = None, None
            else:
                mean, se = (p.rho0, 0.0) if ell == 0 else mc.step()
            rt = float(theory["rho"][ell])
            z = (mean - rt) / se if mean is not None and se else None
            row = [ell, rt, mean, se, float(theory["dist"][ell])] + [
                _nan_none(theory[k][ell]) for k in ("bound_A", "bound_B", "bound_kstar",
                                                     "bound_need")] + [z]
            series = {"rho_theory": [rt]}
            if mean is not None:
                series["rho_mc"] = [mean]
            yield Frame(step=ell, total=p.depth, tables={"layers": Table(cols, [row])},
                        series=series, message=f"layer {ell} / {p.depth}",
                        summary={"rho_L_theory": rt, "rho_L_mc": mean, "rho_L_se": se,
                                 "rho_L_z": z})
        if mc is None:
            yield Frame(message="no Monte-Carlo (pairs = 0 or a custom kernel): rho_mc is null",
                        summary={"message": "no Monte-Carlo: rho_mc is null"})
        elif theory["summary"].get("message"):
            yield Frame(message=theory["summary"]["message"])


def _nan_none(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _fixed_point_theory(km: th.KernelMap, rho0: float, depth: int) -> dict:
    """Trajectory, distances, bound curves and the summary of the fixed-point run."""
    rs = th.fixed_point(km)
    b = th.betas(km, rs)
    rho = th.trajectory(km, rho0, depth)
    dist = np.abs(rho - rs)
    out = {"rho": rho, "dist": dist}
    summary = {"rho_star": rs, "kappa_0": km.kappa_0, "kappa_prime_rho_star": km.kappa_prime(rs),
               "kappa_prime_1": km.kappa_prime_1, "beta_need": b.need,
               "regime": th.regime(rs, km.kappa_prime_1), "rate_empirical":
               th.empirical_rate(dist), "c1_sq": km.kappa_prime(0.0)}
    for key in ("A", "B", "kstar", "need"):
        beta = getattr(b, key)
        curve = th.bound_curve(rho0, rs, beta, depth)
        out[f"bound_{key}"] = curve
        summary[f"beta_{key}"] = beta
        summary[f"bound_{key}_holds"] = th.bound_holds(dist, curve)
        summary[f"worst_ratio_{key}"] = (None if beta is None else
                                         float(np.max(dist / np.maximum(curve, 1e-300))))
    if b.reason:
        summary["message"] = _NO_BETA + " " + b.reason
    elif summary["rate_empirical"] is None:
        summary["message"] = "rate_empirical is null: ρ_0 = ρ* (no distance to contract)."
    out["summary"] = summary
    return out


class _FiniteWidth:
    """The finite-width Monte-Carlo, one layer per :meth:`step`.

    The (pairs × d) state lives here; each layer is one ``ctx.map_chunks`` pass over
    chunks of pairs (each chunk with its own Generator, ``ctx.threads`` at once), so the
    result depends only on the params and the seed."""

    def __init__(self, km: th.KernelMap, p: Params, ctx: RunContext) -> None:
        from . import kernels as kn  # numba is imported only when a run starts

        self.ctx, self.pairs = ctx, p.pairs
        # φ = (f − shift)/scale: f applied by NumPy, shift and scale inside the kernel
        self.phi = (km.fn, km.mean if km.centered else 0.0, math.sqrt(km.scale))
        gram = p.sampler == "gram"
        self.layer = kn.gram_chunk if gram else kn.matrix_chunk
        self.per = max(1, (_GRAM_CHUNK // p.width) if gram else (_MATRIX_CHUNK // p.width**2))
        self.hx = np.empty((p.pairs, p.width))
        self.hy = np.empty((p.pairs, p.width))
        for _ in ctx.map_chunks(kn.init_pairs, p.pairs, self.per, float(p.rho0),
                                rows=(self.hx, self.hy)):
            pass

    def step(self) -> tuple[float, float | None]:
        """Advance every pair by one layer; return (mean ρ̂, standard error)."""
        stats = RunningStats()
        for _, rho in self.ctx.map_chunks(self.layer, self.pairs, self.per, *self.phi,
                                          rows=(self.hx, self.hy)):
            stats.add(rho)
        se = float(stats.se)
        return float(stats.mean), (se if math.isfinite(se) else None)


class Atlas(Experiment):
    id = "kernel-maps.atlas"
    version = VERSION
    title = "Atlas of activations: κ(0), c_1², ρ*, κ'(ρ*), κ'(1), β candidates, regime"
    description = _MATH + """
One row per registered activation (built-in and from other plugins). The bounds
|ρ_ℓ − ρ*| ≤ |ρ_0 − ρ*|/(1−|ρ_0|)·β^ℓ are checked along the infinite-width trajectories
from ρ_0 ∈ {±0.999, ±0.99} ∪ 39 points of [−0.95, 0.95] for `depth` layers (the notes
used 400). β_A: κ(0) = 0 ⇒ 1/κ'(1), else max{1 − c_0², κ'(ρ*), 1/κ'(1)}; β_B = max{1 − c_0²,
1 − ρ*, κ'(ρ*)}; β_kstar = κ'(ρ*); null (with the reason in `message`) when κ'(ρ*) = 1.
regime: ordered (ρ* = 1, κ'(1) < 1), critical (ρ* = 1, κ'(1) = 1), chaotic (ρ* < 1).
Expected: A is violated for tanh, erf, sin (and centred ReLU/leaky ReLU), B holds.
"""
    params = {
        "slope": Float(DEFAULT_SLOPE, ge=-10, le=10, help="negative slope of leaky_relu"),
        "centered": Bool(False, help="centre every φ (κ(0) = 0)"),
        "depth": Int(400, ge=1, le=5000, help="layers of each trajectory in the bound check"),
    }
    columns = ["activation", "kappa_0", "c1_sq", "rho_star", "kappa_prime_rho_star",
               "kappa_prime_1", "beta_A", "beta_B", "beta_kstar", "bound_A_holds",
               "bound_B_holds", "regime", "bound_kstar_holds", "beta_need", "closed_form",
               "message"]

    def run(self, p: Params, ctx: RunContext) -> Iterator[Frame]:
        acts = registered_activations()
        names = sorted(acts)
        violations = {"A": 0, "B": 0, "kstar": 0}
        yield Frame(step=0, total=len(names), message="computing kernels…")
        for i, name in enumerate(names, start=1):
            if ctx.cancelled:
                return
            try:
                row = self._row(acts[name], p, ctx)
            except (ValueError, FloatingPointError, ArithmeticError) as exc:
                row = [name] + [None] * (len(self.columns) - 2) + [f"failed: {exc}"]
            if row is None:
                return
            for key, idx in (("A", 9), ("B", 10), ("kstar", 12)):
                violations[key] += row[idx] is False
            yield Frame(step=i, total=len(names), message=f"{name} done",
                        tables={"activations": Table(self.columns, [row])},
                        summary={"activations": i,
                                 **{f"bound_{k}_violations": v for k, v in violations.items()}})

    def _row(self, act, p: Params, ctx: RunContext) -> list | None:
        km = kernel_map(act, slope=p.slope, centered=p.centered)
        rs = th.fixed_point(km)
        b = th.betas(km, rs)
        holds = th.bounds_hold_globally(km, rs, b, depth=p.depth)
        if ctx.cancelled:
            return None
        return [act.name, km.kappa_0, km.kappa_prime(0.0), rs, km.kappa_prime(rs),
                km.kappa_prime_1, b.A, b.B, b.kstar, holds["A"], holds["B"],
                th.regime(rs, km.kappa_prime_1), holds["kstar"], b.need,
                km.closed_form, b.reason]


class KernelFunction(Experiment):
    id = "kernel-maps.kernel"
    title = "The kernel map κ(ρ) against the diagonal, Monte-Carlo and Hermite coefficients"
    description = _MATH + """
Table `kernel`: κ(ρ), κ'(ρ) and a Monte-Carlo estimate of E[φ(u)φ(v)] (`samples` draws of
(u, v) per ρ, mean ± standard error) on a grid of ρ ∈ [−1, 1], with the diagonal ρ itself
so the cobweb of ρ_{ℓ+1} = κ(ρ_ℓ) and the fixed point ρ* are visible. Table `hermite`:
c_k² = (E[φ(g) He_k(g)])²/k! for k < K (1-D quadrature) and the remaining mass
1 − Σ_{j≤k} c_j²; tail_mass = 1 − Σ_{k<K} c_k². The truncated Σ_{k<K} k c_k² is shown
against κ'(1): for ReLU it converges slowly (c_k² ~ k^{−5/2}).
"""
    params = {
        **_kernel_params(),
        "points": Int(41, ge=2, le=2001, help="grid points of ρ in [−1, 1]"),
        "samples": Int(20_000, ge=0, le=10_000_000, help="Monte-Carlo draws per ρ (0 = none)"),
        "K": Int(20, ge=1, le=200, help="number of Hermite coefficients c_k²"),
    }
    version = VERSION
    plot = Plot(table="kernel", x="rho", y=("kappa", "kappa_mc", "diagonal"),
                title="κ(ρ) vs the diagonal (cobweb) and Monte-Carlo")
    compare = (Compare("κ(0) = c_0²: 2-D vs 1-D quadrature", theory="kappa_0",
                       measured="c0_sq", tol=1e-10,
                       help="κ(0) = E[φ(u)]E[φ(v)] (closed form or 2-D quadrature at ρ = 0) "
                            "vs c_0² = (E φ(g))² by 1-D quadrature; equal up to quadrature "
                            "error"),
               Compare("κ'(1) vs truncated Σ k c_k²", theory="kappa_prime_1",
                       measured="kappa_prime_1_truncated",
                       help="κ'(1) = E φ'(g)² = Σ_k k c_k²; the sum over k < K converges "
                            "slowly when φ has a kink (ReLU: c_k² ~ k^{−5/2}), so no mark"),
               Compare("Σ c_k² (K terms) vs 1", theory="one", measured="hermite_sum",
                       help="Σ_k c_k² = κ(1) = 1 (Parseval); 1 − Σ_{k<K} c_k² is tail_mass"))

    def run(self, p: Params, ctx: RunContext) -> Iterator[Frame]:
        act, km = _resolve(p)
        c2 = km.hermite_sq(p.K)
        rs = th.fixed_point(km)
        tail = 1.0 - np.cumsum(c2)
        summary = {"rho_star": rs, "kappa_0": km.kappa_0, "kappa_prime_1": km.kappa_prime_1,
                   "kappa_prime_rho_star": km.kappa_prime(rs), "c0_sq": float(c2[0]),
                   "tail_mass": float(tail[-1]), "hermite_sum": float(c2.sum()), "one": 1.0,
                   "kappa_prime_1_truncated": float(np.sum(np.arange(p.K) * c2)),
                   "regime": th.regime(rs, km.kappa_prime_1)}
        yield Frame(tables={"hermite": Table(["k", "c_k_sq", "tail"],
                                             [[k, float(c2[k]), float(tail[k])]
                                              for k in range(p.K)], replace=True)},
                    summary=summary, total=p.points, step=0)
        do_mc = p.samples > 0 and act is not None
        worst = 0.0
        cols = ["rho", "kappa", "kappa_mc", "kappa_mc_se", "kappa_prime", "diagonal", "z"]
        for i, rho in enumerate(np.linspace(-1.0, 1.0, p.points), start=1):
            if ctx.cancelled:
                return
            k = km.kappa(float(rho))
            mean, se = _kernel_mc(km, float(rho), p.samples, ctx) if do_mc else (None, None)
            z = (mean - k) / se if se and math.isfinite(se) else None
            worst = max(worst, abs(z)) if z is not None else worst
            yield Frame(step=i, total=p.points,
                        tables={"kernel": Table(cols, [[float(rho), k, mean, se,
                                                        km.kappa_prime(float(rho)),
                                                        float(rho), z]])},
                        series={"kappa": [k]}, summary={"max_abs_z": worst if do_mc else None})
        if not do_mc:
            yield Frame(summary={"message": "no Monte-Carlo (samples = 0 or a custom "
                                            "kernel): kappa_mc is null"})


def _phi_products(rng: np.random.Generator, n: int, phi, rho: float) -> np.ndarray:
    """φ(u)φ(v) for n draws of u = z₁, v = ρz₁ + √(1 − ρ²)z₂ (one chunk)."""
    u = rng.standard_normal(n)
    v = rho * u + math.sqrt(max(0.0, 1 - rho * rho)) * rng.standard_normal(n)
    return phi(u) * phi(v)


def _kernel_mc(km: th.KernelMap, rho: float, n: int, ctx: RunContext
               ) -> tuple[float, float]:
    """Mean and standard error of φ(u)φ(v) over n draws with corr(u, v) = ρ (chunks of
    200 000 on their own Generator streams, ``ctx.threads`` at once)."""
    stats = RunningStats()
    for _, prod in ctx.map_chunks(_phi_products, n, 200_000, km.phi, rho):
        stats.add(prod)
    if stats.count == 0:
        return math.nan, math.nan
    return float(stats.mean), float(stats.se)
