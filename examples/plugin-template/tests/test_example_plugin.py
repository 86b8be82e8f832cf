"""Tests of the example plugin: it loads, theory vs an independent integral, MC vs theory."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
from scipy import integrate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # works uninstalled too

import matexplore_example  # noqa: E402
from matexplore.testing import check_plugin, run_experiment, table_rows  # noqa: E402
from matexplore_example.experiments import MishMoments  # noqa: E402
from matexplore_example.theory import gaussian_moment, mish, mish_prime  # noqa: E402


def test_plugin_loads_as_matexplore_would_load_it():
    info = check_plugin(matexplore_example)  # fails with the reason if it would be broken
    assert info.experiments == ["example.mish-moments"] and info.activations == ["mish"]


def test_quadrature_matches_adaptive_integration():
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    for h in (mish, lambda x: mish(x) ** 2, lambda x: mish_prime(x) ** 2):
        ref, _ = integrate.quad(lambda x: float(h(np.array(x))) * pdf(x), -np.inf, np.inf,
                                epsabs=1e-13)
        assert abs(gaussian_moment(h) - ref) < 1e-10


def test_derivative_matches_finite_differences():
    x = np.linspace(-6, 6, 101)
    fd = (mish(x + 1e-6) - mish(x - 1e-6)) / 2e-6
    assert np.max(np.abs(fd - mish_prime(x))) < 1e-8


def test_monte_carlo_within_four_standard_errors_and_reproducible():
    res = run_experiment(MishMoments, chunks=5, chunk_size=20_000, seed=3)
    s = res["summary"]
    assert res["status"] == "finished"
    assert abs(s["m2_mc"] - s["m2_theory"]) < 4 * s["m2_se"]
    assert abs(s["m1_mc"] - s["m1_theory"]) < 4 * s["m1_se"]
    rows = table_rows(res, "moments")
    assert [r["samples"] for r in rows] == [20_000 * k for k in range(1, 6)]
    assert run_experiment(MishMoments, chunks=5, chunk_size=20_000, seed=3)["summary"] == s


def test_standard_errors_match_the_exact_variance():
    """SE of the f² mean vs √((E f⁴ − (E f²)²)/n) from quadrature (within 5 %: the relative
    SE of a sample variance of n = 200 000 heavy-ish-tailed values is ~1 %)."""
    s = run_experiment(MishMoments, chunks=4, chunk_size=50_000, seed=8)["summary"]
    m2, m4 = gaussian_moment(lambda x: mish(x) ** 2), gaussian_moment(lambda x: mish(x) ** 4)
    assert abs(s["m2_se"] / math.sqrt((m4 - m2 * m2) / 200_000) - 1) < 0.05


def test_cancel_after_two_frames_keeps_what_was_computed():
    res = run_experiment(MishMoments, chunks=50, chunk_size=1_000, seed=1, cancel_after=2)
    assert res["status"] == "cancelled"
    assert len(table_rows(res, "moments")) == 1  # frame 1: "compiling…", frame 2: chunk 1
