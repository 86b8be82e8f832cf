"""The dln_geometry experiments through the plugin API: contract names and correctness."""

from __future__ import annotations

import math

import pytest

from matexplore.testing import run_experiment
from matexplore_plugins.dln_geometry import experiments as ex

TRAJ = ["t", "energy_factors", "energy_e2e", "energy_svd", "max_abs_diff_e2e",
        "max_abs_diff_svd", "balance_error"]


def _ok(result: dict) -> dict:
    assert result["status"] == "finished", result["error"]
    return result


def test_flow_check_three_ways_agree_and_literal_4_18_does_not() -> None:
    r = _ok(run_experiment(ex.FlowCheck, d=3, depth=3, steps=4, t_end=1.5, seed=2))
    assert r["tables"]["trajectory"]["columns"][:7] == TRAJ
    assert len(r["tables"]["trajectory"]["rows"]) == 5
    s = r["summary"]
    assert s["max_abs_diff_e2e"] < 1e-8 and s["max_abs_diff_svd"] < 1e-8
    assert s["max_balance_error"] < 1e-9
    assert s["max_abs_diff_svd_source"] > 1e-3


def test_flow_check_plain_gd_is_close_and_infinite_depth_has_no_factors() -> None:
    s = _ok(run_experiment(ex.FlowCheck, d=3, depth=2, steps=2, t_end=1.0, lr=1e-3, seed=1,
                           energy="completion-diag"))["summary"]
    assert 1e-6 < s["max_abs_diff_e2e"] < 0.05  # O(η) discretisation error
    s = _ok(run_experiment(ex.FlowCheck, d=3, depth=math.inf, steps=2, t_end=1.0,
                           seed=1))["summary"]
    assert s["max_abs_diff_e2e"] is None and s["max_balance_error"] is None
    assert s["max_abs_diff_svd"] < 1e-8


def test_low_rank_hyperbola_and_reproducible() -> None:
    kw = dict(seeds=12, seed=5)
    r = _ok(run_experiment(ex.LowRank, **kw))
    t = r["tables"]["seeds"]
    assert t["columns"][:5] == ["seed", "erank_initial", "erank_final", "x12", "x21"]
    assert len(t["rows"]) == 12
    s = r["summary"]
    assert s["median_abs_x12x21_minus_1"] < 0.05
    assert s["mean_erank_final"] < s["mean_erank_initial"] - 0.3
    assert run_experiment(ex.LowRank, **kw)["summary"] == s


def test_low_rank_completion_and_bad_sparsity() -> None:
    s = _ok(run_experiment(ex.LowRank, d=3, energy="completion", sparsity=4, seeds=3,
                           init_std=0.1, t_end=200.0, seed=1))["summary"]
    assert s["median_abs_x12x21_minus_1"] is None
    r = run_experiment(ex.LowRank, d=2, energy="completion", sparsity=5, seeds=2, seed=1)
    assert r["status"] == "failed" and "sparsity" in r["error"]


def test_low_rank_sweep_init_std_approaches_rank_one() -> None:
    r = _ok(run_experiment(ex.LowRankSweep, vary="init_std", values=[1.0, 0.01], d=3, seeds=6,
                           seed=3))
    t = r["tables"]["sweep"]
    assert t["columns"][:4] == ["value", "mean_erank_initial", "mean_erank_final",
                                "sd_erank_final"]
    (v1, _, big, _), (v2, _, small, _) = (row[:4] for row in t["rows"])
    assert (v1, v2) == (1.0, 0.01) and small < big and small < 1.3


@pytest.mark.parametrize("kind", ["diagonal", "rotated", "bures-wasserstein"])
def test_geodesic_kinds(kind: str) -> None:
    r = _ok(run_experiment(ex.Geodesic, kind=kind, d=3, depth=2, points=32, seed=4))
    assert r["tables"]["path"]["columns"][:2] == ["t", "speed_closed_form"]
    s = r["summary"]
    for key in ("energy_closed_form", "energy_straight_line", "energy_optimized",
                "speed_variation"):
        assert isinstance(s[key], float)
    if kind == "rotated":  # Thm 3.4.2 fails for a generic rotation
        assert s["beaten"] == 1 and s["speed_variation"] > 1e-4
    else:
        assert s["energy_optimized"] >= s["energy_closed_form"] * (1 - 1e-9)
        assert s["speed_variation"] < 1e-9
    if kind == "bures-wasserstein":
        assert s["length_closed_form"] == pytest.approx(s["bw_distance"], rel=1e-10)
    else:
        assert s["length_closed_form"] is None and s["bw_distance"] is None


def test_geodesic_bw_needs_depth_two() -> None:
    r = run_experiment(ex.Geodesic, kind="bures-wasserstein", depth=3, seed=1)
    assert r["status"] == "failed" and "depth" in r["error"]


def test_entropy_reaches_isotropic_equilibrium() -> None:
    r = _ok(run_experiment(ex.Entropy, d=10, p=2.0, beta=1.0, samples=20, seed=7))
    assert r["tables"]["trajectory"]["columns"][:6] == ["t", "free_energy", "entropy", "erank",
                                                         "sigma_min", "sigma_max"]
    s = r["summary"]
    assert s["sigma_theory"] == pytest.approx(math.sqrt(4.5))
    assert s["sigma_source_statement"] == pytest.approx(3.0)
    assert abs(s["final_sigma_mean"] - s["sigma_theory"]) < 1e-4
    assert s["final_sigma_spread"] < 1e-4


def test_entropy_finite_depth_equilibrium() -> None:
    s = _ok(run_experiment(ex.Entropy, d=6, depth=4, t_end=200.0, samples=10,
                           seed=1))["summary"]
    assert abs(s["final_sigma_mean"] - s["sigma_theory"]) < 1e-4


@pytest.mark.parametrize("depth", [3, math.inf])
def test_entropy_identities(depth: float) -> None:
    s = _ok(run_experiment(ex.EntropyIdentities, d=6, depth=depth, trials=30,
                           seed=1))["summary"]
    assert s["max_error"] < 1e-10
    assert (s["max_vandermonde_error"] is None) == (not math.isinf(depth))
