"""Experiments: closed-form dynamics of λ-balanced two-layer linear networks next to plain GD.

Conventions (see theory.py): whitened inputs, Σ = ŨS̃Ṽᵀ, L = ½‖W2W1 − Σ‖²_F, GD step η is the
flow with τ = 1/η at t = step, so the closed forms are evaluated at u = step·η.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from matexplore import (Bool, Compare, Experiment, ExperimentError, Float, FloatList, Frame, Int,
                        IntList, Plot, RunContext, Table)
from matexplore.params import Params

from . import gd, theory as th

_DIMS_HELP = "{} (ni = inputs, nh = hidden, no = outputs)"


def _dims(n_in: int = 4, n_hidden: int = 4, n_out: int = 4) -> dict[str, Int]:
    return {"n_in": Int(n_in, ge=1, le=64, help=_DIMS_HELP.format("input dimension ni")),
            "n_hidden": Int(n_hidden, ge=1, le=64, help=_DIMS_HELP.format("hidden width nh")),
            "n_out": Int(n_out, ge=1, le=64, help=_DIMS_HELP.format("output dimension no"))}


def _check_feasible(n_in: int, n_hidden: int, n_out: int, lam: float) -> None:
    why = th.feasibility_error(n_in, n_hidden, n_out, lam)
    if why:
        raise ExperimentError(f"(n_in, n_hidden, n_out) = ({n_in}, {n_hidden}, {n_out}) with "
                              f"λ = {lam} is {why}.")


def _pad(values: Sequence[float], m: int) -> np.ndarray:
    """The first m task singular values; missing ones continue by halving the last."""
    out = list(values[:m])
    while len(out) < m:
        out.append(out[-1] / 2.0)
    return np.asarray(out, dtype=float)


def _task(rng: np.random.Generator, n_out: int, n_in: int,
          sv: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Σ = Ũ diag(s̃) Ṽᵀ with Haar Ũ (no×no), Ṽ (ni×ni); returns (Σ, Ũ, s̃, Ṽ)."""
    m = min(n_in, n_out)
    s = _pad(sv, m)
    u, v = th.haar_orthogonal(rng, n_out), th.haar_orthogonal(rng, n_in)
    return u[:, :m] @ np.diag(s) @ v[:, :m].T, u, s, v


def _log_steps(steps: int, log_every: int) -> list[int]:
    marks = list(range(0, steps, log_every))
    return marks + [steps]


def _advance(ctx: RunContext, w1: np.ndarray, w2: np.ndarray, sigma: np.ndarray, eta: float,
             steps: int) -> tuple[np.ndarray, np.ndarray] | None:
    """`steps` linear GD steps in chunks of 1000 (≈ 30 ms); None if cancelled meanwhile."""
    for start in range(0, steps, 1000):
        if ctx.cancelled:
            return None
        w1, w2 = gd.linear_gd(w1, w2, sigma, eta, min(1000, steps - start))
    return w1, w2


class QQTheory:
    """QQᵀ(u) from fixed initial weights: the stable form when ni = nh = no and its B is
    well conditioned, otherwise the Riccati form (NaN once it overflows)."""

    def __init__(self, w1: np.ndarray, w2: np.ndarray, sigma: np.ndarray, lam: float) -> None:
        self.form = "riccati"
        self.qq: th.StableQQ | th.RiccatiQQ | None = None
        if w1.shape[0] == w1.shape[1] == w2.shape[0]:
            try:
                self.qq = th.StableQQ(w1, w2, sigma, lam)
                self.form = "stable"
            except ValueError:
                pass
        if self.qq is None:
            self.qq = th.RiccatiQQ(w1, w2, sigma, lam)

    def __call__(self, u: float) -> np.ndarray:
        return self.qq(u)


# ----------------------------------------------------------------------------------------
class Init(Experiment):
    id = "lambda-balanced.init"
    title = "λ-balanced initial weights (corrected Algorithm 1/2)"
    description = """Builds W1 ∈ R^{nh×ni}, W2 ∈ R^{no×nh} with B = W2ᵀW2 − W1W1ᵀ = λI exactly:
draw W1, W2 ~ N(0, σ²), SVD W2W1 = U S Vᵀ (m = min(ni, nh, no) values), per mode
d² = (√(λ²+4s²)+λ)/2, c² = (√(λ²+4s²)−λ)/2 (c·d = s, d² − c² = λ), extra hidden directions get
√λ in W2 (λ > 0) or √(−λ) in W1 (λ < 0), then W2 = U S2 Rᵀ, W1 = R S1 Vᵀ with Haar R.
`aligned` (Algorithm 2) uses a random task's Ũ, Ṽ instead of U, V.
Feasibility (corrected Thm 3.4.1): λ > 0 needs nh ≤ no, λ < 0 needs nh ≤ ni (λ = 0 always).
The thesis also demands min(ni,no) ≤ nh ≤ max(ni,no) and "no > ni ⇒ λ > 0", which wrongly
rejects e.g. (3, 3, 5) with λ = −0.7; `source_rule_accepts` shows its verdict.
Thm 4.1.1 prints the extra block as −√|λ| I_{max(0,no−ni)} (wrong sign and size).
Summary: balance_error = ‖B − λI‖_F, product_error = ‖W2W1 − target‖_F, λ* = Tr(B)/nh
(lam_star_source = Tr(B): Thm 4.5.1 as stated, without the 1/nh); extra_block_size = nh − m
hidden directions carry the ±√|λ| block, Thm 4.1.1 prints max(0, no − ni)
(extra_block_size_source)."""
    params = {**_dims(3, 3, 5),
              "lam": Float(-0.7, ge=-1e4, le=1e4, help="balance λ"),
              "sigma": Float(1.0, gt=0, le=100, help="scale σ of the Gaussian draw"),
              "aligned": Bool(False, help="align W2W1 to a random task's singular vectors")}
    plot = Plot(table="modes", x="mode", y=("d2_minus_c2_theory", "d2_minus_c2"),
                title="per-mode d² − c² = λ")
    compare = (Compare("λ* = Tr B / nh", theory="lam", measured="lam_star"),
               Compare("‖B − λI‖_F", theory="zero", measured="balance_error"))

    def run(self, p: Params, ctx: RunContext) -> Iterator[Frame]:
        ni, nh, no, lam = p.n_in, p.n_hidden, p.n_out, p.lam
        _check_feasible(ni, nh, no, lam)
        u, s, v = th.gaussian_product_svd(ctx.rng, ni, nh, no, p.sigma)
        if p.aligned:
            u, v = th.haar_orthogonal(ctx.rng, no), th.haar_orthogonal(ctx.rng, ni)
        m = len(s)
        target = u[:, :m] @ np.diag(s) @ v[:, :m].T
        w1, w2 = th.balanced_from_svd(u, s, v, nh, lam, th.haar_orthogonal(ctx.rng, nh))
        b = th.balance(w1, w2)
        c, d = w1 @ v[:, :m], u[:, :m].T @ w2
        core_c = np.linalg.norm(c, axis=0)
        core_d = np.linalg.norm(d, axis=1)
        rows = [[k, s[k], core_c[k], core_d[k], core_d[k] ** 2 - core_c[k] ** 2, lam]
                for k in range(m)]
        yield Frame(step=1, total=1,
                    tables={"modes": Table(["mode", "s", "c", "d", "d2_minus_c2",
                                            "d2_minus_c2_theory"], rows)},
                    summary={"balance_error": float(np.linalg.norm(b - lam * np.eye(nh))),
                             "product_error": float(np.linalg.norm(w2 @ w1 - target)),
                             "lam": lam, "lam_star": th.best_fit_lambda(b), "zero": 0.0,
                             "source_rule_accepts": th.source_rule_accepts(ni, nh, no, lam),
                             "lam_star_source": float(np.trace(b)),
                             "extra_block_size": nh - m,
                             "extra_block_size_source": max(0, no - ni)})


# ----------------------------------------------------------------------------------------
class Aligned(Experiment):
    id = "lambda-balanced.aligned"
    title = "Aligned λ-balanced dynamics: a(t) closed form vs GD"
    description = """Aligned init W1 = R diag(c) Ṽᵀ, W2 = Ũ diag(d) Rᵀ (c·d = a0, d² − c² = λ) on
the task Σ = Ũ diag(s) Ṽᵀ stays aligned: W2W1 = Ũ diag(a(t)) Ṽᵀ with τ da/dt = √(λ²+4a²)(s − a).
λ = 0: a = s e^{2st/τ}/(e^{2st/τ} − 1 + s/a0) (eq 2.28).  λ ≠ 0 (corrected eq 3.2/3.19, μ = |λ|):
K = √(μ²+4s²), w0 = 2a0/(√(μ²+4a0²)+μ), C0 = (K+μ+2s·w0)/(K−μ−2s·w0), Ê = C0 e^{Kt/τ},
w = [K(Ê−1) − μ(Ê+1)]/[2s(Ê+1)], a = μw/(1−w²).  The printed eq 3.2 uses λ where |λ| belongs
(and sgn(λ) in C0): identical for λ > 0, wrong for λ < 0 — column a_source shows it (null at
λ = 0, where eq 2.28 is used).  GD with step η = flow with τ = 1/η; the GD error is O(η).
Table modes: a_gd = diag(ŨᵀW2W1Ṽ) vs a_theory every log_every steps; max_abs_err (and
max_abs_err_source for eq 3.2 as printed) is the max over every step; table loss: ½Σ(s − a)²."""
    params = {"singular_values": FloatList([3.0, 2.0, 1.0, 0.5], gt=0, le=1e3,
                                           help="task singular values s̃"),
              "a0": FloatList([0.01, 0.02, 0.005, 0.03], ge=0, le=1e3,
                              help="initial mode strengths a(0) (one per singular value)"),
              "lam": Float(0.5, ge=-1e3, le=1e3, help="balance λ"),
              "eta": Float(1e-3, gt=0, le=0.5, help="GD learning rate η (τ = 1/η)"),
              "steps": Int(10000, ge=1, le=2_000_000, help="GD steps"),
              "log_every": Int(100, ge=1, le=1_000_000, help="steps between logged rows")}
    plot = Plot(table="loss", x="step", y=("loss_theory", "loss_gd"), logy=True,
                title="aligned loss: closed form vs GD")
    compare = (Compare("final loss", theory="final_loss_theory", measured="final_loss_gd"),)

    def run(self, p: Params, ctx: RunContext) -> Iterator[Frame]:
        s, a0, lam, eta = np.asarray(p.singular_values), np.asarray(p.a0), p.lam, p.eta
        if len(s) != len(a0):
            raise ExperimentError(f"a0 has {len(a0)} entries but singular_values has {len(s)}; "
                                  "give one initial strength per mode.")
        n = len(s)
        ut, vt, r = (th.haar_orthogonal(ctx.rng, n) for _ in range(3))
        sigma = ut @ np.diag(s) @ vt.T
        c, d = th.equal_split(a0, lam)
        w1, w2 = r @ np.diag(c) @ vt.T, ut @ np.diag(d) @ r.T
        max_err = max_src = 0.0
        for k in range(p.steps + 1):
            if (k % 200 == 0 or k % p.log_every == 0) and ctx.cancelled:
                return
            if k:
                w1, w2 = gd.linear_gd(w1, w2, sigma, eta, 1)
            a_gd = np.diag(ut.T @ w2 @ w1 @ vt)
            a_th = th.aligned_a(k * eta, s, a0, lam)
            err = np.abs(a_gd - a_th)
            max_err = max(max_err, float(err.max()))
            a_src = th.aligned_a_source(k * eta, s, a0, lam) if lam != 0 else [None] * n
            if lam != 0:
                max_src = max(max_src, float(np.nanmax(np.abs(a_gd - a_src))))
            if k % p.log_every and k != p.steps:
                continue
            l_gd, l_th = th.loss(w2 @ w1, sigma), 0.5 * float(np.sum((s - a_th) ** 2))
            yield Frame(step=k, total=p.steps, tables={
                "modes": Table(["step", "mode", "a_gd", "a_theory", "abs_err", "a_source"],
                               [[k, j, a_gd[j], a_th[j], err[j], a_src[j]] for j in range(n)]),
                "loss": Table(["step", "loss_theory", "loss_gd"], [[k, l_th, l_gd]])},
                summary={"max_abs_err": max_err, "lam": lam, "eta": eta,
                         "max_abs_err_source": max_src if lam != 0 else None,
                         "final_loss_gd": l_gd, "final_loss_theory": l_th})


# ----------------------------------------------------------------------------------------
def _heatmap(qq: np.ndarray) -> Table:
    """QQᵀ as a replaced table (row i = one row of the matrix; blocks split at ni)."""
    return Table(["row"] + [f"c{j}" for j in range(qq.shape[1])],
                 [[i, *qq[i]] for i in range(qq.shape[0])], replace=True)


class Unaligned(Experiment):
    id = "lambda-balanced.unaligned"
    title = "Unaligned λ-balanced dynamics: QQᵀ(t) closed form vs GD"
    description = """λ-balanced init (Algorithm 1, scale σ) on Σ = ŨS̃Ṽᵀ (Haar Ũ, Ṽ).
Equal dims ni = nh = no: stable form (Thm 3.3.1(3), corrected) K = √(S̃²+λ²/4),
X = λ/(√(λ²+4S̃²)+2S̃), A = (I+X²)^{−1/2}, P± = A ± XA, B = W2ᵀŨP₊ + W1ṼP₋,
C = W2ᵀŨP₋ − W1ṼP₊, E = e^{−Kt/τ}, G = ECᵀB⁻ᵀE, Z = [Ṽ(P₋−P₊G); Ũ(P₊+P₋G)],
M = 4EB⁻¹B⁻ᵀE + (I−E²)K⁻¹ + EB⁻¹C(I−E²)K⁻¹CᵀB⁻ᵀE, QQᵀ = Z M⁻¹ Zᵀ (the thesis prints Z M Zᵀ:
the inverse is missing).  Otherwise (unequal dims, or B singular — possible at λ = 0):
Riccati form QQᵀ = e^{Ft/τ}Q0[I + ½Q0ᵀ(e^{Ft/τ}F⁻¹e^{Ft/τ} − F⁻¹)Q0]⁻¹Q0ᵀe^{Ft/τ},
F = [[−λ/2 I, Σᵀ], [Σ, λ/2 I]]: a cross-check that loses accuracy and overflows for large
t/τ; once it overflows or its error estimate ε·cond(bracket) exceeds 1e-6 (near K_max·t/τ ≈ 15),
loss_theory and qq_max_abs_err are null (summary riccati_overflow_step = first such step).
loss = ½‖W2W1 − Σ‖²_F.  Tables qq_gd / qq_theory hold the current QQᵀ (rows/cols 0..ni−1:
W1ᵀW1, then W2W2ᵀ) as a text heat-map.  Extra task singular values beyond the list
continue by halving the last one.  max_qq_err_source: the printed Z M Zᵀ (no inverse) vs GD
(stable form only, else null)."""
    params = {**_dims(),
              "lam": Float(0.5, ge=-1e3, le=1e3, help="balance λ"),
              "sigma": Float(0.5, gt=0, le=100, help="init scale σ"),
              "eta": Float(1e-3, gt=0, le=0.5, help="GD learning rate η (τ = 1/η)"),
              "steps": Int(5000, ge=1, le=2_000_000, help="GD steps"),
              "log_every": Int(100, ge=1, le=1_000_000, help="steps between logged rows"),
              "singular_values": FloatList([3.0, 2.0, 1.0, 0.5], gt=0, le=1e3,
                                           help="task singular values s̃")}
    plot = Plot(table="trajectory", x="step", y=("loss_theory", "loss_gd"), logy=True,
                title="loss: closed form vs GD")
    compare = (Compare("final loss", theory="final_loss_theory", measured="final_loss_gd"),)

    def run(self, p: Params, ctx: RunContext) -> Iterator[Frame]:
        ni, nh, no, lam = p.n_in, p.n_hidden, p.n_out, p.lam
        _check_feasible(ni, nh, no, lam)
        sigma, *_ = _task(ctx.rng, no, ni, p.singular_values)
        w1, w2 = th.balanced_weights(ctx.rng, ni, nh, no, lam, p.sigma)
        theory = QQTheory(w1, w2, sigma, lam)
        yield Frame(message=f"closed form: {theory.form}", summary={"form": theory.form,
                                                                     "riccati_overflow_step": None})
        max_err, max_src, overflow = 0.0, 0.0, None
        marks = _log_steps(p.steps, p.log_every)
        for i, k in enumerate(marks):
            if ctx.cancelled:
                return
            if i:
                advanced = _advance(ctx, w1, w2, sigma, p.eta, k - marks[i - 1])
                if advanced is None:
                    return
                w1, w2 = advanced
            qq_gd = th.qq_of(w1, w2)
            qq_th = theory(k * p.eta) if overflow is None else None
            if qq_th is not None and not np.all(np.isfinite(qq_th)):
                overflow, qq_th = k, None
                yield Frame(message=f"Riccati form overflowed or lost accuracy (ε·cond > 1e-6) "
                                    f"at step {k} (t/τ = {k * p.eta:g});"
                                    " theory columns are null from here on",
                            summary={"riccati_overflow_step": k})
            err = None if qq_th is None else float(np.abs(qq_gd - qq_th).max())
            max_err = max(max_err, err) if err is not None else max_err
            if theory.form == "stable":
                src = float(np.abs(qq_gd - theory.qq.source_form(k * p.eta)).max())
                max_src = max(max_src, src)
            l_gd = th.loss(w2 @ w1, sigma)
            l_th = None if qq_th is None else th.loss(th.qq_blocks(qq_th, ni)["w2w1"], sigma)
            tables = {"trajectory": Table(["step", "loss_gd", "loss_theory", "qq_max_abs_err"],
                                          [[k, l_gd, l_th, err]]),
                      "qq_gd": _heatmap(qq_gd)}
            if qq_th is not None:
                tables["qq_theory"] = _heatmap(qq_th)
            yield Frame(step=k, total=p.steps, tables=tables,
                        summary={"max_qq_err": max_err, "final_loss_gd": l_gd,
                                 "final_loss_theory": l_th,
                                 "max_qq_err_source": (max_src if theory.form == "stable"
                                                       else None)})


# ----------------------------------------------------------------------------------------
class RichLazy(Experiment):
    id = "lambda-balanced.rich-lazy"
    title = "Rich vs lazy learning as a function of λ"
    description = """Reference task: n = 4, P = 4, X = 2I (Σxx = I), Σ = Ũ diag(s̃) Ṽᵀ, s̃ = (3,2,1,.5);
init λ-balanced with W2W1(0) = U diag(.4,.3,.2,.1) Vᵀ (Haar Ũ, Ṽ, U, V from the seed, shared
by all λ), trained to T = horizon·τ/max(|λ|, 1).  NTK = I ⊗ XᵀW1ᵀW1X + W2W2ᵀ ⊗ XᵀX (eq 2.37);
rel_ntk_change = ‖NTK(T) − NTK(0)‖_F/‖NTK(0)‖_F from the closed form QQᵀ(T) (rel_ntk_change_gd:
from GD); rel_w{1,2}_change = ‖Wi(T) − Wi(0)‖_F/‖Wi(0)‖_F (GD); shallow_gap =
sup_t ‖W2W1(t) − [Σ + (W2W1(0) − Σ)e^{−|λ|t/τ}]‖_max over 400 closed-form times (null at λ = 0,
where no shallow equivalent exists; → O(1/λ²); shallow_gap_fro: same with ‖·‖_F);
task_specificity = max(cos(rep, BS̃Bᵀ),
cos(rep, BS̃²Bᵀ)) at T for W1ᵀW1 (B = Ṽ) and W2W2ᵀ (B = Ũ; eq 4.34 writes W2ᵀW2);
steps_to_converge = first GD step with loss ≤ tol·loss(0) (null if not reached by T).
Large |λ|: ‖NTK‖ ~ |λ|, ΔNTK = O(1/|λ|) ⇒ relative change O(1/λ²) (lazy); λ ≈ 0 rich.
Notes' reference: relNTK 5.9, 4.0, 1.06, .27, .079, .021, .0034 for λ = 0,.5,2,5,10,20,50
and shallow gap —, 1.2, .44, .13, .038, .0099, .0016.  relNTK varies by a few % with the seed's
rotations; the max-entry shallow gap depends on the task basis Ũ, Ṽ (over 30 seeds at λ = 2:
0.27–0.54, median 0.38; at λ = 50: 0.0010–0.0020), while shallow_gap_fro hardly does
(0.646–0.664 at λ = 2, 0.0023 at λ = 50)."""
    params = {"lambdas": FloatList([0.0, 0.5, 2.0, 5.0, 10.0, 20.0, 50.0], ge=-1e3, le=1e3,
                                   help="λ values to sweep"),
              "singular_values": FloatList([3.0, 2.0, 1.0, 0.5], gt=0, le=1e3,
                                           help="task singular values s̃ (n = their number)"),
              "init_singular_values": FloatList([0.4, 0.3, 0.2, 0.1], gt=0, le=1e3,
                                                help="singular values of W2W1(0)"),
              "eta": Float(1e-3, gt=0, le=0.1, help="GD learning rate η"),
              "horizon": Float(30.0, gt=0, le=1e4, help="T = horizon·τ/max(|λ|, 1)"),
              "tol": Float(1e-3, gt=0, lt=1, help="convergence: loss ≤ tol·loss(0)")}
    plot = Plot(table="lambdas", x="lam", y=("rel_ntk_change", "rel_ntk_change_gd"), logy=True,
                title="relative NTK change vs λ")
    compare = (Compare("relNTK at last λ", theory="rel_ntk_last", measured="rel_ntk_last_gd"),)

    def run(self, p: Params, ctx: RunContext) -> Iterator[Frame]:
        st, s0 = np.asarray(p.singular_values), np.asarray(p.init_singular_values)
        n = len(st)
        if len(s0) != n:
            raise ExperimentError("init_singular_values needs as many entries as "
                                  f"singular_values ({n}), got {len(s0)}.")
        ut, vt, u, v = (th.haar_orthogonal(ctx.rng, n) for _ in range(4))
        sigma, x = ut @ np.diag(st) @ vt.T, 2.0 * np.eye(n)
        for i, lam in enumerate(p.lambdas):
            row = yield from self._one(p, ctx, (sigma, ut, st, vt), x, u, s0, v, lam)
            if row is None:
                return
            yield Frame(step=i + 1, total=len(p.lambdas), tables={"lambdas": Table(
                list(row), [list(row.values())])},
                summary={"rel_ntk_last": row["rel_ntk_change"],
                         "rel_ntk_last_gd": row["rel_ntk_change_gd"]})

    def _one(self, p: Params, ctx: RunContext, task: tuple[np.ndarray, ...], x: np.ndarray,
             u: np.ndarray, s0: np.ndarray, v: np.ndarray, lam: float) -> Iterator[Frame]:
        sigma, ut, st, vt = task
        n = sigma.shape[0]
        w1_0, w2_0 = th.balanced_from_svd(u, s0, v, n, lam, np.eye(n))
        theory = QQTheory(w1_0, w2_0, sigma, lam)
        t_end = p.horizon / max(abs(lam), 1.0)
        steps = max(1, round(t_end / p.eta))
        w1, w2, l0, conv = w1_0, w2_0, th.loss(w2_0 @ w1_0, sigma), None
        for k in range(0, steps, 200):
            if ctx.cancelled:
                return None
            chunk = min(200, steps - k)
            for j in range(chunk):
                if conv is None and th.loss(w2 @ w1, sigma) <= p.tol * l0:
                    conv = k + j
                w1, w2 = gd.linear_gd(w1, w2, sigma, p.eta, 1)
            yield Frame(message=f"λ = {lam:g}: step {k + chunk}/{steps}")
        b0 = th.qq_blocks(th.qq_of(w1_0, w2_0), n)
        bt = th.qq_blocks(theory(steps * p.eta), n)
        bg = th.qq_blocks(th.qq_of(w1, w2), n)
        k0 = th.ntk(b0["w1tw1"], b0["w2w2t"], x)

        def rel_ntk(b: dict[str, np.ndarray]) -> float:
            change = th.ntk(b["w1tw1"], b["w2w2t"], x) - k0
            return float(np.linalg.norm(change) / np.linalg.norm(k0))

        gap = gap_fro = None
        if lam != 0:
            diffs = [th.qq_blocks(theory(t), n)["w2w1"]
                     - th.shallow_product(b0["w2w1"], sigma, lam, t)
                     for t in np.linspace(0.0, steps * p.eta, 400)]
            gap = max(float(np.abs(d).max()) for d in diffs)
            gap_fro = max(float(np.linalg.norm(d)) for d in diffs)
        return {"lam": lam, "rel_ntk_change": rel_ntk(bt),
                "rel_w1_change": float(np.linalg.norm(w1 - w1_0) / np.linalg.norm(w1_0)),
                "rel_w2_change": float(np.linalg.norm(w2 - w2_0) / np.linalg.norm(w2_0)),
                "shallow_gap": gap, "shallow_gap_fro": gap_fro,
                "task_specificity_w1": th.task_specificity(bt["w1tw1"], vt, st),
                "task_specificity_w2": th.task_specificity(bt["w2w2t"], ut, st),
                "steps_to_converge": conv, "rel_ntk_change_gd": rel_ntk(bg),
                "t_end": steps * p.eta, "form": theory.form}


# ----------------------------------------------------------------------------------------
class Continual(Experiment):
    id = "lambda-balanced.continual"
    title = "Continual learning: forgetting of task A, closed form vs GD"
    description = """Tasks Σ_a, Σ_b, … (iid N(0,1) entries, n×n) trained in sequence, steps_per_task
GD steps each, from one λ-balanced init (σ); λ is conserved across tasks, so the closed form is
chained: at each task switch the theory restarts from its own QQᵀ (any Q with that QQᵀ — the
forms are invariant under W1 → RW1, W2 → W2Rᵀ).  loss_task_a = ½‖W2W1 − Σ_a‖²_F (eq 4.40's
constant is (1/2P)Tr YYᵀ, printed as 1/P; dropped here).  forgetting = L_a(t) − L_a(end of
task a) (null while task a trains).  Converged limit (Thm 4.4.1): F = ½(‖Σ_last − Σ_a‖² −
‖W2W1(end a) − Σ_a‖²) (summary forgetting_limit).  Rate: dF/dt = Tr[d(W2W1)/dt (W2W1 − Σ_a)ᵀ],
τ d(W2W1)/dt = (Σ_k − W2W1)W1ᵀW1 + W2W2ᵀ(Σ_k − W2W1), from QQᵀ (column dforgetting_dt_theory,
per unit t/τ).  Summary max_abs_err = max |loss_task_a_gd − loss_task_a_theory| over logged
steps; max_forgetting_err = the same for the forgetting columns."""
    params = {"n": Int(3, ge=1, le=32, help="n = ni = nh = no"),
              "lam": Float(2.0, ge=-1e3, le=1e3, help="balance λ (conserved)"),
              "sigma": Float(0.5, gt=0, le=100, help="init scale σ"),
              "eta": Float(1e-3, gt=0, le=0.5, help="GD learning rate η"),
              "steps_per_task": Int(4000, ge=1, le=1_000_000, help="GD steps per task"),
              "n_tasks": Int(2, ge=2, le=20, help="number of tasks in sequence"),
              "log_every": Int(100, ge=1, le=1_000_000, help="steps between logged rows")}
    plot = Plot(table="trajectory", x="step", y=("loss_task_a_theory", "loss_task_a_gd"),
                title="loss on task A while training A, B, …")
    compare = (Compare("forgetting of A", theory="forgetting_theory", measured="forgetting_gd"),
               Compare("converged forgetting", theory="forgetting_limit",
                       measured="forgetting_gd"))

    def run(self, p: Params, ctx: RunContext) -> Iterator[Frame]:
        n, lam, eta = p.n, p.lam, p.eta
        tasks = [ctx.rng.standard_normal((n, n)) for _ in range(p.n_tasks)]
        w1, w2 = th.balanced_weights(ctx.rng, n, n, n, lam, p.sigma)
        t1, t2 = w1, w2
        state = {"max_err": 0.0, "max_f_err": 0.0, "end_a_gd": None, "end_a_th": None}
        for ti, sig in enumerate(tasks):
            theory = QQTheory(t1, t2, sig, lam)
            marks = _log_steps(p.steps_per_task, p.log_every)
            for i, k in enumerate(marks):
                if ctx.cancelled:
                    return
                if i:
                    advanced = _advance(ctx, w1, w2, sig, eta, k - marks[i - 1])
                    if advanced is None:
                        return
                    w1, w2 = advanced
                qq = theory(k * eta)
                if i and k == p.steps_per_task:
                    t1, t2 = th.q_from_qq(qq, n, n)
                    if ti == 0:
                        state["end_a_gd"] = th.loss(w2 @ w1, tasks[0])
                        state["end_a_th"] = th.loss(th.qq_blocks(qq, n)["w2w1"], tasks[0])
                if i == 0 and ti > 0:
                    continue  # same point as the previous task's last row
                yield self._frame(p, state, tasks, ti, ti * p.steps_per_task + k, w1, w2, qq)

    def _frame(self, p: Params, state: dict, tasks: list[np.ndarray], ti: int, step: int,
               w1: np.ndarray, w2: np.ndarray, qq: np.ndarray) -> Frame:
        n, sig_a, sig = p.n, tasks[0], tasks[ti]
        blocks = th.qq_blocks(qq, n)
        prod = blocks["w2w1"]
        l_gd, l_th = th.loss(w2 @ w1, sig_a), th.loss(prod, sig_a)
        state["max_err"] = max(state["max_err"], abs(l_gd - l_th))
        f_gd = f_th = rate = None
        if state["end_a_gd"] is not None and step >= p.steps_per_task:
            f_gd, f_th = l_gd - state["end_a_gd"], l_th - state["end_a_th"]
            state["max_f_err"] = max(state["max_f_err"], abs(f_gd - f_th))
            resid = sig - prod
            dprod = resid @ blocks["w1tw1"] + blocks["w2w2t"] @ resid
            rate = float(np.sum(dprod * (prod - sig_a)))
        summary = {"max_abs_err": state["max_err"], "max_forgetting_err": state["max_f_err"],
                   "forgetting_gd": f_gd, "forgetting_theory": f_th}
        if state["end_a_th"] is not None:
            summary["forgetting_limit"] = (0.5 * float(np.sum((tasks[-1] - sig_a) ** 2))
                                           - state["end_a_th"])
        return Frame(step=step, total=p.steps_per_task * p.n_tasks, summary=summary,
                     tables={"trajectory": Table(
                         ["step", "task", "loss_task_a_gd", "loss_task_a_theory", "forgetting_gd",
                          "forgetting_theory", "dforgetting_dt_theory"],
                         [[step, ti, l_gd, l_th, f_gd, f_th, rate]])})


# ----------------------------------------------------------------------------------------
class InitTables(Experiment):
    id = "lambda-balanced.init-tables"
    title = "Tables 3.1–3.3 (corrected): E and Var of B under random init"
    description = """W_i ∈ R^{n_{i+1}×n_i} ~ N(0, σ_i²), W_{i+1} ∈ R^{n_{i+2}×n_{i+1}} ~ N(0, σ_{i+1}²),
B = W_{i+1}ᵀW_{i+1} − W_iW_iᵀ: E[B] = (n_{i+2}σ_{i+1}² − n_iσ_i²)I, Var(B_jk) = n_{i+2}σ_{i+1}⁴ +
n_iσ_i⁴ (j ≠ k), Var(B_jj) = 2× that (the thesis' 4× is wrong — column var_diag_source).
σ²: LeCun 1/fan_in, Glorot 2/(fan_in+fan_out), He 2/fan_in, Scaled α²/fan_in (α_in for W_i,
α_out for W_{i+1}; the thesis defines α/n but tabulates α², and its Scaled variance shows α²
where α⁴ belongs).  Monte Carlo over `draws` independent pairs; per-draw statistics (mean of
B_jj, mean of B_jk² over j < k, mean of (B_jj − grand mean)²) give the standard errors
(columns *_se).  Summary mean_alpha_definition_scaled: E[B_jj] with the thesis' definition
σ² = α/n; var_offdiag_alpha_squared_scaled: Table 3.2's Scaled variance with α² for α⁴.
Sizes (40, 200, 80): means −0.6, 0.2381, −1.2, 0 (α_in² = 0.4, α_out = 1)."""
    params = {"sizes": IntList([40, 200, 80], ge=1, le=2000, min_len=3, max_len=3,
                               help="n_i, n_{i+1}, n_{i+2}"),
              "alpha_in": Float(math.sqrt(0.4), gt=0, le=100, help="Scaled scheme α_i"),
              "alpha_out": Float(1.0, gt=0, le=100, help="Scaled scheme α_{i+1}"),
              "draws": Int(400, ge=2, le=1_000_000, help="Monte-Carlo draws per scheme")}
    plot = Plot(table="inits", x="scheme_index", y=("mean_theory", "mean_mc"),
                title="E[B_jj] per scheme (LeCun, Glorot, He, Scaled)")
    compare = tuple(Compare(f"E[B_jj] {s}", theory=f"mean_theory_{s.lower()}",
                            measured=f"mean_mc_{s.lower()}", se=f"mean_se_{s.lower()}")
                    for s in th.SCHEMES)

    def run(self, p: Params, ctx: RunContext) -> Iterator[Frame]:
        for idx, scheme in enumerate(th.SCHEMES):
            stats = yield from self._mc(p, ctx, scheme)
            if stats is None:
                return
            moments = th.init_moments(scheme, p.sizes, p.alpha_in, p.alpha_out)
            row = {"scheme": scheme, "scheme_index": idx}
            for key in ("mean", "var_offdiag", "var_diag"):
                row.update({f"{key}_theory": moments[key], f"{key}_mc": stats[key][0],
                            f"{key}_se": stats[key][1]})
            row["var_diag_source"] = moments["var_diag_source"]
            low = scheme.lower()
            extra = {}
            if scheme == "Scaled":
                extra = {f"{k}_scaled": v for k, v in
                         th.scaled_source_moments(p.sizes, p.alpha_in, p.alpha_out).items()}
            yield Frame(step=idx + 1, total=len(th.SCHEMES),
                        message=f"{scheme} done ({idx + 1} / {len(th.SCHEMES)} schemes)",
                        tables={"inits": Table(list(row), [list(row.values())])},
                        summary={f"{k}_{low}": row[k] for k in
                                 ("mean_theory", "mean_mc", "mean_se", "var_offdiag_theory",
                                  "var_offdiag_mc", "var_diag_theory", "var_diag_mc")}
                        | extra | {"zero": 0.0})

    def _mc(self, p: Params, ctx: RunContext, scheme: str) -> Iterator[Frame]:
        n0, n1, n2 = p.sizes
        v0, v1 = th.init_variances(scheme, p.sizes, p.alpha_in, p.alpha_out)
        diags, offs = np.empty((p.draws, n1)), np.empty(p.draws)
        chunk = max(1, min(p.draws, 2_000_000 // (n1 * (n0 + n1 + n2))))
        for d in range(0, p.draws, chunk):
            if ctx.cancelled:
                return None
            yield Frame(message=f"{scheme}: draw {d}/{p.draws}")
            c = min(chunk, p.draws - d)
            w0 = math.sqrt(v0) * ctx.rng.standard_normal((c, n1, n0))
            w1 = math.sqrt(v1) * ctx.rng.standard_normal((c, n2, n1))
            diag = np.sum(w1 * w1, axis=1) - np.sum(w0 * w0, axis=2)
            diags[d:d + c] = diag
            off_sq = _frob_sq_b(w0, w1) - np.sum(diag * diag, axis=1)
            offs[d:d + c] = off_sq / (n1 * (n1 - 1)) if n1 > 1 else np.nan
        grand = diags.mean()
        per_draw = {"mean": diags.mean(axis=1), "var_offdiag": offs,
                    "var_diag": np.mean((diags - grand) ** 2, axis=1) * n1 * p.draws
                    / (n1 * p.draws - 1)}
        return {k: (float(v.mean()), float(v.std(ddof=1) / math.sqrt(p.draws)))
                for k, v in per_draw.items()}


def _frob_sq_b(w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
    """‖B‖²_F for B = W1ᵀW1 − W0W0ᵀ (batched over axis 0) without forming B:
    ‖W1W1ᵀ‖²_F + ‖W0ᵀW0‖²_F − 2‖W1W0‖²_F (cyclic trace identities; smaller products)."""
    g1 = np.matmul(w1, w1.transpose(0, 2, 1))
    g0 = np.matmul(w0.transpose(0, 2, 1), w0)
    cross = np.matmul(w1, w0)
    return (np.sum(g1 * g1, axis=(1, 2)) + np.sum(g0 * g0, axis=(1, 2))
            - 2.0 * np.sum(cross * cross, axis=(1, 2)))


# ----------------------------------------------------------------------------------------
class GdDrift(Experiment):
    id = "lambda-balanced.gd-drift"
    title = "How discrete GD breaks the conserved balance B"
    description = """Linear net, λ-balanced init: the flow conserves B = W2ᵀW2 − W1W1ᵀ, GD does not.
Exact per-step identity (E = Σ − W2W1, G1 = W2ᵀE, G2 = EW1ᵀ): B_{k+1} − B_k = η²(G2ᵀG2 − G1G1ᵀ)
(column identity_max_err = max over steps of the residual, ~1e−15).  Over fixed time T = kη the
drift is O(η): ‖B_k − λI‖_F ≈ η‖∫₀ᵀ(G2ᵀG2 − G1G1ᵀ)dt‖_F (drift_first_order, integral along the
flow by scipy solve_ivp); drift_slope = log-log slope of drift vs η (→ 1).
Nonlinear nets f = W2 φ(W1X) (no bias), two sequential random regression tasks, λ-balanced
init: λ* = Tr(B)/nh (Thm 4.5.1; its statement drops 1/nh) is conserved by the flow for linear
and ReLU (diag B is conserved by homogeneity) and drifts for tanh; table lambda_star streams
λ*(t) and ‖B − λ*I‖_F.  Summary lam_star_drift_<act> = max over λ of |λ*(end) − λ*(0)|."""
    params = {**_dims(),
              "lam": Float(1.0, ge=-1e3, le=1e3, help="balance λ (linear part)"),
              "sigma": Float(0.5, gt=0, le=100, help="init scale σ"),
              "etas": FloatList([0.02, 0.01, 0.005], gt=0, le=0.5, help="learning rates η"),
              "horizon": Float(5.0, gt=0, le=1e3, help="fixed physical time T = kη"),
              "nl_lams": FloatList([10.0, 0.1, -10.0], ge=-1e3, le=1e3,
                                   help="λ values for the nonlinear nets"),
              "nl_eta": Float(1e-3, gt=0, le=0.5, help="η for the nonlinear nets"),
              "nl_steps": Int(2000, ge=1, le=1_000_000, help="GD steps per task (nonlinear)"),
              "n_data": Int(20, ge=1, le=10_000, help="P data points per task (nonlinear)")}
    plot = Plot(table="drift", x="eta", y=("drift_first_order", "drift_norm"), logy=True,
                title="‖B(T) − λI‖_F vs η")
    compare = (Compare("drift at smallest η", theory="drift_first_order_min_eta",
                       measured="drift_min_eta"),)

    def run(self, p: Params, ctx: RunContext) -> Iterator[Frame]:
        ni, nh, no, lam = p.n_in, p.n_hidden, p.n_out, p.lam
        _check_feasible(ni, nh, no, lam)
        sigma, *_ = _task(ctx.rng, no, ni, [3.0, 2.0, 1.0, 0.5])
        w1_0, w2_0 = th.balanced_weights(ctx.rng, ni, nh, no, lam, p.sigma)
        integral = _flow_drift_integral(w1_0, w2_0, sigma, p.horizon)
        etas, drifts, id_err = sorted(p.etas, reverse=True), [], 0.0
        for i, eta in enumerate(etas):
            steps = max(1, round(p.horizon / eta))
            w1, w2, err = w1_0, w2_0, 0.0
            for k in range(steps):
                if k % 500 == 0 and ctx.cancelled:
                    return
                b_old = th.balance(w1, w2)
                g1, g2 = gd.linear_grads(w1, w2, sigma)
                w1, w2 = w1 + eta * g1, w2 + eta * g2
                step_diff = th.balance(w1, w2) - b_old - eta * eta * (g2.T @ g2 - g1 @ g1.T)
                err = max(err, float(np.abs(step_diff).max()))
            id_err = max(id_err, err)
            drift = float(np.linalg.norm(th.balance(w1, w2) - lam * np.eye(nh)))
            drifts.append(drift)
            yield Frame(step=i + 1, total=len(etas), tables={"drift": Table(
                ["eta", "steps", "drift_norm", "drift_over_eta", "drift_first_order",
                 "identity_max_err"],
                [[eta, steps, drift, drift / eta, eta * integral, err]])},
                summary={"identity_max_err": id_err, "drift_min_eta": drift,
                         "drift_first_order_min_eta": eta * integral})
        slope = (float(np.polyfit(np.log(etas), np.log(drifts), 1)[0])
                 if len(etas) > 1 and min(drifts) > 0 else None)
        yield Frame(summary={"drift_slope": slope})
        yield from self._nonlinear(p, ctx)

    def _nonlinear(self, p: Params, ctx: RunContext) -> Iterator[Frame]:
        n, pts = 5, p.n_data
        x = ctx.rng.standard_normal((n, pts))
        ys = [ctx.rng.standard_normal((n, pts)) for _ in range(2)]
        inits = {lam: th.balanced_weights(ctx.rng, n, n, n, lam, p.sigma) for lam in p.nl_lams}
        for act in ("linear", "relu", "tanh"):
            worst = 0.0
            for lam, (w1, w2) in inits.items():
                lam0 = th.best_fit_lambda(th.balance(w1, w2))
                for task, y in enumerate(ys):
                    rows = []
                    for k in range(p.nl_steps):
                        if k % 100 == 0:
                            if ctx.cancelled:
                                return
                            rows.append(_lam_star_row(act, lam, task, k, w1, w2, x, y))
                        g1, g2 = gd.nonlinear_grads(w1, w2, x, y, act)
                        w1, w2 = w1 + p.nl_eta * g1, w2 + p.nl_eta * g2
                    rows.append(_lam_star_row(act, lam, task, p.nl_steps, w1, w2, x, y))
                    yield Frame(tables={"lambda_star": Table(
                        ["activation", "lam", "task", "step", "lam_star", "residual", "loss"],
                        rows)})
                worst = max(worst, abs(th.best_fit_lambda(th.balance(w1, w2)) - lam0))
            yield Frame(summary={f"lam_star_drift_{act}": worst})


def _lam_star_row(act: str, lam: float, task: int, k: int, w1: np.ndarray, w2: np.ndarray,
                  x: np.ndarray, y: np.ndarray) -> list:
    b = th.balance(w1, w2)
    ls = th.best_fit_lambda(b)
    return [act, lam, task, k, ls, float(np.linalg.norm(b - ls * np.eye(b.shape[0]))),
            gd.nonlinear_loss(w1, w2, x, y, act)]


def _flow_drift_integral(w1: np.ndarray, w2: np.ndarray, sigma: np.ndarray,
                         horizon: float) -> float:
    """‖∫₀ᵀ (G2ᵀG2 − G1G1ᵀ) dt‖_F along the gradient flow (solve_ivp, rtol 1e-10)."""
    from scipy.integrate import solve_ivp

    nh, ni = w1.shape
    sizes = (nh * ni, w2.size)

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        a = y[:sizes[0]].reshape(nh, ni)
        b = y[sizes[0]:sizes[0] + sizes[1]].reshape(-1, nh)
        g1, g2 = gd.linear_grads(a, b, sigma)
        return np.concatenate([g1.ravel(), g2.ravel(), (g2.T @ g2 - g1 @ g1.T).ravel()])

    y0 = np.concatenate([w1.ravel(), w2.ravel(), np.zeros(nh * nh)])
    sol = solve_ivp(rhs, (0.0, horizon), y0, method="DOP853", rtol=1e-10, atol=1e-12)
    return float(np.linalg.norm(sol.y[sizes[0] + sizes[1]:, -1]))


EXPERIMENTS = [Init, Aligned, Unaligned, RichLazy, Continual, InitTables, GdDrift]
