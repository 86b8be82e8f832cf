"""The three experiments through the plugin API: contract names, theory vs measurement,
underflow reporting, reproducibility, errors and cancellation."""

from __future__ import annotations

import math
import threading

import pytest

from matexplore.experiment import RunContext
from matexplore.params import resolve_params
from matexplore.testing import run_experiment
from matexplore_plugins.batchnorm_rank import theory as th
from matexplore_plugins.batchnorm_rank.experiments import CompareWeights, Depth, Settle

LAYER_COLUMNS = ["layer", "participation_ratio", "entropy_rank", "numerical_rank",
                 "mean_log_eig", "log_min_eig", "dlogdet_weights", "dlogdet_weights_theory",
                 "dlogdet_bn"]
SUMMARY = ["participation_ratio", "entropy_rank", "numerical_rank", "sqrt_width",
           "mean_log_eig", "log_min_eig", "mean_dlogdet_weights", "dlogdet_weights_theory"]


def test_registered_ids():
    from matexplore.plugins import get_registry

    ids = set(get_registry().experiments)
    assert {"batchnorm-rank.depth", "batchnorm-rank.compare", "batchnorm-rank.settle"} <= ids
    assert {"width", "batch", "depth", "weights", "center", "activation", "seed"} <= set(
        Depth.all_params())


def test_depth_contract_and_weight_law():
    r = run_experiment("batchnorm-rank.depth", width=48, batch=8, depth=120, seed=4)
    assert r["status"] == "finished"
    layers = r["tables"]["layers"]
    assert layers["columns"][:len(LAYER_COLUMNS)] == LAYER_COLUMNS
    assert len(layers["rows"]) == 120
    s = r["summary"]
    assert all(k in s for k in SUMMARY)
    assert s["sqrt_width"] == math.sqrt(48)
    assert s["dlogdet_weights_theory"] == pytest.approx(th.wishart_logdet_mean(48, 8))
    assert abs(s["mean_dlogdet_weights"] - s["dlogdet_weights_theory"]) < 4 * s[
        "se_dlogdet_weights"]
    # the log det split adds up to the tracked mean log-eigenvalue
    col = {c: i for i, c in enumerate(layers["columns"])}
    total = sum(row[col["dlogdet_weights"]] + row[col["dlogdet_bn"]] for row in layers["rows"])
    first = layers["rows"][0]
    g0 = first[col["mean_log_eig"]] * 8 - first[col["dlogdet_weights"]] - first[col["dlogdet_bn"]]
    assert abs((g0 + total) / 8 - s["mean_log_eig"]) < 1e-9
    hist = r["tables"]["eig_histogram"]
    assert hist["columns"] == ["log10_eig", "count"]
    assert sum(row[1] for row in hist["rows"]) == 8


def test_orthogonal_weight_steps_are_zero_and_rank_survives():
    """Hypothesis 4: orthogonal W leaves log det unchanged (1e−10) and the rank does not
    collapse; gaussian W at the same size does collapse toward √d."""
    ro = run_experiment("batchnorm-rank.depth", width=64, batch=16, depth=150,
                        weights="orthogonal", seed=1)
    col = ro["tables"]["layers"]["columns"].index("dlogdet_weights")
    assert max(abs(row[col]) for row in ro["tables"]["layers"]["rows"]) < 1e-10
    assert ro["summary"]["dlogdet_weights_theory"] == 0.0
    rg = run_experiment("batchnorm-rank.depth", width=64, batch=16, depth=150, seed=1)
    assert ro["summary"]["participation_ratio"] > 12 > rg["summary"]["participation_ratio"]


def test_underflow_is_reported_not_garbage():
    """d = n = 16 through 300 gaussian layers: λ_min leaves the double range; it must be
    reported as null with the flag, while the exact mean log-eigenvalue stays finite."""
    r = run_experiment("batchnorm-rank.depth", width=16, batch=16, depth=300, seed=2)
    s = r["summary"]
    assert s["log_min_eig"] is None and s["min_eig_below_range"] == 1
    assert isinstance(s["mean_log_eig"], float) and s["mean_log_eig"] < -100
    rows = r["tables"]["layers"]
    col = rows["columns"].index("log_min_eig")
    assert all(row[col] is None or isinstance(row[col], float) for row in rows["rows"])


def test_centring_and_activation():
    r = run_experiment("batchnorm-rank.depth", width=32, batch=8, depth=20, center=True,
                       seed=3)
    assert r["summary"]["dlogdet_weights_theory"] == pytest.approx(
        th.wishart_logdet_mean(32, 7))  # m = n − 1 with centring
    r = run_experiment("batchnorm-rank.depth", width=32, batch=8, depth=20,
                       activation="tanh", seed=3)
    assert r["status"] == "finished"
    assert r["summary"]["numerical_rank"] <= 8


def test_same_seed_identical_summary():
    a = run_experiment("batchnorm-rank.depth", width=32, batch=8, depth=30, seed=11)
    b = run_experiment("batchnorm-rank.depth", width=32, batch=8, depth=30, seed=11)
    c = run_experiment("batchnorm-rank.depth", width=32, batch=8, depth=30, seed=12)
    assert a["summary"] == b["summary"] and a["tables"] == b["tables"]
    assert a["summary"] != c["summary"]


def test_compare_contract():
    r = run_experiment("batchnorm-rank.compare", width=32, batch=8, depth=40, seed=5)
    s = r["summary"]
    for k in ("participation_ratio", "entropy_rank", "numerical_rank", "mean_log_eig"):
        assert f"{k}_gaussian" in s and f"{k}_orthogonal" in s
    assert abs(s["mean_dlogdet_weights_orthogonal"]) < 1e-10
    assert len(r["tables"]["layers"]["rows"]) == 40


def test_settle_one_row_per_width():
    r = run_experiment("batchnorm-rank.settle", widths=[16, 64], batch=16, depth=80, seed=5)
    rows = r["tables"]["widths"]["rows"]
    cols = r["tables"]["widths"]["columns"]
    assert [row[cols.index("width")] for row in rows] == [16, 64]
    assert [row[cols.index("sqrt_width")] for row in rows] == [4.0, 8.0]
    assert all(row[cols.index("participation_ratio")] <= 16 for row in rows)


def test_batch_larger_than_width_is_a_clear_error():
    r = run_experiment("batchnorm-rank.depth", width=8, batch=16, depth=5, seed=1)
    assert r["status"] == "failed" and "batch" in r["error"]


def test_cancellation_stops_the_run():
    cancel = threading.Event()
    p = resolve_params(Depth.all_params(), {"width": 64, "batch": 8, "depth": 10_000})
    frames = 0
    for _ in Depth().run(p, RunContext(seed=1, cancel_event=cancel)):
        frames += 1
        if frames == 3:
            cancel.set()
    assert frames <= 4


def test_all_experiments_declare_plot_and_compare_keys():
    for cls in (Depth, CompareWeights, Settle):
        assert cls.plot is not None and cls.compare


def test_results_do_not_depend_on_threads(monkeypatch):
    runs = []
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("MATEXPLORE_THREADS", threads)
        runs.append(run_experiment("batchnorm-rank.depth", width=64, batch=8, depth=20, seed=3))
    assert runs[0]["summary"] == runs[1]["summary"] == runs[2]["summary"]
    assert runs[0]["tables"] == runs[2]["tables"]
