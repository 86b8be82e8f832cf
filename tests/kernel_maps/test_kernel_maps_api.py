"""kernel_maps through the plugin API: contract names, nulls, third-party activations."""

from __future__ import annotations

import math

import pytest

from matexplore.plugins import load_registry, set_registry
from matexplore.testing import run_experiment
from matexplore_plugins.kernel_maps.experiments import Atlas, FixedPoint, KernelFunction

FP_COLUMNS = ["layer", "rho_theory", "rho_mc", "rho_mc_se", "dist_theory", "bound_A",
              "bound_B", "bound_kstar"]
FP_SUMMARY = ["rho_star", "kappa_0", "kappa_prime_rho_star", "kappa_prime_1", "beta_A",
              "beta_B", "beta_kstar", "bound_A_holds", "bound_B_holds", "bound_kstar_holds",
              "rate_empirical"]
ATLAS_COLUMNS = ["activation", "kappa_0", "c1_sq", "rho_star", "kappa_prime_rho_star",
                 "kappa_prime_1", "beta_A", "beta_B", "beta_kstar", "bound_A_holds",
                 "bound_B_holds", "regime"]

# x³ has E[u³v³] = 9ρ + 6ρ³ (Isserlis), E u⁶ = 15: κ = (9ρ + 6ρ³)/15, κ'(1) = 27/15.
CUBE_PLUGIN = '''
import numpy as np
from matexplore import Activation, hookimpl

@hookimpl
def matexplore_activations():
    return [Activation("cube", lambda x: x ** 3, lambda x: 3 * x ** 2)]
'''


def test_fixed_point_contract_and_tanh_verdicts():
    r = run_experiment("kernel-maps.fixed-point", activation="tanh", depth=40, width=128,
                       pairs=8, seed=1)
    assert r["status"] == "finished"
    assert r["tables"]["layers"]["columns"][:len(FP_COLUMNS)] == FP_COLUMNS
    assert len(r["tables"]["layers"]["rows"]) == 41
    s = r["summary"]
    assert all(k in s for k in FP_SUMMARY)
    assert (s["bound_A_holds"], s["bound_B_holds"], s["bound_kstar_holds"]) == (0, 1, 1)
    assert len(r["series"]["rho_theory"]) == len(r["series"]["rho_mc"]) == 41


def test_relu_beta_keys_are_null_with_message():
    r = run_experiment(FixedPoint, activation="relu", depth=5, width=64, pairs=4, seed=1)
    s = r["summary"]
    assert s["rho_star"] == 1.0 and s["kappa_prime_rho_star"] == pytest.approx(1.0)
    for key in ("beta_A", "beta_B", "beta_kstar", "bound_A_holds", "bound_B_holds",
                "bound_kstar_holds"):
        assert s[key] is None
    assert "κ'(ρ*)" in s["message"]


def test_centered_leaky_and_custom_kernel():
    r = run_experiment(FixedPoint, activation="leaky_relu", slope=0.2, centered=True,
                       depth=30, pairs=0, seed=1)
    s = r["summary"]
    assert s["rho_star"] == pytest.approx(0.0, abs=1e-12)
    assert s["kappa_prime_1"] == pytest.approx(1.2436, abs=1e-4)
    assert s["bound_A_holds"] == 0
    c = run_experiment(FixedPoint, hermite_weights="0.5,0,0,0.5", rho0=0.999, depth=40, seed=1)
    assert c["summary"]["rho_star"] == pytest.approx((math.sqrt(5) - 1) / 2)
    assert c["summary"]["bound_B_holds"] == 0
    assert c["tables"]["layers"]["rows"][3][2] is None  # no Monte-Carlo for a custom kernel


def test_kernel_experiment_contract_and_mc():
    r = run_experiment(KernelFunction, activation="gelu", points=11, samples=4000, K=12,
                       seed=2)
    kern, herm = r["tables"]["kernel"], r["tables"]["hermite"]
    assert kern["columns"][:5] == ["rho", "kappa", "kappa_mc", "kappa_mc_se", "kappa_prime"]
    assert "diagonal" in kern["columns"]
    assert herm["columns"][:2] == ["k", "c_k_sq"] and len(herm["rows"]) == 12
    s = r["summary"]
    assert s["tail_mass"] == pytest.approx(1 - sum(row[1] for row in herm["rows"]))
    assert s["c0_sq"] == pytest.approx(s["kappa_0"], abs=1e-9)
    for rho, kappa, mc, se, *_ in kern["rows"]:
        if se:
            assert abs(mc - kappa) < 4 * se, rho
    relu = run_experiment(KernelFunction, activation="relu", points=3, samples=0, K=60, seed=1)
    # the pitfall of the notes: 60 Hermite terms give κ'(1) ≈ 0.967 for ReLU, not 1
    assert relu["summary"]["kappa_prime_1_truncated"] == pytest.approx(0.967, abs=2e-3)


def test_atlas_with_third_party_activation(tmp_path, monkeypatch):
    (tmp_path / "cube_plugin.py").write_text(CUBE_PLUGIN)
    monkeypatch.setenv("MATEXPLORE_LOAD_PLUGINS", "kernel_maps,cube_plugin")
    set_registry(load_registry([tmp_path]))
    try:
        r = run_experiment("kernel-maps.atlas", depth=60, seed=1)
        fp = run_experiment("kernel-maps.fixed-point", activation="cube", depth=4, width=256,
                            pairs=32, seed=3)
    finally:
        set_registry(None)
    table = r["tables"]["activations"]
    assert table["columns"][:len(ATLAS_COLUMNS)] == ATLAS_COLUMNS
    rows = {row[0]: dict(zip(table["columns"], row)) for row in table["rows"]}
    assert set(rows) == {"relu", "leaky_relu", "tanh", "erf", "sin", "gelu", "silu", "elu",
                         "softplus", "cube"}
    cube = rows["cube"]
    assert cube["kappa_prime_1"] == pytest.approx(27 / 15, abs=1e-8)
    assert cube["c1_sq"] == pytest.approx(9 / 15, abs=1e-8)
    assert cube["rho_star"] == 0.0 and cube["regime"] == "chaotic"
    assert rows["tanh"]["bound_A_holds"] == 0 and rows["tanh"]["bound_B_holds"] == 1
    assert rows["relu"]["regime"] == "critical" and rows["softplus"]["regime"] == "ordered"
    assert rows["relu"]["beta_A"] is None
    for row in fp["tables"]["layers"]["rows"][1:]:
        assert abs(row[2] - row[1]) < 4 * row[3]


def test_bad_parameter_combinations():
    r = run_experiment(FixedPoint, sampler="matrix", width=4096, pairs=2, depth=2, seed=1)
    assert r["status"] == "failed" and "width" in r["error"]
    r = run_experiment(FixedPoint, hermite_weights="0,0", depth=2, seed=1)
    assert r["status"] == "failed"


def test_atlas_declares_its_contract():
    assert Atlas.columns[:len(ATLAS_COLUMNS)] == ATLAS_COLUMNS
    assert FixedPoint.plot.y == ("rho_theory", "rho_mc")
    assert {"kappa", "kappa_mc", "diagonal"} <= set(KernelFunction.plot.y)
