"""Tests of the example plugin: theory vs an independent integral, MC vs theory."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
from scipy import integrate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # works uninstalled too

from matexplore.testing import run_experiment  # noqa: E402
from matexplore_example.experiments import MishMoments  # noqa: E402
from matexplore_example.theory import gaussian_moment, mish, mish_prime  # noqa: E402


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
    assert len(res["tables"]["moments"]["rows"]) == 5
    assert run_experiment(MishMoments, chunks=5, chunk_size=20_000, seed=3)["summary"] == s
