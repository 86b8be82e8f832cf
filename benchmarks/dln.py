"""Benchmark (issue 9): SVD-coordinate flow (4.17–4.19) vs factor-wise gradient descent vs
the naive end-to-end flow (4.1), for d = 25, N = 8, to the same accuracy.

The source's claim (§4.1.1): integrating U, Σ, V instead of (4.1) removes the per-step
SVD/eigendecomposition and the O(N) sum over p. Here every method must reproduce X(T)
within ``--tol`` (max-abs) of a tight reference (the factor ODE (1.6), DOP853 rtol 1e-12):

* ODE methods (DOP853): the loosest rtol in 1e-4 … 1e-12 that meets the tolerance;
* factor-wise gradient descent: first-order in the step η, so η is set from the error
  measured at a trial step (error ≈ Cη) and then verified (halved until it meets tol).

Run:  python benchmarks/dln.py [--d 25] [--depth 8] [--t-end 1] [--tol 1e-4]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from matexplore_plugins.dln_geometry import flows as fl
from matexplore_plugins.dln_geometry import theory as th


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def ode_to_tol(name, run, ref, tol):
    """Loosest rtol whose result is within tol of ref; returns (rtol, err, seconds, misses)
    where misses lists (rtol, err) of the looser settings that failed (err nan = blew up)."""
    misses = []
    for rtol in (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12):
        with np.errstate(all="ignore"):
            try:
                x, secs = timed(lambda: run(rtol))
                err = float(np.abs(x - ref).max())
            except fl.FlowError:
                err = float("nan")
        if err <= tol:
            return rtol, err, secs, misses
        misses.append((rtol, err))
    raise RuntimeError(f"{name} never reached tol {tol}")


def gd_to_tol(ws0, grad, t_end, ref, tol):
    """Gradient descent with η chosen from a trial error (≈ Cη), halved until within tol."""
    eta0 = t_end / 200
    x, _ = fl.factor_gd(ws0, grad, eta0, np.array([t_end]))
    c = float(np.abs(x[-1] - ref).max()) / eta0
    eta = t_end / np.ceil(t_end / (0.8 * tol / c))
    while True:
        (xs, _), secs = timed(lambda: fl.factor_gd(ws0, grad, eta, np.array([t_end])))
        err = float(np.abs(xs[-1] - ref).max())
        if err <= tol:
            return eta, err, secs
        eta /= 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--d", type=int, default=25)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--t-end", type=float, default=1.0)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    d, n, t_end = a.d, a.depth, a.t_end
    energy = th.make_energy("quadratic", d, rng)
    x0 = rng.standard_normal((d, d)) / np.sqrt(d)
    ws0 = th.balanced_lift(x0, n, rng)
    grad = energy.grad
    t_eval = np.array([0.0, t_end])
    print(f"d = {d}, N = {n}, E = ½‖X − T‖², X0 ~ N(0, 1/d), T = {t_end}, tol = {a.tol:g}")
    (ref, _, _), secs_ref = timed(lambda: fl.factor_flow(ws0, grad, t_eval, 1e-12, 1e-14))
    print(f"reference: factor ODE (1.6) DOP853 rtol 1e-12: {secs_ref:.2f} s; "
          f"E: {energy.value(x0):.4f} → {energy.value(ref[-1]):.4f}")
    usv0 = fl.svd_start(x0)
    runs = {
        "SVD coordinates (4.17–4.19)":
            lambda r: fl.svd_flow(usv0, grad, n, t_eval, rtol=r, atol=r * 1e-2)[0][-1],
        "naive end-to-end (4.1)":
            lambda r: fl.e2e_flow(x0, grad, n, t_eval, rtol=r, atol=r * 1e-2)[-1],
        "factor-wise ODE (1.6)":
            lambda r: fl.factor_flow(ws0, grad, t_eval, rtol=r, atol=r * 1e-2)[0][-1],
    }
    results = {}
    for name, run in runs.items():
        rtol, err, secs, misses = ode_to_tol(name, run, ref[-1], a.tol)
        results[name] = secs
        missed = ", ".join(f"rtol {r:.0e}: err {e:.1e}" for r, e in misses)
        print(f"{name:32s} rtol {rtol:7.0e}  err {err:8.2e}  {secs:8.3f} s"
              + (f"   (looser: {missed})" if misses else ""))
    eta, err, secs = gd_to_tol(ws0, grad, t_end, ref[-1], a.tol)
    results["factor-wise gradient descent"] = secs
    print(f"{'factor-wise gradient descent':32s} η {eta:9.2e}  err {err:8.2e}  {secs:8.3f} s  "
          f"({int(round(t_end / eta))} steps)")
    # cost of one right-hand side (per-step SVD/eigh + O(N) sum vs O(d³) without SVD)
    u, s, v = usv0
    per = {}
    for name, f in (("SVD-coordinate RHS", lambda: fl.svd_rhs(u, s, v, grad, n)),
                    ("naive (4.1) RHS", lambda: fl.a_fractional(x0, grad(x0), n)),
                    ("factor-wise RHS", lambda: fl.factor_grads(ws0, grad(x0)))):
        reps = 200
        _, secs = timed(lambda: [f() for _ in range(reps)])
        per[name] = secs / reps
        print(f"one {name:22s} {per[name] * 1e6:8.1f} µs")
    base = results["SVD coordinates (4.17–4.19)"]
    print("\nwall-time ratios to the SVD-coordinate flow (same accuracy):")
    for name, secs in results.items():
        print(f"  {name:32s} {secs / base:8.2f}×")
    print(f"per-RHS ratio naive/SVD: {per['naive (4.1) RHS'] / per['SVD-coordinate RHS']:.2f}×")


if __name__ == "__main__":
    main()
