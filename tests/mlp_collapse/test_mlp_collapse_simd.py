"""The vectorisable exp and log (simd.py) against the C library's (``math``): within 1 ulp
of it on a million points spread over the whole range, and the special values."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from matexplore_plugins.mlp_collapse import simd


@njit(error_model="numpy")
def _apply(f, x):
    """f of every entry of x, in a loop like the kernels' own."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = f(x[i])
    return out


def _exp(x: np.ndarray) -> np.ndarray:
    return _apply(simd.exp, x)


def _log(x: np.ndarray) -> np.ndarray:
    return _apply(simd.log, x)


def _ulps(got: np.ndarray, want: np.ndarray) -> float:
    """The largest |got − want| in units of the last place of ``want``."""
    return float(np.max(np.abs(got - want) / np.spacing(np.abs(want))))


def test_exp_within_one_ulp_of_libm() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-708, 709, 400_000), rng.uniform(-1, 1, 400_000),
                        rng.uniform(-1e-8, 1e-8, 100_000), np.arange(-700.0, 701.0)])
    want = np.array([math.exp(v) for v in x])
    # glibc's exp and log are correctly rounded in practice: this is 1 ulp of the truth
    assert _ulps(_exp(x), want) <= 1.0


def test_exp_edges() -> None:
    x = np.array([0.0, -0.0, 709.78, 710.0, 1e4, -745.0, -745.2, -746.0, -1e4])
    got = _exp(x)
    assert got[0] == 1.0 and got[1] == 1.0
    assert got[2] == math.exp(709.78) and math.isinf(got[3]) and math.isinf(got[4])
    assert got[5] == math.exp(-745.0) == 5e-324      # the smallest subnormal
    assert got[6] == 0.0 and got[7] == 0.0 and got[8] == 0.0


def test_log_within_one_ulp_of_libm() -> None:
    rng = np.random.default_rng(2)
    x = np.concatenate([np.exp(rng.uniform(-708, 709, 400_000)), rng.uniform(0.5, 2, 400_000),
                        1 + rng.uniform(-1e-8, 1e-8, 100_000),
                        rng.uniform(1e-320, 1e-308, 1000)])          # subnormals
    want = np.array([math.log(v) for v in x])
    ok = want != 0.0
    assert _ulps(_log(x)[ok], want[ok]) <= 1.0


def test_log_edges() -> None:
    got = _log(np.array([1.0, 0.0, 5e-324, math.inf, -1.0, 2.0]))
    assert got[0] == 0.0 and got[1] == -math.inf and got[3] == math.inf
    assert got[2] == math.log(5e-324) and got[5] == math.log(2.0)
    assert math.isnan(got[4])
