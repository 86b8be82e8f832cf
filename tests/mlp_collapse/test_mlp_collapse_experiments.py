"""The five experiments through the plugin API: contract names (ids, params, tables,
columns, summary keys), measured vs exact within 4 SE at small sizes, reproducibility,
and clear errors for infeasible parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matexplore.plugins import get_registry
from matexplore.testing import run_experiment
from matexplore_plugins.mlp_collapse import theory as T

NORMS_COLS = ["layer", "mean_mc", "var_mc", "mean_exact", "var_exact", "mean_source",
              "var_source", "median_norm", "frac_below_0_01", "frac_above_10"]
NORMS_KEYS = ["mean_mc", "var_mc", "mean_exact", "var_exact", "mean_source", "var_source",
              "median_norm", "frac_below_0_01", "frac_above_10", "mean_norm_sq"]
ANGLE_COLS = ["layer", "mean_log_sin2", "var_log_sin2", "mean_exact_small_angle",
              "var_exact_small_angle", "mean_source", "var_source"]
JAC_COLS = ["stable_rank", "log_sigma2_over_sigma1", "lyapunov_prediction", "grad_norm",
            "sin2_outputs"]
LOGDET_COLS = ["n", "d", "mean_mc", "mean_mc_se", "mean_exact", "mean_source_expansion",
               "mean_leading_corrected", "var_mc", "var_exact", "var_clt"]


def _table(result: dict, name: str) -> dict[str, list]:
    t = result["tables"][name]
    return {c: [r[i] for r in t["rows"]] for i, c in enumerate(t["columns"])}


def test_registered_with_contract_params() -> None:
    reg = get_registry()
    expected = {"mlp-collapse.norms": {"width", "widths", "depth", "networks", "sampler"},
                "mlp-collapse.angles": {"width", "depth", "theta0", "networks", "normalize"},
                "mlp-collapse.rms-jacobian": {"width", "depth", "networks"},
                "mlp-collapse.logdet": {"d", "n", "samples"},
                "mlp-collapse.sub-rotation": {"d", "n", "spectrum", "samples"}}
    for exp_id, names in expected.items():
        params = reg.get(exp_id).experiment.all_params()
        assert names | {"seed"} <= set(params)
    norms = reg.get("mlp-collapse.norms").experiment.all_params()
    assert (norms["width"].default, norms["depth"].default,
            norms["networks"].default) == (10, 100, 100_000)
    assert {"vector", "matrix"} <= set(norms["sampler"].choices)
    logdet = reg.get("mlp-collapse.logdet").experiment.all_params()
    assert logdet["n"].default == [1, 2, 4, 8, 16, 32, 64]
    assert set(reg.get("mlp-collapse.sub-rotation").experiment.all_params()["spectrum"]
               .choices) == {"lognormal", "uniform", "two-level"}


@pytest.mark.parametrize("sampler", ["vector", "matrix"])
def test_norms_contract_and_exact_law(sampler: str) -> None:
    n = 6000
    r = run_experiment("mlp-collapse.norms", width=6, depth=12, networks=n,
                       sampler=sampler, seed=3)
    assert r["status"] == "finished"
    t = _table(r, "layers")
    assert r["tables"]["layers"]["columns"][:10] == NORMS_COLS
    assert t["layer"] == list(range(1, 13))
    s = r["summary"]
    assert set(NORMS_KEYS) <= set(s)
    se = np.array(t["mean_se"])
    assert np.all(np.abs(np.array(t["mean_mc"]) - t["mean_exact"]) < 4 * se)
    # the source's mean is off by a factor 2: far outside the error bars here
    assert abs(s["mean_mc"] - s["mean_source"]) > 10 * s["mean_se"]
    assert abs(s["mean_exact"] - T.norms_mean_exact([6] * 13)[-1]) < 1e-12
    # fractions: binomial SE; median: within ~4 SE of the exact median of ‖x_L‖
    p = s["frac_below_0_01_exact"]
    assert abs(s["frac_below_0_01"] - p) < 4 * math.sqrt(p * (1 - p) / n) + 1 / n
    sd = math.sqrt(s["var_exact"])
    med_se_log = 1.2533 * sd / math.sqrt(n) / 2          # SE of median of ½·Y
    assert abs(math.log(s["median_norm"]) - math.log(s["median_exact"])) < 4 * med_se_log
    assert abs(s["mean_norm_sq"] - 1) < 4 * s["mean_norm_sq_se"]
    h = _table(r, "histogram")
    assert len(h["log10_norm"]) == 64
    assert sum(h["fraction_exact"]) == pytest.approx(1.0, abs=1e-6)


def test_norms_widths_override_and_reproducible() -> None:
    a = run_experiment("mlp-collapse.norms", widths=[4, 8, 3], networks=500, seed=9)
    b = run_experiment("mlp-collapse.norms", widths=[4, 8, 3], networks=500, seed=9)
    assert a["summary"] == b["summary"]
    assert len(a["tables"]["layers"]["rows"]) == 2
    assert a["summary"]["mean_exact"] == pytest.approx(T.norms_mean_exact([4, 8, 3])[-1])
    bad = run_experiment("mlp-collapse.norms", widths=[4], networks=10, seed=1)
    assert bad["status"] == "failed" and "widths" in bad["error"]


@pytest.mark.parametrize("normalize", [False, True])
def test_angles_contract_and_laws(normalize: bool) -> None:
    r = run_experiment("mlp-collapse.angles", width=8, depth=20, networks=3000,
                       theta0=90, normalize=normalize, seed=5)
    t = _table(r, "layers")
    assert r["tables"]["layers"]["columns"][:7] == ANGLE_COLS
    s = r["summary"]
    assert set(ANGLE_COLS[1:]) <= set(s)
    assert abs(s["mean_log_sin2"] - s["mean_exact_small_angle"]) < 4 * s["mean_se"]
    # variance: the conditional law, not the source's 8L/d nor the small-angle bound
    var_se = s["var_log_sin2"] * math.sqrt(5 / 3000)
    assert abs(s["var_log_sin2"] - s["var_exact_conditional"]) < 4 * var_se
    assert s["var_source"] > s["var_log_sin2"] + 10 * var_se
    assert s["var_source"] == pytest.approx(8 * 20 / 8)
    assert t["layer"][-1] == 20


def test_angles_normalize_same_angles_with_matrix_sampler() -> None:
    kw = dict(width=5, depth=8, networks=300, theta0=45, sampler="matrix", seed=2)
    a = run_experiment("mlp-collapse.angles", normalize=False, **kw)
    b = run_experiment("mlp-collapse.angles", normalize=True, **kw)
    assert a["summary"]["mean_log_sin2"] == pytest.approx(b["summary"]["mean_log_sin2"],
                                                          abs=1e-9)


def test_rms_jacobian_contract_and_lyapunov_slope() -> None:
    r = run_experiment("mlp-collapse.rms-jacobian", width=8, depth=40, networks=40, seed=4)
    t = _table(r, "layers")
    assert set(JAC_COLS) <= set(t)
    assert t["layer"] == list(range(40))
    s = r["summary"]
    assert abs(s["lyapunov_gap_measured"] - s["lyapunov_gap_theory"]) < 4 * s["lyapunov_gap_se"]
    assert s["lyapunov_gap_theory"] == pytest.approx(T.lyapunov_gap(8))
    # rank collapse: stable rank → 1 and gradients vanish towards the input
    assert t["stable_rank"][0] < 1.3 < t["stable_rank"][-1]
    # (geometric-mean) gradient norm decays at least at half the Lyapunov rate of σ2/σ1
    drop = math.log(t["grad_norm"][0] / t["grad_norm"][-1])
    assert drop < 0.5 * s["lyapunov_gap_theory"] * 39
    assert t["sin2_outputs"][0] < t["sin2_outputs"][-1]
    bad = run_experiment("mlp-collapse.rms-jacobian", width=2, depth=2000, networks=1, seed=1)
    assert bad["status"] == "failed"


def test_logdet_contract_and_exact_law() -> None:
    r = run_experiment("mlp-collapse.logdet", d=16, n=[1, 4, 16], samples=3000, seed=6)
    t = _table(r, "logdet")
    assert r["tables"]["logdet"]["columns"][:10] == LOGDET_COLS
    assert t["n"] == [1, 4, 16]
    assert r["summary"]["max_abs_z_exact"] < 4
    assert t["mean_source_expansion"][1] == pytest.approx(-16 / 32 - 64 / 1536 - 256 / 12288)
    assert t["var_clt"] == pytest.approx([2 / 16, 8 / 16, 2.0])
    bad = run_experiment("mlp-collapse.logdet", d=4, n=[5], samples=10, seed=1)
    assert bad["status"] == "failed" and "at most" in bad["error"]


@pytest.mark.parametrize("spectrum", ["lognormal", "uniform", "two-level"])
def test_subrotation_claim_is_only_a_lower_bound(spectrum: str) -> None:
    r = run_experiment("mlp-collapse.sub-rotation", d=16, n=4, spectrum=spectrum,
                       samples=2000, seed=7)
    s = r["summary"]
    assert {"mc", "mc_se", "claimed", "fischer_lower", "jensen_upper"} <= set(s)
    assert s["mc"] > s["fischer_lower"] + 4 * s["mc_se"]
    assert s["mc"] < s["jensen_upper"]
    assert s["claimed"] == s["fischer_lower"]


# ---- Generator streams: bit-identical for any thread count ------------------------------

@pytest.mark.parametrize("exp_id,params", [
    ("mlp-collapse.norms", dict(width=5, depth=6, networks=30_000, activation="relu")),
    ("mlp-collapse.angles", dict(width=5, depth=6, networks=3000, sampler="chi2")),
    ("mlp-collapse.logdet", dict(d=8, n=[2, 8], samples=3000)),
    ("mlp-collapse.sub-rotation", dict(d=8, n=3, samples=3000)),
])
def test_results_are_bit_identical_for_1_2_3_threads(monkeypatch, exp_id: str,
                                                     params: dict) -> None:
    results = []
    for threads in (1, 2, 3):
        monkeypatch.setenv("MATEXPLORE_THREADS", str(threads))
        r = run_experiment(exp_id, seed=11, **params)
        results.append((r["summary"], r["tables"]))
    assert results[0] == results[1] == results[2]


# ---- non-linear MLPs ----------------------------------------------------------------------

@pytest.mark.parametrize("activation,sampler", [("relu", "chi2"), ("leaky_relu", "vector"),
                                                ("relu", "matrix")])
def test_norms_nonlinear_exact_law_and_dead_fraction(activation: str, sampler: str) -> None:
    n = 6000 if sampler == "matrix" else 20_000
    r = run_experiment("mlp-collapse.norms", width=4, depth=10, networks=n, sampler=sampler,
                       activation=activation, slope=0.2, seed=21)
    s = r["summary"]
    assert set(NORMS_KEYS) | {"frac_dead", "frac_dead_exact"} <= set(s)
    assert all(v is None or math.isfinite(v) for v in s.values() if isinstance(v, float))
    alive = 1 - 2.0**-4 if activation == "relu" else 1.0
    assert s["frac_dead_exact"] == pytest.approx(1 - alive**10, rel=1e-12)
    se_dead = math.sqrt(s["frac_dead_exact"] * (1 - s["frac_dead_exact"]) / n)
    assert abs(s["frac_dead"] - s["frac_dead_exact"]) <= 4 * se_dead + 1e-12
    for key in ("mean", "var"):
        assert abs(s[f"{key}_mc"] - s[f"{key}_exact"]) < 4 * s[f"{key}_se"]
    assert abs(s["mean_norm_sq"] - s["mean_norm_sq_exact"]) < 4 * s["mean_norm_sq_se"]
    p = s["frac_below_0_01_exact"]
    assert abs(s["frac_below_0_01"] - p) < 4 * s["frac_below_0_01_se"] + 1 / n
    assert abs(s["median_norm"] - s["median_exact"]) < 4 * s["median_norm_se"]


def test_norms_other_activation_runs_monte_carlo_with_kernel_map() -> None:
    r = run_experiment("mlp-collapse.norms", width=256, depth=4, networks=4000,
                       activation="tanh", seed=2)
    s = r["summary"]
    assert s["mean_exact"] is None and s["frac_dead_exact"] is None
    # the length map is the infinite-width limit; the finite-width bias is O(L/d) relative
    # (measured: 1.5% at d = 16, L = 4, i.e. 0.06·L/d), so the band is 4 SE + (L/d)·value
    km = s["mean_norm_sq_kernel_map"]
    assert abs(s["mean_norm_sq"] - km) < 4 * s["mean_norm_sq_se"] + km * 4 / 256
    t = _table(r, "layers")
    assert len(t["norm_sq_kernel_map"]) == 4
    assert s["drift_mc"] == pytest.approx(s["mean_mc"] / 4)


def test_summary_panel_merges_source_into_rows() -> None:
    from matexplore.verdicts import summary_rows

    entry = get_registry().get("mlp-collapse.norms")
    r = run_experiment("mlp-collapse.norms", width=6, depth=12, networks=4000, seed=3)
    rows = summary_rows(entry.experiment.info(), r["summary"], r["params"])
    first = rows[0]
    assert first.kind == "compare" and first.source == r["summary"]["mean_source"]
    assert first.ok is True and first.source_ok is False     # the source's factor 2
    compares = [x for x in rows if x.kind == "compare"]
    assert all(x.help for x in compares)
    assert not any("(source)" in x.label for x in compares)
